/**
 * The contract: every operation the app, the CLI and the HTTP server offer, with its input schema and its
 * result type. One definition, three transports (Electron IPC, HTTP + server-sent events, the CLI).
 *
 * - A `query` answers quickly from the store (or a short forward pass) and has no progress.
 * - A `job` is long work (training, recording, SAEs, nulls): it streams progress events and can be
 *   cancelled; the app and the server run jobs in a worker thread, never on the UI or HTTP thread.
 *
 * Inputs are validated here, once, whatever the transport: unknown fields are refused, and every error names
 * the field. The renderer imports only the types of this module.
 */
import { z } from 'zod';
import {
  BACKEND_NAMES,
  DPO_BETA,
  MATCH_R_THRESHOLD,
  REGULARIZERS,
  SAE_TOPK_K,
  STAGES,
  STUDY_METHODS,
  TAP_KINDS,
  TASK_NAMES,
} from './names.js';
import type { BackendProbe } from './backend/index.js';
import type { CheckpointRecord } from './store/checkpoints.js';
import type { MetricSeries, RunRecord } from './store/runs.js';
import type { ProbeSummary } from './store/probes.js';
import type { RecordingInfo } from './store/activations.js';
import type { FigureRecord } from './store/analyses.js';
import type { WeightProxy } from './analysis/sparsity.js';
import type { Generation } from './ops/generate.js';
import type { TrainResult } from './ops/train.js';
import type { RecordResult } from './record/record.js';
import type { CompareResult } from './ops/compare.js';
import type { SimilarityOpResult, SimilarityResult } from './ops/similarity.js';
import type { SaeRecord } from './ops/sae.js';
import type { MatchAnalysis, MatchOpResult } from './ops/match.js';
import type { SubspacesResult } from './ops/subspaces.js';
import type { SparsityResult } from './ops/sparsity.js';
import type { EvalResult } from './ops/eval.js';
import type { DemoResult } from './ops/demo.js';
import type { UniversalityResult } from './ops/universality.js';
import type { ImportRunResult } from './ops/trainer-state.js';
import type { StudyView } from './study/types.js';
import type { CrosscoderRecord, DiffingFindings, DiffLensResult, LatentPage } from './diff/types.js';
import type {
  CorrelationMatrixView,
  NeuronCounterparts,
  NeuronLive,
  NeuronPageView,
  NeuronTable,
} from './ops/neurons.js';

export { MATCH_R_THRESHOLD, SAE_TOPK_K };
export type { CompareResult, CompareRow } from './ops/compare.js';
export type { CheckpointScore } from './ops/score.js';
export type { Histogram } from './analysis/histogram.js';
export type { RunRecord } from './store/runs.js';

/** A checkpoint, run or SAE name: letters, digits, '.', '_' and '-'. */
export const Name = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'use letters, digits, ".", "_" and "-" (max 64)');
/** A tap name such as `blocks.0.mlp.post`. */
export const Tap = z
  .string()
  .regex(/^blocks\.\d+\.(mlp\.pre|mlp\.post|resid_post)$/, 'expected blocks.{i}.mlp.pre|mlp.post|resid_post');
const Backend = z.enum(['auto', ...BACKEND_NAMES]);
const PosInt = z.number().int().positive();
const Seed = z
  .number()
  .int()
  .min(0)
  .max(2 ** 31 - 1);

