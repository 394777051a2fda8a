/**
 * The training loop for every stage: seeded data order, steps, periodic evaluation on held-out data,
 * periodic resumable state, a NaN/Inf guard, cancellation, and the final checkpoint.
 *
 * A run lives in a folder `runDir`: `spec.json` (what was asked), `state/` (the trained weights, their
 * AdamW moments and the step, written atomically every `checkpointEvery` steps, on cancel and before a NaN
 * stop), and `ref_logps.safetensors` (the frozen reference model's response log-probs, computed once per
 * example). Running the same spec in the same folder resumes from `state/`. Snapshots of the model along the
 * run (`io.snapshot`) are written by the caller, outside the run folder.
 *
 * With `spec.lora` the run fine-tunes a LoRA adapter (lora.ts) on the frozen base: the model's config gains
 * the adapter, its weights are the base's plus a fresh adapter drawn from the run's seed, only the adapter
 * is trainable (and so only it and its moments are in `state/`), and the reference is the same weights run
 * as the base config (no second copy), unless a different reference is given.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { adaptedLinears, disposeParams, paramsFromArrays, toNamedArrays } from '../model/models.js';
import type { ModelConfig, Params } from '../model/architecture.js';
import { baseConfig, initLoraArrays, type LoraSpec } from '../model/lora.js';
import { Rng } from '../model/rng.js';
import { readSafetensors, writeSafetensors, type NamedArray } from '../model/safetensors.js';
import { tempPath, writeAtomic } from '../store/files.js';
import type { Tokenizer } from '../model/tokenizer.js';
import type { TokenizedPair } from '../data/types.js';
import { lmBatch, preferenceBatch, sftBatch } from './batches.js';
import { learningRate } from './optimizer.js';
import {
  Stepper,
  checkObjectiveTap,
  lmEvalLoss,
  preferenceLossValue,
  preferenceMetrics,
  responseLogps,
  type PreferenceObjective,
  type RefLogps,
  type StepMetrics,
} from './step.js';

import type { Stage } from '../names.js';

export { STAGES, type Stage } from '../names.js';

/** What a run does; saved as `spec.json` and recorded in the store. */
export interface RunSpec {
  stage: Stage;
  seed: number;
  steps: number;
  batchSize: number;
  lr: number;
  warmup: number;
  schedule: 'constant' | 'cosine';
  weightDecay: number;
  maxGradNorm: number;
  beta1: number;
  beta2: number;
  evalEvery: number;
  /** Evaluate on at most this many held-out examples (pairs or windows). */
  evalExamples: number;
  checkpointEvery: number;
  /** For dpo/decpo/simpo/l1. */
  objective?: PreferenceObjective;
  /** Whether preference stages log `decorr/mean_abs_corr`, over the objective's `blocks.{layer}.{tap}`. */
  monitor?: boolean;
  /** Fine-tune a LoRA adapter on the frozen model instead of every weight. */
  lora?: LoraSpec;
  /** Examples (pairs or windows) per micro-batch: gradients accumulate over batchSize / microBatch of them. */
  microBatch?: number;
}

/** Defaults for a stage; `overrides` win. */
export function runSpec(overrides: Partial<RunSpec> & { stage: Stage }): RunSpec {
  const pretrain = overrides.stage === 'pretrain';
  return {
    seed: 0,
    steps: 100,
    batchSize: pretrain ? 32 : 16,
    lr: pretrain ? 3e-3 : 1e-4,
    warmup: pretrain ? 20 : 0,
    schedule: pretrain ? 'cosine' : 'constant',
    weightDecay: pretrain ? 0.1 : 0,
    maxGradNorm: 1.0,
    beta1: 0.9,
    beta2: pretrain ? 0.95 : 0.999,
    evalEvery: 25,
    evalExamples: 128,
    checkpointEvery: 50,
    monitor: true,
    ...overrides,
  };
}

