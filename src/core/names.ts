/**
 * The names the contract validates against, in a module with no dependencies, so that `api.ts` (loaded by
 * Electron's main process and the HTTP server) does not load TF.js.
 */

/** TF.js backends, in the order `auto` tries them. */
export const BACKEND_NAMES = ['tensorflow', 'webgpu', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

/** Training stages. */
export const STAGES = ['pretrain', 'sft', 'dpo', 'decpo', 'simpo', 'l1'] as const;
export type Stage = (typeof STAGES)[number];

/** The kinds of tap a block can have (model/architecture.ts explains each). */
export const TAP_KINDS = [
  'resid_pre',
  'attn_out',
  'resid_mid',
  'mlp_out',
  'resid_post',
  'mlp.pre',
  'mlp.pre_linear',
  'mlp.post',
] as const;
export type TapKind = (typeof TAP_KINDS)[number];

/**
 * Built-in preference tasks (data/tasks.ts): `toxicity` and `reframing` test generalization (held-out
 * insults, templates and topics); the `-easy` variants are the earlier, saturating setting.
 */
export const TASK_NAMES = ['toxicity', 'reframing', 'toxicity-easy', 'reframing-easy'] as const;
export type TaskName = (typeof TASK_NAMES)[number];

/** The methods of a study: `base` and `sft` are references; the others are preference methods. */
export const STUDY_METHODS = ['base', 'sft', 'dpo', 'decpo', 'simpo', 'l1'] as const;
export type StudyMethod = (typeof STUDY_METHODS)[number];

/** DecPO regularizers. */
export const REGULARIZERS = ['barlow', 'rowcos', 'authors'] as const;
export type RegularizerId = (typeof REGULARIZERS)[number];

/** Active latents per token of a TopK SAE when none is given (the CLI, the app and the server share it). */
export const SAE_TOPK_K = 32;

/** Feature matching keeps pairs whose activation correlation r exceeds this, unless told otherwise. */
export const MATCH_R_THRESHOLD = 0.1;

/**
 * TRL's default DPO beta: the default of DPO, DecPO and L1 training, and the beta of the implicit rewards
 * that evaluation reports (`eval`, the held-out scores of `compare`).
 */
export const DPO_BETA = 0.1;