export const TrainInput = z.strictObject({
  /** Name of the checkpoint this run produces (and of the run). */
  name: Name,
  stage: z.enum(STAGES),
  /** Built-in world task for sft and preference stages. */
  task: z.enum(TASK_NAMES).optional(),
  /** A user preference JSONL file instead of the built-in task. */
  pairs: z.string().min(1).optional(),
  /** A user plain-text corpus for pretraining instead of the built-in world. */
  corpus: z.string().min(1).optional(),
  /** Parent checkpoint (name in the project, or a folder): required except for pretrain. */
  init: z.string().min(1).optional(),
  /** Reference checkpoint for DPO-family stages (default: the parent). */
  ref: z.string().min(1).optional(),
  /** Model shape for pretraining from scratch. */
  model: z
    .strictObject({
      nLayer: PosInt.max(48),
      nEmbd: PosInt.max(4096),
      nHead: PosInt.max(64),
      nInner: PosInt.max(16384),
      nCtx: PosInt.max(2048),
    })
    .partial()
    .optional(),
  steps: PosInt.max(1_000_000).optional(),
  batchSize: PosInt.max(4096).optional(),
  lr: z.number().positive().max(1).optional(),
  warmup: z.number().int().min(0).optional(),
  seed: Seed.optional(),
  beta: z.number().positive().max(100).optional(),
  lossType: z.enum(['sigmoid', 'hinge', 'ipo']).optional(),
  labelSmoothing: z.number().min(0).max(0.5).optional(),
  logpAgg: z.enum(['sum', 'mean']).optional(),
  regularizer: z.enum(REGULARIZERS).optional(),
  lambda: z.number().min(0).max(1e6).optional(),
  layer: z.number().int().min(0).optional(),
  /** The tap kind DecPO regularizes (default: `mlp.pre_linear` for gated MLPs, else `mlp.post`). */
  tap: z.enum(TAP_KINDS).optional(),
  simpoGamma: z.number().min(0).max(100).optional(),
  evalEvery: z.number().int().min(0).optional(),
  checkpointEvery: z.number().int().min(0).optional(),
  /**
   * Every this many steps (not at the last, which is the run's own checkpoint) also write the registered
   * checkpoint `{name}-step{N}` (same stage and lineage; for LoRA, the adapter). 0 or absent: none.
   */
  snapshotEvery: z.number().int().min(0).optional(),
  /** Documents (pretrain) or pairs (preference) generated from the built-in world. */
  examples: PosInt.max(10_000_000).optional(),
  /**
   * Preference pairs: tokens of prompt + the longer response, TRL's `max_length` (default for `pairs`:
   * min(512, the model's context); for a built-in task: the context).
   */
  maxLength: PosInt.max(1_048_576).optional(),
  /**
   * Preference pairs: tokens of the prompt kept from its end when a pair is too long, TRL's
   * `max_prompt_length` (default for `pairs`: min(128, half the max length)).
   */
  maxPromptLength: z.number().int().min(0).max(1_048_576).optional(),
  backend: Backend.optional(),
  /** wasm: matrix products on 1 or 2 threads (default 2 where the machine has 2 cores or more). */
  threads: z.number().int().min(1).max(2).optional(),
  /** Discard an earlier run of the same name and start over. */
  restart: z.boolean().optional(),
  /** Fine-tune a LoRA adapter on the frozen parent instead of every weight (PEFT's LoraConfig below). */
  lora: z.boolean().optional(),
  /** LoRA rank r (default 8). */
  loraR: PosInt.max(1024).optional(),
  /** LoRA alpha (default 16): the update is scaled by alpha / r. */
  loraAlpha: z.number().positive().max(1e4).optional(),
  /** LoRA dropout on the adapter's input (default 0.05). */
  loraDropout: z.number().min(0).max(0.9).optional(),
  /** Module names to adapt (PEFT's target_modules; default: the authors' q, v, up or their equivalent). */
  loraTargets: z.array(z.string().min(1)).min(1).optional(),
  /** rsLoRA: scale alpha / sqrt(r). */
  loraRslora: z.boolean().optional(),
  /** LoRA: also write the merged model as the checkpoint `{name}-merged`. */
  merge: z.boolean().optional(),
  /** Examples per micro-batch: gradients accumulate over batchSize / microBatch micro-batches per step. */
  microBatch: PosInt.max(4096).optional(),
});

export const GenerateInput = z.strictObject({
  checkpoint: z.string().min(1),
  prompts: z.array(z.string()).min(1).max(256),
  maxNewTokens: PosInt.max(1024).default(24),
  temperature: z.number().min(0).max(10).default(1),
  topK: z.number().int().min(0).default(0),
  seed: Seed.default(0),
  samples: PosInt.max(64).default(1),
  backend: Backend.optional(),
});

export const RecordInput = z.strictObject({
  /** A checkpoint name of the project, or a folder (registered on first use). */
  checkpoint: z.string().min(1),
  /** A folder's weights are copied into the project's checkpoints/ rather than read where they are. */
  copy: z.boolean().optional(),
  probe: z.string().min(1).default('builtin'),
  taps: z.string().min(1).default('blocks.*.mlp.post'),
  dtype: z.enum(['float16', 'float32']).default('float16'),
  batchSize: PosInt.max(4096).optional(),
  labels: z.string().optional(),
  /** Tokens per window of a text probe, BOS included (default the lesser of 128 and the model's context). */
  context: z.number().int().min(2).max(1_048_576).optional(),
  /** A lexicon file for a text probe's labels, JSON `{"concept": ["word", "multi word phrase", ...]}`. */
  lexicon: z.string().min(1).optional(),
  /** Whether `lexicon` adds to the built-in lexicon or replaces it. */
  lexiconMode: z.enum(['add', 'replace']).default('add'),
  backend: Backend.optional(),
});