export interface LmData {
  kind: 'lm';
  train: Int32Array[];
  eval: Int32Array[];
}
export interface PairData {
  kind: 'pairs';
  train: TokenizedPair[];
  eval: TokenizedPair[];
}
export type TrainData = LmData | PairData;

export interface RunModel {
  /** The model trained (without an adapter: `spec.lora` adds it). */
  config: ModelConfig;
  /** Initial weights (from scratch, or the parent checkpoint). */
  arrays: Map<string, NamedArray>;
  tokenizer: Tokenizer;
  /** The frozen reference's weights for DPO-family stages (default: `arrays`). */
  refArrays?: Map<string, NamedArray>;
  /** Identifies the reference (its content hash), so cached reference log-probs are not reused across models. */
  refHash: string;
}

/** The trained model at the end of a run: its config (with the adapter, for LoRA) and every weight. */
export interface FinalModel {
  config: ModelConfig;
  arrays: Map<string, NamedArray>;
  step: number;
}

export interface RunIO {
  runDir: string;
  /** Writes the final checkpoint and returns its content hash (train.ts: a full checkpoint or an adapter). */
  final?: (m: FinalModel) => string;
  signal?: AbortSignal;
  onStep?: (step: number, metrics: StepMetrics) => void;
  onEval?: (step: number, metrics: StepMetrics) => void;
  onMessage?: (text: string) => void;
  /**
   * Every `every` steps, except the last (which `final` writes), hands the model to `write` (train.ts: the
   * registered checkpoint `{name}-step{N}`).
   */
  snapshot?: { every: number; write: (m: FinalModel) => void };
}

export interface RunResult {
  status: 'completed' | 'cancelled' | 'failed';
  /** Steps completed. */
  step: number;
  message?: string;
  last?: StepMetrics;
  lastEval?: StepMetrics;
  /** Content hash of the final checkpoint's weights, when one was written. */
  finalHash?: string;
  /** Peak memory of a step (see {@link Stepper.peakTensorBytes}; RSS: the process's high-water mark). */
  peakMemory?: { tensorBytes: number; rssBytes: number };
}

/** A stable hash of the spec and the data identity: a resumed run must match it. */
export function specHash(spec: RunSpec, dataKey: string, refHash: string): string {
  return createHash('sha256').update(JSON.stringify({ spec, dataKey, refHash })).digest('hex').slice(0, 16);
}

/** A key for the data: sizes and a hash of the contents (cheap enough for the sizes used here). */
export function dataKey(data: TrainData): string {
  const h = createHash('sha256');
  if (data.kind === 'lm') {
    for (const w of [...data.train, ...data.eval])
      h.update(Buffer.from(w.buffer, w.byteOffset, w.byteLength));
  } else {
    for (const p of [...data.train, ...data.eval]) h.update(JSON.stringify(p));
  }
  return `${data.kind}:${data.train.length}:${data.eval.length}:${h.digest('hex').slice(0, 16)}`;
}

/** Indices of the examples of step `step`: a seeded permutation per epoch, batches laid end to end. */
export function batchIndices(n: number, batchSize: number, step: number, seed: number): number[] {
  const out: number[] = [];
  let pos = step * batchSize;
  let epoch = Math.floor(pos / n);
  let perm = new Rng(seed * 1000003 + epoch).shuffle([...Array(n).keys()]);
  while (out.length < batchSize) {
    const e = Math.floor(pos / n);
    if (e !== epoch) {
      epoch = e;
      perm = new Rng(seed * 1000003 + epoch).shuffle([...Array(n).keys()]);
    }
    out.push(perm[pos % n]);
    pos++;
  }
  return out;
}

const REF_FILE = 'ref_logps.safetensors';

/**
 * Computes (or reads from the run folder) the reference log-probs of every train and eval pair. The
 * reference is `model.refArrays` when given; else, for a LoRA run (`loraParams`: the run's params), the same
 * params run as the base config (the adapter ignored: the base is held once); else a copy of `model.arrays`.
 */
