// The "new training run" form as data: its fields (text as typed), their defaults, and the checks of the
// `train` operation's schema (src/core/api.ts, TrainInput) repeated field by field, so a mistake is shown
// before anything is sent. The server checks again and its message is shown when it refuses.
import type { OpInput } from '../../../core/api.js';

export const STAGE_CHOICES = ['pretrain', 'sft', 'dpo', 'decpo', 'simpo', 'l1'] as const;
export const TASK_CHOICES = ['toxicity', 'reframing'] as const;
export const LOSS_CHOICES = ['sigmoid', 'hinge', 'ipo'] as const;
export const LOGP_CHOICES = ['sum', 'mean'] as const;
export const REGULARIZER_CHOICES = ['barlow', 'rowcos', 'authors'] as const;
/** '' is the model's default: the up projection (mlp.pre_linear) of a gated MLP, else the neurons (mlp.post). */
export const TAP_CHOICES = [
  '',
  'resid_pre',
  'attn_out',
  'resid_mid',
  'mlp_out',
  'resid_post',
  'mlp.pre',
  'mlp.pre_linear',
  'mlp.post',
] as const satisfies readonly ('' | NonNullable<OpInput<'train'>['tap']>)[];
/** Fine-tune every weight, or a LoRA adapter on the frozen init checkpoint. */
export const METHOD_CHOICES = ['full', 'lora'] as const;
export const BACKEND_CHOICES = ['auto', 'tensorflow', 'webgpu', 'wasm', 'cpu'] as const;

/** The form's values, as the inputs hold them. Empty text means "the stage's default". */
export interface TrainFormValues {
  name: string;
  stage: (typeof STAGE_CHOICES)[number];
  task: (typeof TASK_CHOICES)[number];
  init: string;
  ref: string;
  steps: string;
  batchSize: string;
  lr: string;
  beta: string;
  lossType: (typeof LOSS_CHOICES)[number];
  logpAgg: (typeof LOGP_CHOICES)[number];
  regularizer: (typeof REGULARIZER_CHOICES)[number];
  lambda: string;
  layer: string;
  tap: (typeof TAP_CHOICES)[number];
  method: (typeof METHOD_CHOICES)[number];
  loraR: string;
  loraAlpha: string;
  loraDropout: string;
  /** Module names, comma separated (PEFT's target_modules); empty: the architecture's default. */
  loraTargets: string;
  microBatch: string;
  backend: (typeof BACKEND_CHOICES)[number];
}

export type TrainField = keyof TrainFormValues;

/** Whether a stage fine-tunes with preference pairs (DPO family). */
export function isPreferenceStage(stage: string): boolean {
  return stage === 'dpo' || stage === 'decpo' || stage === 'simpo' || stage === 'l1';
}

/** Which fields a stage (and fine-tuning method) uses (the others are hidden and not sent). */
export function fieldsOf(stage: string, method = 'full'): Set<TrainField> {
  const f = new Set<TrainField>(['name', 'stage', 'steps', 'batchSize', 'lr', 'backend']);
  if (stage !== 'pretrain') f.add('task').add('init').add('method').add('microBatch');
  if (isPreferenceStage(stage))
    f.add('ref').add('beta').add('lossType').add('logpAgg').add('layer').add('tap');
  if (stage === 'decpo') f.add('regularizer').add('lambda');
  if (stage === 'l1') f.add('lambda');
  if (stage !== 'pretrain' && method === 'lora')
    f.add('loraR').add('loraAlpha').add('loraDropout').add('loraTargets');
  return f;
}

/** The stage defaults the core applies (runSpec, preferenceObjective), shown as placeholders. */
export function placeholders(stage: string, regularizer: string): Partial<Record<TrainField, string>> {
  const pretrain = stage === 'pretrain';
  return {
    steps: '100',
    batchSize: pretrain ? '32' : '16',
    lr: pretrain ? '0.003' : '0.0001',
    beta: stage === 'simpo' ? '2' : '0.1',
    lambda: stage === 'decpo' && regularizer === 'authors' ? '0.001' : '0.0001',
    layer: 'middle block',
    loraR: '8',
    loraAlpha: '16',
    loraDropout: '0.05',
    loraTargets: 'q_proj, v_proj, up_proj (or the model’s equivalent)',
    microBatch: 'the whole batch',
  };
}

/** A fresh form: a DPO run from `base` (when it exists) on the toxicity task. */
export function defaultValues(checkpoints: string[]): TrainFormValues {
  const init = checkpoints.includes('base') ? 'base' : (checkpoints[0] ?? '');
  return {
    name: '',
    stage: 'dpo',
    task: 'toxicity',
    init,
    ref: '',
    steps: '',
    batchSize: '',
    lr: '',
    beta: '',
    lossType: 'sigmoid',
    logpAgg: 'sum',
    regularizer: 'barlow',
    lambda: '',
    layer: '',
    tap: '',
    method: 'full',
    loraR: '',
    loraAlpha: '',
    loraDropout: '',
    loraTargets: '',
    microBatch: '',
    backend: 'auto',
  };
}

