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
import { BACKEND_NAMES, REGULARIZERS, STAGES } from './names.js';

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
  name: Name,
  stage: z.enum(STAGES),
  task: z.enum(['toxicity', 'reframing']).optional(),
  pairs: z.string().min(1).optional(),
  corpus: z.string().min(1).optional(),
  init: z.string().min(1).optional(),
  ref: z.string().min(1).optional(),
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
  tap: z.enum(['mlp.post', 'mlp.pre']).optional(),
  simpoGamma: z.number().min(0).max(100).optional(),
  evalEvery: z.number().int().min(0).optional(),
  checkpointEvery: z.number().int().min(0).optional(),
  examples: PosInt.max(10_000_000).optional(),
  backend: Backend.optional(),
  /** wasm: matrix products on 1 or 2 threads (default 2 where the machine has 2 cores or more). */
  threads: z.number().int().min(1).max(2).optional(),
  restart: z.boolean().optional(),
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
  checkpoint: z.string().min(1),
  probe: z.string().min(1).default('builtin'),
  taps: z.string().min(1).default('blocks.*.mlp.post'),
  dtype: z.enum(['float16', 'float32']).default('float16'),
  batchSize: PosInt.max(4096).optional(),
  labels: z.string().optional(),
  backend: Backend.optional(),
});

const Empty = z.strictObject({});
const Probe = z.string().min(1).max(4096).optional();
/** A recorded tap: checkpoint, tap, probe set. */
export const TapRefInput = z.strictObject({
  checkpoint: z.string().min(1).max(4096),
  tap: Tap,
  probe: Probe,
});
const Neuron = z.number().int().min(0).max(1_000_000);
const Shuffles = z.number().int().min(0).max(100_000);

export const SimilarityInput = z.strictObject({
  a: TapRefInput,
  b: TapRefInput,
  measure: z.enum(['svcca', 'rsa']),
  mode: z.enum(['svcca', 'svcca-paper-compat']).optional(),
  shuffles: Shuffles.default(1000),
  seed: Seed.default(0),
  maxTokens: PosInt.max(50_000).optional(),
});

export const SaeTrainInput = z.strictObject({
  name: Name,
  ref: TapRefInput,
  kind: z.enum(['topk', 'relu-l1']).default('topk'),
  latents: PosInt.max(65_536).default(1024),
  k: PosInt.max(4096).optional(),
  l1: z.number().positive().max(1e4).optional(),
  steps: PosInt.max(1_000_000).default(1000),
  batchSize: PosInt.max(65_536).optional(),
  lr: z.number().positive().max(1).optional(),
  seed: Seed.optional(),
});

export const MatchInput = z.strictObject({
  a: TapRefInput,
  b: TapRefInput,
  saeA: Name.optional(),
  saeB: Name.optional(),
  options: z
    .strictObject({
      direction: z.enum(['b-to-a', 'a-to-b']).optional(),
      rule: z.enum(['many-to-1', 'one-to-one-first', 'one-to-one-best', 'hungarian']).optional(),
      rThreshold: z.number().min(-1).max(1).nullable().optional(),
      tokenFilters: z.boolean().optional(),
      sharedToken: z.boolean().optional(),
      topK: PosInt.max(100).optional(),
    })
    .optional(),
  shuffles: Shuffles.default(1000),
  seed: Seed.default(0),
});

export const CompareInput = z.strictObject({
  checkpoints: z.array(z.string().min(1)).min(1).max(16),
  taps: z.string().min(1).optional(),
  probe: Probe,
  task: z.enum(['toxicity', 'reframing', 'none']).optional(),
  base: z.string().min(1).optional(),
});

export const EvalInput = z.strictObject({
  /** Checkpoints: names in the project, or folders. */
  policy: z.string().min(1),
  ref: z.string().min(1),
  /** Preference JSONL {"prompt","chosen","rejected"}. */
  pairs: z.string().min(1),
  /** DPO beta of the rewards r = beta (log pi - log ref). */
  beta: z.number().positive().max(100).default(0.1),
  backend: Backend.optional(),
});

export const DemoInput = z.strictObject({
  /** A much smaller run (about a minute), for tests. */
  quick: z.boolean().optional(),
  seed: Seed.default(0),
  backend: Backend.optional(),
});

export const UniversalityInput = DemoInput.extend({
  /** Permutations of each null (default 1000; 200 with `quick`). */
  shuffles: Shuffles.optional(),
});

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
  'checkpoints.list': { kind: 'query', input: Empty, summary: 'Checkpoints of the project' },
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
      kind: z.enum(['similarity', 'match', 'subspaces', 'compare']),
      inputs: z.record(z.string(), z.unknown()),
    }),
    summary: 'A stored analysis result, if it exists',
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
    input: z.strictObject({
      a: TapRefInput,
      b: TapRefInput,
      saeA: Name.optional(),
      saeB: Name.optional(),
      shuffles: Shuffles.default(1000),
      seed: Seed.default(0),
    }),
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