const Empty = z.strictObject({});
/** A probe set: `builtin`, a stored probe hash, or a text/JSONL file. */
const Probe = z.string().min(1).max(4096).default('builtin');
/** A recorded tap: checkpoint, tap, probe set. */
export const TapRefInput = z.strictObject({
  checkpoint: z.string().min(1).max(4096),
  tap: Tap,
  probe: Probe,
});
/** A recorded tap, validated, with its probe set (`builtin` unless named). */
export type TapRef = z.output<typeof TapRefInput>;
const Neuron = z.number().int().min(0).max(1_000_000);
/** Permutations of a null distribution (0 = none). */
const Shuffles = z.number().int().min(0).max(100_000).default(1000);

export const SimilarityInput = z.strictObject({
  a: TapRefInput,
  b: TapRefInput,
  measure: z.enum(['svcca', 'rsa']),
  mode: z.enum(['svcca', 'svcca-paper-compat']).optional(),
  shuffles: Shuffles,
  seed: Seed.default(0),
  /** Tokens used, a seeded sample of the non-special rows (default 4,000 for SVCCA, 1,000 for RSA). */
  maxTokens: PosInt.max(50_000).optional(),
});

export const SaeTrainInput = z.strictObject({
  name: Name,
  ref: TapRefInput,
  kind: z.enum(['topk', 'relu-l1']).default('topk'),
  latents: PosInt.max(65_536).default(1024),
  /** TopK: active latents per token. */
  k: PosInt.max(4096).default(SAE_TOPK_K),
  /** ReLU+L1: the L1 coefficient (default 5). */
  l1: z.number().positive().max(1e4).optional(),
  steps: PosInt.max(1_000_000).default(1000),
  /** Tokens per step (default 1,024). */
  batchSize: PosInt.max(65_536).optional(),
  /** Adam learning rate (default 1e-3 for TopK, 5e-4 for ReLU+L1). */
  lr: z.number().positive().max(1).optional(),
  seed: Seed.default(0),
  /** Replace an SAE of this name trained with other settings (and drop what was computed from it). */
  overwrite: z.boolean().default(false),
});

export const MatchInput = z.strictObject({
  a: TapRefInput,
  b: TapRefInput,
  saeA: Name.optional(),
  saeB: Name.optional(),
  options: z
    .strictObject({
      direction: z.enum(['b-to-a', 'a-to-b']).default('b-to-a'),
      rule: z.enum(['many-to-1', 'one-to-one-first', 'one-to-one-best', 'hungarian']).default('many-to-1'),
      /** Keep pairs with r above this; null switches the filter off. */
      rThreshold: z.number().min(-1).max(1).nullable().default(MATCH_R_THRESHOLD),
      /** The junk-token and shared-token filters (they need the tokens). */
      tokenFilters: z.boolean().default(true),
      sharedToken: z.boolean().default(true),
      topK: PosInt.max(100).default(5),
    })
    .prefault({}),
  shuffles: Shuffles,
  seed: Seed.default(0),
  /**
   * With two SAEs: also match SAE A with A retrained with another seed (trained once, cached), the same
   * statistics beside the cross-model ones (Paulo & Belrose 2025). Default on (not for an imported SAE A, which has no training to repeat); false switches it off.
   */
  seedBaseline: z.boolean().optional(),
});

export const SubspacesInput = z.strictObject({
  a: TapRefInput,
  b: TapRefInput,
  saeA: Name.optional(),
  saeB: Name.optional(),
  shuffles: Shuffles,
  seed: Seed.default(0),
});

export const CompareInput = z.strictObject({
  checkpoints: z.array(z.string().min(1)).min(1).max(16),
  taps: z.string().min(1).default('blocks.*.mlp.post'),
  probe: Probe,
  /** Built-in task for the reward and judge columns; `none` skips them. */
  task: z.enum([...TASK_NAMES, 'none']).default('toxicity'),
  /** The checkpoint the others are compared to (default: the first). */
  base: z.string().min(1).optional(),
});