/** What the form knows about a checkpoint it offers as init or ref. */
export interface CheckpointChoice {
  name: string;
  /** Blocks of the model (config.nLayer), to check the regularized layer. */
  nLayer?: number;
  /** The tap kinds its blocks have, to check the regularized tap. */
  tapKinds?: readonly string[];
}

export interface Validation {
  /** The request to send, when every field is valid. */
  input?: OpInput<'train'>;
  /** A message per invalid field. */
  errors: Partial<Record<TrainField, string>>;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** A number typed in a field: undefined when empty, NaN when not a number. */
function parseNumber(text: string): number | undefined {
  const t = text.trim();
  if (t === '') return undefined;
  return /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(t) ? Number(t) : NaN;
}

/**
 * Checks the form against the `train` schema (TrainInput in src/core/api.ts: the name pattern, positive
 * integers for steps and batch size, lr in (0, 1], beta in (0, 100], lambda in [0, 1e6], layer an integer
 * ≥ 0) plus what the run itself needs (a parent checkpoint to fine-tune, a layer the model has), and builds
 * the request from the fields the stage uses.
 */
export function validateTrainForm(v: TrainFormValues, checkpoints: CheckpointChoice[]): Validation {
  const errors: Partial<Record<TrainField, string>> = {};
  const used = fieldsOf(v.stage, v.method);
  const input: Record<string, unknown> = { name: v.name.trim(), stage: v.stage };

  if (!NAME.test(v.name.trim()))
    errors.name = 'Use 1–64 letters, digits, ".", "_" or "-", starting with a letter or digit.';
  if (!STAGE_CHOICES.includes(v.stage)) errors.stage = `Pick one of ${STAGE_CHOICES.join(', ')}.`;

  const known = new Set(checkpoints.map((c) => c.name));
  if (used.has('init')) {
    if (!v.init) errors.init = `Stage ${v.stage} fine-tunes a checkpoint: pick one.`;
    else if (!known.has(v.init)) errors.init = `No checkpoint named '${v.init}' in this project.`;
    else input.init = v.init;
  }
  if (used.has('ref') && v.ref) {
    if (!known.has(v.ref)) errors.ref = `No checkpoint named '${v.ref}' in this project.`;
    else input.ref = v.ref;
  }
  if (used.has('task')) input.task = v.task;

  const number = (
    field: TrainField,
    check: (x: number) => boolean,
    message: string,
    key: string = field,
  ): void => {
    if (!used.has(field)) return;
    const x = parseNumber(v[field]);
    if (x === undefined) return;
    if (!Number.isFinite(x) || !check(x)) errors[field] = message;
    else input[key] = x;
  };
  const posInt = (max: number) => (x: number) => Number.isInteger(x) && x > 0 && x <= max;
  number('steps', posInt(1_000_000), 'A whole number from 1 to 1,000,000.');
  number('batchSize', posInt(4096), 'A whole number from 1 to 4,096.');
  number('lr', (x) => x > 0 && x <= 1, 'A number above 0 and at most 1.');
  number('beta', (x) => x > 0 && x <= 100, 'A number above 0 and at most 100.');
  number('lambda', (x) => x >= 0 && x <= 1e6, 'A number from 0 to 1,000,000.');
  const init = checkpoints.find((c) => c.name === v.init);
  number(
    'layer',
    (x) => Number.isInteger(x) && x >= 0 && (init?.nLayer === undefined || x < init.nLayer),
    init?.nLayer !== undefined
      ? `A block index from 0 to ${init.nLayer - 1} (${v.init} has ${init.nLayer} blocks).`
      : 'A whole number ≥ 0.',
  );
  if (used.has('lossType')) input.lossType = v.lossType;
  if (used.has('logpAgg')) input.logpAgg = v.logpAgg;
  if (used.has('regularizer')) input.regularizer = v.regularizer;
  if (used.has('tap') && v.tap) {
    if (init?.tapKinds && !init.tapKinds.includes(v.tap))
      errors.tap = `${v.init} has no ${v.tap} tap; its blocks have ${init.tapKinds.join(', ')}.`;
    else input.tap = v.tap;
  }
  number('microBatch', posInt(4096), 'A whole number from 1 to 4,096.');
  const batch =
    (input.batchSize as number | undefined) ?? Number(placeholders(v.stage, v.regularizer).batchSize);
  if (typeof input.microBatch === 'number' && batch % input.microBatch !== 0)
    errors.microBatch = `Must divide the batch size (${batch}).`;
  if (used.has('method') && v.method === 'lora') {
    input.lora = true;
    number('loraR', posInt(1024), 'A whole number from 1 to 1,024.');
    number('loraAlpha', (x) => x > 0 && x <= 1e4, 'A number above 0 and at most 10,000.');
    number('loraDropout', (x) => x >= 0 && x <= 0.9, 'A number from 0 to 0.9.');
    const targets = v.loraTargets
      .split(',')
      .map((t) => t.trim())
      .filter((t) => t !== '');
    if (targets.length > 0) input.loraTargets = targets;
  }
  if (v.backend !== 'auto') input.backend = v.backend;
  if (!BACKEND_CHOICES.includes(v.backend)) errors.backend = `Pick one of ${BACKEND_CHOICES.join(', ')}.`;

  return Object.keys(errors).length > 0 ? { errors } : { errors, input: input as OpInput<'train'> };
}
