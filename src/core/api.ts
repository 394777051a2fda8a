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
import { BACKEND_NAMES } from './backend/index.js';
import { STAGES } from './train/loop.js';
import { REGULARIZERS } from './train/regularizers.js';

/** A checkpoint, run or SAE name: letters, digits, '.', '_' and '-'. */
export const Name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'use letters, digits, ".", "_" and "-" (max 64)');
/** A tap name such as `blocks.0.mlp.post`. */
export const Tap = z.string().regex(/^blocks\.\d+\.(mlp\.pre|mlp\.post|resid_post)$/, 'expected blocks.{i}.mlp.pre|mlp.post|resid_post');
const Backend = z.enum(['auto', ...BACKEND_NAMES]);
const PosInt = z.number().int().positive();
const Seed = z.number().int().min(0).max(2 ** 31 - 1);

export const TrainInput = z.strictObject({
  name: Name,
  stage: z.enum(STAGES),
  task: z.enum(['toxicity', 'reframing']).optional(),
  pairs: z.string().min(1).optional(),
  corpus: z.string().min(1).optional(),
  init: z.string().min(1).optional(),
  ref: z.string().min(1).optional(),
  model: z
    .strictObject({ nLayer: PosInt.max(48), nEmbd: PosInt.max(4096), nHead: PosInt.max(64), nInner: PosInt.max(16384), nCtx: PosInt.max(2048) })
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

/** Every operation: its kind, its input schema, and a one-line summary (used by `--help` and docs). */
export const OPS = {
  'backends.list': { kind: 'query', input: Empty, summary: 'Which TF.js backends load here, and why not' },
  'project.summary': { kind: 'query', input: Empty, summary: 'Checkpoints, runs, probe sets and recordings of the project' },
  'runs.list': { kind: 'query', input: Empty, summary: 'Training runs with status and last metrics' },
  'runs.metrics': {
    kind: 'query',
    input: z.strictObject({ runId: Name, names: z.array(z.string().min(1)).max(64).optional() }),
    summary: "A run's metric series (TRL names)",
  },
  'checkpoints.list': { kind: 'query', input: Empty, summary: 'Checkpoints of the project' },
  generate: { kind: 'query', input: GenerateInput, summary: 'Sample continuations from a checkpoint' },
  train: { kind: 'job', input: TrainInput, summary: 'Train or fine-tune a model (pretrain, sft, dpo, decpo, simpo, l1)' },
  record: { kind: 'job', input: RecordInput, summary: "Record a checkpoint's activations on a probe set into the store" },
} as const satisfies Record<string, { kind: 'query' | 'job'; input: z.ZodType; summary: string }>;

export type OpName = keyof typeof OPS;
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
  if (!spec) throw new ApiError('unknown-op', `unknown operation '${String(name)}' (known: ${Object.keys(OPS).join(', ')})`);
  const r = spec.input.safeParse(input ?? {});
  if (!r.success) throw new ApiError('invalid-input', `${name}: invalid input\n${z.prettifyError(r.error)}`);
  return r.data as OpParsed<N>;
}

/** Whether a name is an operation. */
export function isOpName(name: string): name is OpName {
  return Object.prototype.hasOwnProperty.call(OPS, name);
}