async function referenceLogps(
  model: RunModel,
  loraParams: Params | null,
  data: PairData,
  agg: 'sum' | 'mean',
  chunkSize: number,
  runDir: string,
  say: (t: string) => void,
): Promise<{ train: RefLogps; eval: RefLogps }> {
  const key = createHash('sha256')
    .update(JSON.stringify({ ref: model.refHash, agg, data: dataKey(data) }))
    .digest('hex')
    .slice(0, 16);
  const file = join(runDir, REF_FILE);
  if (existsSync(file)) {
    const { tensors, metadata } = readSafetensors(file);
    if (metadata.key === key) {
      const get = (n: string) => tensors.get(n)!.data as Float32Array;
      say('reference log-probs: reused from the run folder');
      return {
        train: { chosen: get('train.chosen'), rejected: get('train.rejected') },
        eval: { chosen: get('eval.chosen'), rejected: get('eval.rejected') },
      };
    }
  }
  say(`reference log-probs: computing for ${data.train.length} + ${data.eval.length} pairs (once)`);
  const cfg = loraParams ? baseConfig(model.config) : model.config;
  const shared = !model.refArrays && loraParams !== null;
  const refParams = shared ? loraParams : paramsFromArrays(cfg, model.refArrays ?? model.arrays, false);
  const run = async (pairs: TokenizedPair[]): Promise<RefLogps> => {
    const chosen = new Float32Array(pairs.length);
    const rejected = new Float32Array(pairs.length);
    for (let i = 0; i < pairs.length; i += chunkSize) {
      const chunk = pairs.slice(i, i + chunkSize);
      const lp = await responseLogps(cfg, refParams, preferenceBatch(chunk, model.tokenizer.padId), agg);
      chosen.set(lp.subarray(0, chunk.length), i);
      rejected.set(lp.subarray(chunk.length), i);
    }
    return { chosen, rejected };
  };
  const train = await run(data.train);
  const evalRef = await run(data.eval);
  if (!shared) disposeParams(refParams);
  const arrays = new Map<string, NamedArray>([
    ['train.chosen', { shape: [train.chosen.length], data: train.chosen }],
    ['train.rejected', { shape: [train.rejected.length], data: train.rejected }],
    ['eval.chosen', { shape: [evalRef.chosen.length], data: evalRef.chosen }],
    ['eval.rejected', { shape: [evalRef.rejected.length], data: evalRef.rejected }],
  ]);
  writeSafetensors(file, arrays, { key });
  return { train, eval: evalRef };
}

function pick<T>(items: T[], idx: number[]): T[] {
  return idx.map((i) => items[i]);
}

function pickRef(ref: RefLogps, idx: number[]): RefLogps {
  return {
    chosen: Float32Array.from(idx, (i) => ref.chosen[i]),
    rejected: Float32Array.from(idx, (i) => ref.rejected[i]),
  };
}