export const EvalInput = z.strictObject({
  /** Checkpoints: names in the project, or folders. */
  policy: z.string().min(1),
  ref: z.string().min(1),
  /** Preference JSONL {"prompt","chosen","rejected"}. */
  pairs: z.string().min(1),
  /** DPO beta of the rewards r = beta (log pi - log ref). */
  beta: z.number().positive().max(100).default(DPO_BETA),
  backend: Backend.optional(),
});

export const ImportRunInput = z.strictObject({
  /** Name of the run in the project. */
  name: Name,
  /** A `trainer_state.json` that transformers' Trainer (and so TRL's trainers) wrote. */
  trainerState: z.string().min(1).max(4096),
  /** The checkpoint or PEFT adapter folder the run produced (or a checkpoint of the project), linked to it. */
  checkpoint: z.string().min(1).max(4096).optional(),
  /** The run's stage (default: dpo when it logs TRL's rewards/*, else sft). */
  stage: z.enum(STAGES).optional(),
});

export const DemoInput = z.strictObject({
  /** A much smaller run (about a minute), for tests. */
  quick: z.boolean().optional(),
  seed: Seed.default(0),
  backend: Backend.optional(),
  /**
   * A checkpoint (folder or name) to fine-tune with LoRA instead of pretraining the built-in world's GPT:
   * DPO and DecPO on `toxicity`, tokenized with its own tokenizer.
   */
  model: z.string().min(1).optional(),
  /** With `model`: the probe set of the comparison (default `english`, the shipped English text). */
  probe: z.string().min(1).max(4096).optional(),
});

export const UniversalityInput = DemoInput.omit({ model: true, probe: true }).extend({
  /** Permutations of each null (default 1000; 200 with `quick`: no schema default, which would hide `quick`). */
  shuffles: z.number().int().min(0).max(100_000).optional(),
});

/**
 * The study (`monoscope study`): a grid of methods x seeds x tasks (x DecPO layer and lambda sweeps), each
 * cell an ordinary run and checkpoint, measured and summarised over seeds (see `study/spec.ts`). Defaults:
 * the six methods, 5 seeds (3 with `quick`), `toxicity`, DecPO's `barlow` at the study's layer and lambda.
 */
export const StudyInput = z.strictObject({
  /** The study's name in the project (default `quick` with `quick`, else `study`). */
  name: Name.optional(),
  /** The quick grid: 3 seeds, reduced steps (the numbers are in `study/spec.ts`). */
  quick: z.boolean().optional(),
  methods: z.array(z.enum(STUDY_METHODS)).min(1).max(STUDY_METHODS.length).optional(),
  /** DecPO runs once per regularizer (default `barlow`). */
  regularizers: z.array(z.enum(REGULARIZERS)).min(1).max(REGULARIZERS.length).optional(),
  /** Seeds 0..seeds-1 (default 5; 3 with `quick`). */
  seeds: z.number().int().min(3).max(64).optional(),
  /** Built-in tasks (default `toxicity`). */
  tasks: z.array(z.enum(TASK_NAMES)).min(1).max(TASK_NAMES.length).optional(),
  /** A preference JSONL file instead of the built-in tasks. */
  pairs: z.string().min(1).max(4096).optional(),
  /** DecPO layer sweep: one decpo cell per layer. */
  layers: z.array(z.number().int().min(0).max(255)).min(1).max(64).optional(),
  /** DecPO lambda sweep: one decpo cell per lambda. */
  lambdas: z.array(z.number().min(0).max(1e6)).min(1).max(32).optional(),
  /** DecPO's layer and lambda for the `decpo` cells (default: the middle block, 1e-3). */
  layer: z.number().int().min(0).max(255).optional(),
  lambda: z.number().min(0).max(1e6).optional(),
  /** Fine-tune this checkpoint (folder or name) with LoRA instead of pretraining a base per seed. */
  model: z.string().min(1).max(4096).optional(),
  /** With `model`: the probe set of the proxies (default `english`, the shipped English text), or a text file. */
  probe: z.string().min(1).max(4096).optional(),
  /** Overrides of the grid's training sizes (tests and small machines). */
  steps: PosInt.max(1_000_000).optional(),
  pretrainSteps: PosInt.max(1_000_000).optional(),
  examples: PosInt.max(10_000_000).optional(),
  pretrainExamples: PosInt.max(10_000_000).optional(),
  /** The pretrained base's shape (built-in world only). */
  modelShape: TrainInput.shape.model,
  /**
   * The proxies on the built-in probe cut to this many tokens instead of all of it (built-in world only):
   * recording and the per-block analyses of every checkpoint scale with it.
   */
  probeTokens: PosInt.min(256).max(1_000_000).optional(),
  /** Cells trained at once, each on a worker thread (default: the machine's cores). */
  workers: z.number().int().min(1).max(64).optional(),
  backend: Backend.optional(),
});