/** Held-out metrics with an `eval_` prefix. */
async function evaluate(
  stepper: Stepper,
  spec: RunSpec,
  model: RunModel,
  data: TrainData,
  ref: RefLogps | null,
): Promise<StepMetrics> {
  const { config, tokenizer } = model;
  // Held-out examples per forward pass: a micro-batch's worth, so evaluation fits where training does.
  const chunkSize = spec.microBatch ?? spec.batchSize;
  if (data.kind === 'lm') {
    const windows = data.eval.slice(0, spec.evalExamples);
    if (windows.length === 0) return {};
    let total = 0;
    let n = 0;
    for (let i = 0; i < windows.length; i += chunkSize) {
      const chunk = windows.slice(i, i + chunkSize);
      total += (await lmEvalLoss(config, stepper.params, lmBatch(chunk, tokenizer.padId))) * chunk.length;
      n += chunk.length;
    }
    return { eval_loss: total / n };
  }
  const pairs = data.eval.slice(0, spec.evalExamples);
  if (pairs.length === 0) return {};
  if (spec.stage === 'sft') {
    let total = 0;
    for (let i = 0; i < pairs.length; i += chunkSize) {
      const chunk = pairs.slice(i, i + chunkSize);
      total += (await lmEvalLoss(config, stepper.params, sftBatch(chunk, tokenizer.padId))) * chunk.length;
    }
    return { eval_loss: total / pairs.length };
  }
  const o = spec.objective!;
  const logps = new Float32Array(2 * pairs.length);
  for (let i = 0; i < pairs.length; i += chunkSize) {
    const chunk = pairs.slice(i, i + chunkSize);
    const lp = await responseLogps(
      config,
      stepper.params,
      preferenceBatch(chunk, tokenizer.padId),
      o.logpAgg,
    );
    logps.set(lp.subarray(0, chunk.length), i);
    logps.set(lp.subarray(chunk.length), pairs.length + i);
  }
  const evalRef = ref
    ? { chosen: ref.chosen.subarray(0, pairs.length), rejected: ref.rejected.subarray(0, pairs.length) }
    : null;
  const respLen = [...pairs.map((p) => p.chosen.length), ...pairs.map((p) => p.rejected.length)];
  const out: StepMetrics = { eval_loss: await preferenceLossValue(logps, respLen, evalRef, o) };
  for (const [k, v] of Object.entries(preferenceMetrics(logps, evalRef, o))) out[`eval_${k}`] = v;
  return out;
}

/**
 * Writes the resumable state (the trained weights: all of them, or a LoRA adapter's; their optimizer
 * moments; the step) atomically into `runDir/state`.
 */
async function saveState(stepper: Stepper, runDir: string, step: number, hash: string): Promise<void> {
  const dir = join(runDir, 'state');
  const tmp = tempPath(dir);
  mkdirSync(tmp);
  const trained = new Map(stepper.names.map((n, i) => [n, stepper.vars[i]]));
  writeSafetensors(join(tmp, 'model.safetensors'), await toNamedArrays(trained));
  const opt = await stepper.optimizer.state();
  writeSafetensors(join(tmp, 'optimizer.safetensors'), opt.arrays, { t: String(opt.t) });
  writeAtomic(
    join(tmp, 'state.json'),
    JSON.stringify({ step, specHash: hash, savedAt: new Date().toISOString() }),
  );
  const old = tempPath(dir);
  if (existsSync(dir)) renameSync(dir, old);
  renameSync(tmp, dir);
  rmSync(old, { recursive: true, force: true });
}

/** Reads `runDir/state` if it belongs to this spec; throws if the folder holds a different run. */
function readState(
  runDir: string,
  hash: string,
): { step: number; model: Map<string, NamedArray>; opt: Map<string, NamedArray>; t: number } | null {
  const file = join(runDir, 'state', 'state.json');
  if (!existsSync(file)) return null;
  const state = JSON.parse(readFileSync(file, 'utf8')) as { step: number; specHash: string };
  if (state.specHash !== hash) {
    throw new Error(
      `${runDir} holds a run with different settings (spec ${state.specHash}, asked ${hash}); choose another run name or remove the folder to start over`,
    );
  }
  const model = readSafetensors(join(runDir, 'state', 'model.safetensors')).tensors;
  const opt = readSafetensors(join(runDir, 'state', 'optimizer.safetensors'));
  return { step: state.step, model, opt: opt.tensors, t: Number(opt.metadata.t) };
}

/** The run's model: with `spec.lora`, the config gains the adapter and the weights a fresh one (B = 0). */
function withAdapter(spec: RunSpec, model: RunModel): RunModel {
  if (!spec.lora) return model;
  if (model.config.lora)
    throw new Error('the model already has a LoRA adapter; merge it before adding another');
  const config = { ...model.config, lora: spec.lora };
  const adapter = initLoraArrays(adaptedLinears(config), spec.lora.r, spec.seed);
  return { ...model, config, arrays: new Map([...model.arrays, ...adapter]) };
}