/**
 * A crosscoder (model diffing; Lindsey et al. 2024, Minder et al. 2025): one sparse dictionary trained on
 * the same tap of 2 or 3 checkpoints over the same probe tokens (see `diff/types.ts`).
 */
export const CrosscoderInput = z.strictObject({
  name: Name,
  /** 2 or 3 checkpoints (names or folders); their tap is recorded on the probe when it is not yet. */
  checkpoints: z.array(z.string().min(1).max(4096)).min(2).max(3),
  tap: Tap,
  probe: Probe,
  /** BatchTopK (Bussmann et al. 2024; the default, which Minder et al. recommend) or L1. */
  kind: z.enum(['batchtopk', 'l1']).default('batchtopk'),
  latents: PosInt.max(65_536).default(1024),
  /** BatchTopK: mean active latents per token. */
  k: PosInt.max(4096).default(SAE_TOPK_K),
  /** L1: the coefficient of the decoder-norm-weighted penalty. */
  l1: z.number().positive().max(1e4).optional(),
  steps: PosInt.max(1_000_000).default(1000),
  batchSize: PosInt.max(65_536).optional(),
  lr: z.number().positive().max(1).optional(),
  seed: Seed.default(0),
  /** Tags: A-only when Δ > specific, B-only when Δ < 1 − specific. */
  specific: z.number().gt(0.5).lt(1).default(0.9),
  /** Tags: shared when |Δ − 0.5| < shared. */
  shared: z.number().gt(0).lt(0.5).default(0.1),
  /** Replace a crosscoder of this name trained with other settings. */
  overwrite: z.boolean().default(false),
});

/**
 * The mission's question from a crosscoder whose first checkpoint is the base: per fine-tune, its specific
 * latents, their concepts and monosemanticity; with `seedBaseline`, beside a twin crosscoder trained with
 * seed + 1 (trained on first use, then read from the store).
 */
export const CrosscoderFindingsInput = z.strictObject({
  name: Name,
  seedBaseline: z.boolean().default(false),
});

/** The activation-difference lens: mean h_B − h_A of a tap over the probe, read through B's unembedding. */
export const DiffLensInput = z.strictObject({
  a: z.string().min(1).max(4096),
  b: z.string().min(1).max(4096),
  /** Taps (a glob like `blocks.*.resid_post`). */
  taps: z.string().min(1).default('blocks.*.resid_post'),
  probe: Probe,
  /** Promoted and suppressed tokens listed per layer. */
  topK: PosInt.max(100).default(10),
});

/** Write an SAE or a crosscoder of the project in another tool's format. */
export const SaeExportInput = z.strictObject({
  /** The SAE's or crosscoder's name. */
  sae: Name,
  format: z.enum(['saelens']).default('saelens'),
  /** A new folder (or an empty one) outside the project's managed folders. */
  out: z.string().min(1).max(4096),
});

/** Bring in a pretrained SAE: a SAELens folder (cfg.json + sae_weights.safetensors) or Gemma Scope's params.npz. */
export const SaeImportInput = z.strictObject({
  from: z.string().min(1).max(4096),
  /** The checkpoint and tap it reads; its d_in (and hook, when the folder names one) must agree. */
  checkpoint: z.string().min(1).max(4096),
  tap: Tap,
  probe: Probe,
  name: Name,
  overwrite: z.boolean().default(false),
});

/** Feature pages in Neuronpedia's JSON layout, for an SAE or a crosscoder of the project. */
export const NeuronpediaExportInput = z.strictObject({
  /** The SAE's or crosscoder's name. */
  sae: Name,
  /**
   * A crosscoder's model whose pages these are (its model id, tap, decoder block and unembedding; default:
   * its first checkpoint). Neuronpedia lists one source per model: export once per model. Not for SAEs.
   */
  checkpoint: z.string().min(1).max(4096).optional(),
  /** Latents to export (default: every latent that fires on the probe). */
  latents: z.array(z.number().int().min(0).max(1_000_000)).min(1).max(100_000).optional(),
  /** Top activating contexts per latent. */
  topK: PosInt.max(1000).default(20),
  out: z.string().min(1).max(4096),
});

/** The kinds of stored analysis that `analyses.get` finds, by the input of the operation that made them. */
export const STORED_KINDS = ['similarity', 'match', 'subspaces', 'compare'] as const;
export type StoredKind = (typeof STORED_KINDS)[number];

/** Every operation: its kind, its input schema, and a one-line summary (used by `--help` and docs). */
export const OPS = {
  'backends.list': { kind: 'query', input: Empty, summary: 'Which TF.js backends load here, and why not' },
  'project.summary': {
    kind: 'query',
    input: Empty,
    summary: 'Checkpoints, runs, probe sets and recordings of the project',
  },
  'runs.list': { kind: 'query', input: Empty, summary: 'Training runs with status and last metrics' },
  'runs.metrics': {
    kind: 'query',
    input: z.strictObject({ runId: Name, names: z.array(z.string().min(1)).max(64).optional() }),
    summary: "A run's metric series (TRL names)",
  },
  'runs.import': {
    kind: 'job',
    input: ImportRunInput,
    summary:
      "Bring in a run trained elsewhere: a TRL/transformers trainer_state.json's curves, and its checkpoint or adapter",
  },
  'checkpoints.list': {
    kind: 'query',
    input: Empty,
    summary: 'Checkpoints of the project, with architecture, parameters, dtype, size and source folder',
  },
  'checkpoints.add': {
    kind: 'job',
    input: z.strictObject({
      /** A checkpoint folder (or the name of one already registered, with `copy`). */
      path: z.string().min(1).max(4096),
      /** Copy its weights into the project's checkpoints/ rather than read them where they are. */
      copy: z.boolean().optional(),
      /**
       * For a PEFT adapter folder whose base it does not locate itself: the base checkpoint (a name or a
       * folder). The adapter is then copied into the project with a record of its base.
       */
      base: z.string().min(1).max(4096).optional(),
    }),
    summary: 'Register a checkpoint folder in the project (by content hash; copied with `copy`)',
  },
  generate: { kind: 'query', input: GenerateInput, summary: 'Sample continuations from a checkpoint' },
  'recordings.list': {
    kind: 'query',
    input: z.strictObject({ checkpoint: z.string().min(1).optional() }),
    summary: 'Recorded taps',
  },
  'neurons.table': {
    kind: 'query',
    /** `topK`: top activations that define a neuron's dominant concept (default 20). */
    input: TapRefInput.extend({ topK: PosInt.max(1000).optional() }),
    summary: 'Every neuron of a tap: statistics and monosemanticity, as columns',
  },
  'neurons.page': {
    kind: 'query',
    input: z.strictObject({ ref: TapRefInput, neuron: Neuron }),
    summary:
      "A neuron's page: stats, histogram, contexts, quantiles, concepts, logit effects, correlated neurons",
  },
  'neurons.live': {
    kind: 'query',
    input: z.strictObject({ ref: TapRefInput, neuron: Neuron, text: z.string().max(10_000) }),
    summary: "A neuron's activation on typed text",
  },
  'neurons.counterparts': {
    kind: 'query',
    input: z.strictObject({ ref: TapRefInput, neuron: Neuron }),
    summary: 'The same neuron, and its best match, in the other checkpoints',
  },
  'correlation.matrix': {
    kind: 'query',
    input: z.strictObject({ ref: TapRefInput, diffWith: z.string().min(1).optional() }),
    summary: 'Correlation matrix of a tap (heatmap), cluster order, difference to another checkpoint',
  },
  'weights.proxy': {
    kind: 'query',
    input: z.strictObject({ checkpoint: z.string().min(1) }),
    summary: "The paper's weight-based monosemanticity proxy per layer",
  },
  'saes.list': { kind: 'query', input: Empty, summary: 'SAEs trained in the project, with their metrics' },
  'analyses.get': {
    kind: 'query',
    input: z.strictObject({
      kind: z.enum(STORED_KINDS),
      /** The input of the operation (`kind`) that made it, as that operation takes it. */
      inputs: z.record(z.string(), z.unknown()),
    }),
    summary: 'A stored analysis result, if it exists, found by the input of the operation that made it',
  },
  'figures.record': {
    kind: 'query',
    input: z.strictObject({
      figure: z.string().min(1).max(200),
      format: z.enum(['svg', 'png', 'csv']),
      file: z.string().min(1).max(4096),
      options: z.record(z.string(), z.unknown()).default({}),
    }),
    summary: 'Log an exported figure in the store',
  },
  'figures.list': { kind: 'query', input: Empty, summary: 'Exported figures' },
  train: {
    kind: 'job',
    input: TrainInput,
    summary: 'Train or fine-tune a model (pretrain, sft, dpo, decpo, simpo, l1)',
  },
  record: {
    kind: 'job',
    input: RecordInput,
    summary: "Record a checkpoint's activations on a probe set into the store",
  },
  compare: {
    kind: 'job',
    input: CompareInput,
    summary: 'Compare checkpoints per layer (and store the result)',
  },
  similarity: {
    kind: 'job',
    input: SimilarityInput,
    summary: 'SVCCA or RSA between two taps, with a permutation null',
  },
  'sae.train': {
    kind: 'job',
    input: SaeTrainInput,
    summary: "Train a sparse autoencoder on a tap's activations",
  },
  match: {
    kind: 'job',
    input: MatchInput,
    summary: 'Match features across checkpoints or models; SVCCA/RSA of the pairs with a null',
  },
  subspaces: {
    kind: 'job',
    input: SubspacesInput,
    summary: 'Semantic subspaces by concept category',
  },
  sparsity: {
    kind: 'job',
    input: TapRefInput,
    summary: 'Fraction active, Hoyer sparsity, effective rank and activation variance of a tap',
  },
  eval: {
    kind: 'job',
    input: EvalInput,
    summary: 'Score preference pairs with a policy and a reference: per-pair log-probs, reward metrics',
  },
  demo: {
    kind: 'job',
    input: DemoInput,
    summary: 'Pretrain a small GPT, fine-tune it with DPO and DecPO on toxicity, and compare the three',
  },
  study: {
    kind: 'job',
    input: StudyInput,
    summary: "Run the paper's study: methods x seeds x tasks, each cell a run, measured and summarised",
  },
  'study.get': {
    kind: 'query',
    input: z.strictObject({ name: Name.optional() }),
    summary: 'A study: its cells (live while it runs), the summary over seeds and the verdicts',
  },
  'crosscoder.train': {
    kind: 'job',
    input: CrosscoderInput,
    summary: 'Train a crosscoder on a tap of 2 or 3 checkpoints; tag its latents shared or model-specific',
  },
  'crosscoders.list': {
    kind: 'query',
    input: Empty,
    summary: 'Crosscoders of the project, with their latents',
  },
  'crosscoder.latent': {
    kind: 'query',
    input: z.strictObject({ name: Name, latent: Neuron }),
    summary: "A crosscoder latent's page: decoder norms, Δ, ν, top contexts and histogram in each model",
  },
  'crosscoder.findings': {
    kind: 'job',
    input: CrosscoderFindingsInput,
    summary:
      "A crosscoder's latents specific to each fine-tune against the base, their concepts and monosemanticity; with a seed baseline",
  },
  'diff.lens': {
    kind: 'job',
    input: DiffLensInput,
    summary: 'Mean activation difference of two checkpoints per layer, read through the unembedding',
  },
  'sae.export': {
    kind: 'job',
    input: SaeExportInput,
    summary: "Write an SAE or crosscoder in SAELens's format",
  },
  'sae.import': {
    kind: 'job',
    input: SaeImportInput,
    summary: "Import a SAELens SAE folder or a Gemma Scope params.npz for a checkpoint's tap",
  },
  'neuronpedia.export': {
    kind: 'job',
    input: NeuronpediaExportInput,
    summary: "Write an SAE's or crosscoder's feature pages in Neuronpedia's JSON layout",
  },
  universality: {
    kind: 'job',
    input: UniversalityInput,
    summary: 'A second base model; SVCCA/RSA of matched SAE features by layer pair, against a null',
  },
} as const satisfies Record<string, { kind: 'query' | 'job'; input: z.ZodType; summary: string }>;