/** `items` in consecutive chunks of at most `size`. */
function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** The LoRA dropout seed of a step: a 31-bit hash of the run's seed and the step, so resumes draw alike. */
export function dropoutSeed(seed: number, step: number): number {
  return Number.parseInt(
    createHash('sha256').update(`dropout:${seed}:${step}`).digest('hex').slice(0, 7),
    16,
  );
}

/**
 * Peak memory so far: TF.js's count of live tensor bytes at the end of a forward pass (an upper bound, see
 * {@link Stepper.peakTensorBytes}) and the process's peak resident set (getrusage's maxrss: the high-water
 * mark of the whole process, which includes the step).
 */
function peakMemory(stepper: Stepper): { tensorBytes: number; rssBytes: number } {
  return { tensorBytes: stepper.peakTensorBytes, rssBytes: process.resourceUsage().maxRSS * 1024 };
}

/**
 * Trains one run to `spec.steps`, resuming from `io.runDir/state` when present. Calls `onStep` after every
 * step (the caller writes metrics to the store), evaluates every `evalEvery` steps and at the end, saves
 * resumable state every `checkpointEvery` steps, stops cleanly on `signal`, and stops on a NaN or Inf loss
 * keeping the last good state. Writes the final checkpoint when `io.final` is given, and snapshots along the
 * way when `io.snapshot` is.
 */