export type OpName = keyof typeof OPS;

/** Operations that answer at once (`call`). */
export type QueryOp = { [N in OpName]: (typeof OPS)[N]['kind'] extends 'query' ? N : never }[OpName];
/** Operations that run as jobs, with progress and cancel (`startJob`). */
export type JobOp = Exclude<OpName, QueryOp>;

/** One event a running operation reports (the engine host's workers, IPC, server-sent events). */
export type EngineEvent =
  | ({ kind: 'progress' } & {
      phase: string;
      done: number;
      total: number;
      unit?: string;
      metrics?: Record<string, number>;
    })
  | { kind: 'message'; text: string }
  | { kind: 'record'; record: string; data: Record<string, unknown> };

/** `queued`: waiting for a free job worker (the engine runs a few jobs at once). */
export type JobStatus = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';

/** A job, running or finished. */
export interface JobInfo {
  id: string;
  op: OpName;
  input: unknown;
  status: JobStatus;
  /** When it started running; while it is queued, when it was queued. */
  startedAt: string;
  endedAt?: string;
  /** The latest progress event. */
  progress?: EngineEvent;
  error?: string;
  result?: unknown;
}

/** What a job broadcasts: its events, and its end. */
export type JobEvent = { jobId: string; op: OpName } & (
  { type: 'event'; event: EngineEvent } | { type: 'end'; status: JobStatus; error?: string; result?: unknown }
);
/** What a caller may send for an operation (defaults not yet applied). */
export type OpInput<N extends OpName> = z.input<(typeof OPS)[N]['input']>;
/** The input after validation and defaults. */
export type OpParsed<N extends OpName> = z.output<(typeof OPS)[N]['input']>;

/** A stored analysis as `analyses.get` returns it: the result of the operation `kind`, and its arrays. */
export type StoredResult = {
  [K in StoredKind]: { kind: K; result: StoredResults[K]; blobs: Record<string, Float32Array> };
}[StoredKind];

interface StoredResults {
  similarity: SimilarityResult;
  match: MatchAnalysis;
  subspaces: SubspacesResult;
  compare: CompareResult;
}

/** What each operation returns. */
/** A checkpoint as `checkpoints.list` gives it: its record and the tap kinds of its blocks, in order. */
export type CheckpointListing = CheckpointRecord & { tapKinds: string[] };

export interface OpResults {
  'backends.list': BackendProbe[];
  'project.summary': {
    dir: string;
    store: string;
    schemaVersion: number;
    checkpoints: CheckpointRecord[];
    runs: RunRecord[];
    probes: ProbeSummary[];
  };
  'runs.list': RunRecord[];
  'runs.metrics': Record<string, MetricSeries>;
  'runs.import': ImportRunResult;
  'checkpoints.list': CheckpointListing[];
  'checkpoints.add': CheckpointRecord;
  generate: { checkpoint: string; generations: Generation[] };
  'recordings.list': RecordingInfo[];
  'neurons.table': NeuronTable;
  'neurons.page': NeuronPageView;
  'neurons.live': NeuronLive;
  'neurons.counterparts': NeuronCounterparts;
  'correlation.matrix': CorrelationMatrixView;
  'weights.proxy': WeightProxy;
  'saes.list': SaeRecord[];
  'analyses.get': StoredResult | null;
  'figures.record': { id: number };
  'figures.list': FigureRecord[];
  train: TrainResult;
  record: RecordResult;
  compare: CompareResult;
  similarity: SimilarityOpResult;
  'sae.train': SaeRecord;
  match: MatchOpResult;
  subspaces: SubspacesResult;
  sparsity: SparsityResult;
  eval: EvalResult;
  demo: DemoResult;
  study: StudyView;
  'study.get': StudyView | null;
  'crosscoder.train': CrosscoderRecord;
  'crosscoders.list': CrosscoderRecord[];
  'crosscoder.latent': LatentPage;
  'crosscoder.findings': DiffingFindings;
  'diff.lens': DiffLensResult;
  'sae.export': { dir: string; files: string[] };
  'sae.import': SaeRecord;
  'neuronpedia.export': { dir: string; files: string[]; latents: number };
  universality: UniversalityResult;
}
/** The result of an operation. */
export type OpResult<N extends OpName> = OpResults[N];

/** An error a transport shows as it is: bad input, a missing thing, a conflict. */
export class ApiError extends Error {
  constructor(
    readonly code: 'invalid-input' | 'unknown-op' | 'not-found' | 'conflict' | 'failed' | 'cancelled',
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** Validates an operation's input, with an error that names every offending field. */
export function parseInput<N extends OpName>(name: N, input: unknown): OpParsed<N> {
  const spec = OPS[name];
  if (!spec)
    throw new ApiError(
      'unknown-op',
      `unknown operation '${String(name)}' (known: ${Object.keys(OPS).join(', ')})`,
    );
  const r = spec.input.safeParse(input ?? {});
  if (!r.success) throw new ApiError('invalid-input', `${name}: invalid input\n${z.prettifyError(r.error)}`);
  return r.data as OpParsed<N>;
}

/** Whether a name is an operation. */
export function isOpName(name: string): name is OpName {
  return Object.prototype.hasOwnProperty.call(OPS, name);
}