export async function train(spec: RunSpec, model: RunModel, data: TrainData, io: RunIO): Promise<RunResult> {
  const say = io.onMessage ?? (() => {});
  const pref = spec.stage !== 'pretrain' && spec.stage !== 'sft';
  if (pref && !spec.objective) throw new Error(`stage '${spec.stage}' needs a preference objective`);
  if (pref && spec.objective!.stage !== spec.stage)
    throw new Error(`objective stage '${spec.objective!.stage}' does not match '${spec.stage}'`);
  if ((spec.stage === 'pretrain') !== (data.kind === 'lm')) {
    throw new Error(
      spec.stage === 'pretrain'
        ? 'pretrain needs a text corpus'
        : `stage '${spec.stage}' needs preference pairs`,
    );
  }
  if (data.train.length === 0) throw new Error('no training examples');
  if (spec.microBatch !== undefined && !(Number.isInteger(spec.microBatch) && spec.microBatch > 0))
    throw new Error(`microBatch must be a positive integer, got ${spec.microBatch}`);
  model = withAdapter(spec, model);
  if (spec.objective) checkObjectiveTap(model.config, spec.objective);
  mkdirSync(io.runDir, { recursive: true });
  const hash = specHash(spec, dataKey(data), model.refHash);
  writeAtomic(
    join(io.runDir, 'spec.json'),
    JSON.stringify({ spec, specHash: hash, model: model.config }, null, 2),
  );
  const resumed = readState(io.runDir, hash);

  const needRef = pref && spec.stage !== 'simpo';
  const refOf = (loraParams: Params | null) =>
    // Pairs per forward pass: a micro-batch's worth, when set.
    referenceLogps(
      model,
      loraParams,
      data as PairData,
      spec.objective!.logpAgg,
      spec.microBatch ?? 32,
      io.runDir,
      say,
    );
  // Full fine-tuning: the reference's copy is made and freed before the trained weights exist. LoRA: the
  // reference is the run's own params, run as the base.
  let ref = needRef && !spec.lora ? await refOf(null) : null;
  const params = paramsFromArrays(
    model.config,
    resumed ? new Map([...model.arrays, ...resumed.model]) : model.arrays,
    spec.lora ? 'adapter' : true,
  );
  try {
    if (needRef && spec.lora) ref = await refOf(params);
  } catch (e) {
    disposeParams(params);
    throw e;
  }
  const stepper = new Stepper(model.config, params, {
    weightDecay: spec.weightDecay,
    beta1: spec.beta1,
    beta2: spec.beta2,
    maxGradNorm: spec.maxGradNorm,
  });
  let step = 0;
  if (resumed) {
    stepper.optimizer.load(resumed.t, resumed.opt);
    step = resumed.step;
    say(`resuming from step ${step}`);
  }
  const result: RunResult = { status: 'completed', step };
  const lrOf = (s: number) =>
    learningRate(s, { lr: spec.lr, warmup: spec.warmup, total: spec.steps, schedule: spec.schedule });
  const pad = model.tokenizer.padId;
  try {
    while (step < spec.steps) {
      // wasm kernels resolve synchronously, so without this the loop never lets signals, cancel messages
      // or HTTP requests in.
      await new Promise<void>((ok) => setImmediate(ok));
      if (io.signal?.aborted) {
        await saveState(stepper, io.runDir, step, hash);
        return {
          ...result,
          status: 'cancelled',
          step,
          message: `cancelled at step ${step}; run the same command to resume`,
        };
      }
      const idx = batchIndices(data.train.length, spec.batchSize, step, spec.seed);
      const micro = chunks(idx, spec.microBatch ?? spec.batchSize);
      const lr = lrOf(step);
      const opts = spec.lora ? { dropoutSeed: dropoutSeed(spec.seed, step) } : {};
      let m: StepMetrics;
      if (data.kind === 'lm')
        m = await stepper.lmStep(
          micro.map((c) => lmBatch(pick(data.train, c), pad)),
          lr,
          opts,
        );
      else if (spec.stage === 'sft')
        m = await stepper.lmStep(
          micro.map((c) => sftBatch(pick(data.train, c), pad)),
          lr,
          opts,
        );
      else
        m = await stepper.preferenceStep(
          micro.map((c) => preferenceBatch(pick(data.train, c), pad)),
          ref ? pickRef(ref.train, idx) : null,
          spec.objective!,
          lr,
          spec.monitor,
          opts,
        );
      result.peakMemory = peakMemory(stepper);
      if (!Number.isFinite(m.loss)) {
        await saveState(stepper, io.runDir, step, hash);
        return {
          ...result,
          status: 'failed',
          step,
          last: m,
          message: `the loss became ${m.loss} at step ${step + 1}; stopped without applying that update. The last good state (step ${step}) is in ${join(io.runDir, 'state')}. Lower the learning rate or lambda.`,
        };
      }
      step += 1;
      m.epoch = (step * spec.batchSize) / data.train.length;
      result.last = m;
      result.step = step;
      io.onStep?.(step, m);
      if (spec.evalEvery > 0 && (step % spec.evalEvery === 0 || step === spec.steps)) {
        result.lastEval = await evaluate(stepper, spec, model, data, ref?.eval ?? null);
        io.onEval?.(step, result.lastEval);
      }
      if (io.snapshot && io.snapshot.every > 0 && step % io.snapshot.every === 0 && step < spec.steps)
        io.snapshot.write({ config: model.config, arrays: await toNamedArrays(stepper.params), step });
      if (spec.checkpointEvery > 0 && step % spec.checkpointEvery === 0 && step < spec.steps)
        await saveState(stepper, io.runDir, step, hash);
    }
    if (!result.lastEval && spec.evalEvery > 0) {
      result.lastEval = await evaluate(stepper, spec, model, data, ref?.eval ?? null);
      io.onEval?.(step, result.lastEval);
    }
    await saveState(stepper, io.runDir, step, hash);
    if (io.final)
      result.finalHash = io.final({
        config: model.config,
        arrays: await toNamedArrays(stepper.params),
        step,
      });
    return result;
  } finally {
    stepper.dispose();
    disposeParams(params);
  }
}
