/**
 * The `train` operation: builds a run from a request (stage, data, parent checkpoint, hyperparameters),
 * trains it with {@link train}, writes every step's metrics to the store as it goes, and registers the
 * final checkpoint. Re-running the same request resumes an interrupted run. A run holds the project's
 * `run` lock of its name while it trains, so a second writer of the same name is refused.
 *
 * With `lora`, the final checkpoint `checkpoints/{name}` is the adapter in PEFT's layout (model/adapter.ts:
 * `adapter_config.json`, `adapter_model.safetensors`, and `monoscope.json` locating the base), registered as
 * base + adapter; with `merge` too, the merged model is the second checkpoint `{name}-merged`.
 *
 * With `snapshotEvery`, the run also writes and registers the checkpoint `{name}-step{N}` every that many
 * steps (the last step apart): the model (or the adapter) at step N, with the run's stage and lineage. A
 * resumed run keeps the snapshots it has; `restart` removes them.
 */
import { existsSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { initBackend, type BackendInfo } from '../backend/index.js';
import { startWasmGemmWorker, stopWasmGemmWorker } from '../backend/wasm-threads.js';
import { gptConfig, initParamArrays, type GPTConfig } from '../model/arch/gpt2.js';
import type { ModelConfig } from '../model/architecture.js';
import { adapterParamSpecs, countParams } from '../model/models.js';
import {
  checkpointWeightsHash,
  describeWeights,
  loadCheckpoint,
  saveCheckpoint,
  type LoadedCheckpoint,
} from '../model/checkpoint.js';
import { mergeAdapter, saveAdapter, saveMergedCheckpoint } from '../model/adapter.js';
import {
  AUTHORS_LORA,
  baseConfig,
  defaultLoraTargets,
  type LoraConfig,
  type LoraSpec,
} from '../model/lora.js';
import type { NamedArray } from '../model/safetensors.js';
import { resolveCheckpoint } from './checkpoints.js';
import { Gpt2BpeTokenizer } from '../model/tokenizers.js';
import type { Tokenizer } from '../model/tokenizer.js';
import { generateCorpus, worldTokenizer } from '../data/world.js';
import { packForLm, splitHeldOut } from '../data/batching.js';
import { pairLimits, preferenceFileData, tokenizePairsReport, type PairLimits } from '../data/jsonl.js';
import { preferenceTask } from '../data/tasks.js';
import { readTextCorpus } from '../data/corpus.js';
import type { TokenizedPair } from '../data/types.js';
import { runSpec, train, type FinalModel, type RunResult, type TrainData } from '../train/loop.js';
import { defaultTap, preferenceObjective } from '../train/step.js';
import { markInterrupted, type Project } from '../store/project.js';
import type { OpParsed } from '../api.js';
import { withLock } from '../store/locks.js';
import type { Reporter } from './progress.js';

/** A training request, as the CLI, the HTTP API and the app send it, validated by the contract. */
export type TrainRequest = OpParsed<'train'>;

export interface TrainResult extends RunResult {
  runId: string;
  checkpoint: string;
  checkpointDir: string;
  /** With `lora` and `merge`: the merged model's checkpoint name. */
  merged?: string;
  backend: BackendInfo;
  /** Parameters trained: the model's, or the LoRA adapter's. */
  params: number;
}

/** The LoRA settings of a request (PEFT's LoraConfig with the authors' defaults), or undefined without `lora`. */
export function loraOf(req: TrainRequest, cfg: ModelConfig): LoraSpec | undefined {
  const given = (['loraR', 'loraAlpha', 'loraDropout', 'loraTargets', 'loraRslora', 'merge'] as const).filter(
    (k) => req[k] !== undefined,
  );
  if (!req.lora) {
    if (given.length) throw new Error(`${given.join(', ')} only apply with lora (--lora)`);
    return undefined;
  }
  return {
    r: req.loraR ?? AUTHORS_LORA.r,
    alpha: req.loraAlpha ?? AUTHORS_LORA.alpha,
    dropout: req.loraDropout ?? AUTHORS_LORA.dropout,
    targets: req.loraTargets ?? defaultLoraTargets(cfg.arch ?? 'gpt2'),
    rslora: req.loraRslora ?? false,
  };
}

/** The default shape of a model pretrained on the built-in world: small enough to train in minutes. */
export const WORLD_MODEL: Pick<GPTConfig, 'nLayer' | 'nEmbd' | 'nHead' | 'nInner' | 'nCtx'> = {
  nLayer: 2,
  nEmbd: 128,
  nHead: 4,
  nInner: 512,
  nCtx: 64,
};

/** The limits a run's preference pairs were tokenized to, and how many pairs they cut. */
export interface PairTruncation extends PairLimits {
  truncatedPrompts: number;
  truncatedResponses: number;
}

/**
 * Builds the run's data from the request; preference pairs are truncated to the request's limits
 * ({@link pairLimits}) and the cuts counted.
 */
function buildData(
  req: TrainRequest,
  tokenizer: Tokenizer,
  nCtx: number,
  seed: number,
  say: (t: string) => void,
): { data: TrainData; task?: string; truncation?: PairTruncation } {
  if (req.stage === 'pretrain') {
    if (req.corpus) {
      const docs = readTextCorpus(req.corpus);
      const windows = packForLm(
        docs.map((d) => ({ ids: tokenizer.encode(d), concepts: [] })),
        nCtx,
        tokenizer.eosId,
      );
      const { train, eval: ev } = splitHeldOut(windows, 0.05, seed);
      say(`corpus ${req.corpus}: ${docs.length} documents, ${windows.length} windows of ${nCtx} tokens`);
      return { data: { kind: 'lm', train, eval: ev } };
    }
    const documents = req.examples ?? 20000;
    const corpus = generateCorpus({ seed, documents });
    const windows = packForLm(corpus, nCtx, tokenizer.eosId);
    const { train, eval: ev } = splitHeldOut(windows, 0.05, seed + 1);
    say(`built-in world: ${documents} documents, ${windows.length} windows of ${nCtx} tokens`);
    return { data: { kind: 'lm', train, eval: ev } };
  }
  const limits = pairLimits(nCtx, { maxLength: req.maxLength, maxPrompt: req.maxPromptLength }, !req.pairs);
  let split: { train: TokenizedPair[]; eval: TokenizedPair[] };
  let task: string;
  let cut: { prompts: number; responses: number };
  if (req.pairs) {
    const file = preferenceFileData(req.pairs, tokenizer, limits, seed, say);
    split = file;
    cut = { prompts: file.truncatedPrompts, responses: file.truncatedResponses };
    task = `file:${req.pairs}`;
  } else {
    const name = req.task ?? 'toxicity';
    const n = req.examples ?? 2000;
    // At least 256 held-out pairs, so that `compare`'s 256 scored pairs are never training prompts.
    const t = preferenceTask(name, { seed: 1000 + seed, train: n, eval: Math.max(256, Math.floor(n / 8)) });
    const [tr, ev] = [t.train, t.eval].map((pairs) => tokenizePairsReport(pairs, tokenizer, limits));
    split = { train: tr.pairs, eval: ev.pairs };
    cut = {
      prompts: tr.truncatedPrompts + ev.truncatedPrompts,
      responses: tr.truncatedResponses + ev.truncatedResponses,
    };
    task = name;
  }
  say(`${task}: ${split.train.length} training pairs, ${split.eval.length} held-out pairs`);
  const truncation = { ...limits, truncatedPrompts: cut.prompts, truncatedResponses: cut.responses };
  say(
    `truncation as TRL's (max length ${limits.maxLength}, max prompt length ${limits.maxPrompt}): ${cut.prompts} prompt${cut.prompts === 1 ? '' : 's'} cut from the left, ${cut.responses} pair${cut.responses === 1 ? '' : 's'} with responses cut from the right`,
  );
  return { data: { kind: 'pairs', ...split }, task, truncation };
}

/** Trains one run in a project (see the module comment). */
export async function trainOp(
  project: Project,
  req: TrainRequest,
  reporter: Reporter,
  signal?: AbortSignal,
): Promise<TrainResult> {
  return withLock(project.dir, 'run', req.name, async (stale) => {
    if (stale) {
      markInterrupted(project.store, req.name, stale.pid);
      reporter.message(`run '${req.name}': its process ${stale.pid} ended without finishing; resuming it`);
    }
    const train = async (): Promise<TrainResult> => {
      const backend = { ...(await initBackend(req.backend ?? 'auto')) };
      // On wasm, big matrix products can use a second core through our GEMM worker (bit-identical results).
      const threads =
        backend.backend === 'wasm' ? (req.threads ?? (availableParallelism() >= 2 ? 2 : 1)) : undefined;
      if (threads === 2) await startWasmGemmWorker();
      if (threads) backend.threads = threads;
      try {
        return await trainWith(project, req, backend, reporter, signal);
      } finally {
        if (threads === 2) await stopWasmGemmWorker();
      }
    };
    // `--merge` also writes the checkpoint `{name}-merged`: hold that name too, so that a run of that name
    // cannot write it at the same time.
    return req.lora && req.merge ? withLock(project.dir, 'run', mergedName(req.name), train) : train();
  });
}

/** The checkpoint `--merge` writes beside a LoRA run's adapter. */
const mergedName = (name: string): string => `${name}-merged`;

/** The snapshot checkpoint of run `name` at step `step` (see `snapshotEvery`). */
export const snapshotName = (name: string, step: number): string => `${name}-step${step}`;

/** The steps a run of `steps` steps writes snapshots at: every `every` steps, the last step apart. */
export function snapshotSteps(steps: number, every: number | undefined): number[] {
  if (!every) return [];
  return Array.from({ length: Math.ceil(steps / every) - 1 }, (_, i) => (i + 1) * every);
}

/** The snapshot checkpoints registered for run `name` (written by that run), by step ascending. */
export function runSnapshots(project: Project, name: string): { step: number; checkpoint: string }[] {
  const prefix = `${name}-step`;
  return project.store.checkpoints
    .list()
    .filter((c) => c.runId === name && c.name.startsWith(prefix) && /^\d+$/.test(c.name.slice(prefix.length)))
    .map((c) => ({ step: Number(c.name.slice(prefix.length)), checkpoint: c.name }))
    .sort((a, b) => a.step - b.step);
}

async function trainWith(
  project: Project,
  req: TrainRequest,
  backend: BackendInfo,
  reporter: Reporter,
  signal?: AbortSignal,
): Promise<TrainResult> {
  const say = (t: string) => reporter.message(t);
  const seed = req.seed ?? 0;
  const runId = req.name;
  const runDir = project.runDir(runId);
  const ckDir = project.checkpointDir(req.name);
  if (req.restart) {
    rmSync(runDir, { recursive: true, force: true });
    for (const { checkpoint } of runSnapshots(project, runId)) {
      rmSync(project.checkpointDir(checkpoint), { recursive: true, force: true });
      project.store.checkpoints.remove(checkpoint);
    }
    project.store.runs.remove(runId);
  }

  let parent: LoadedCheckpoint | null = null;
  let config: ModelConfig;
  let tokenizer: Tokenizer;
  let arrays;
  if (req.stage === 'pretrain') {
    if (req.init) {
      parent = loadCheckpoint(resolveCheckpoint(project, req.init).dir);
      ({ config, tokenizer, arrays } = parent);
    } else {
      tokenizer = req.corpus ? new Gpt2BpeTokenizer() : worldTokenizer();
      const gpt = gptConfig({
        vocabSize: tokenizer.vocabSize,
        ...WORLD_MODEL,
        ...req.model,
        bosTokenId: tokenizer.eosId,
        eosTokenId: tokenizer.eosId,
      });
      config = gpt;
      arrays = initParamArrays(gpt, seed);
    }
  } else {
    if (!req.init)
      throw new Error(`stage '${req.stage}' fine-tunes a checkpoint: give init (e.g. --init base)`);
    parent = loadCheckpoint(resolveCheckpoint(project, req.init).dir);
    ({ config, tokenizer, arrays } = parent);
  }
  const lora = loraOf(req, config);
  if (lora && !parent) throw new Error('lora fine-tunes a checkpoint: give init (e.g. --init base)');
  if (lora && config.lora) {
    throw new Error(
      `init '${req.init}' is a LoRA adapter: train a new adapter on its base, or on its merged model (--merge writes one)`,
    );
  }
  // Full fine-tuning of an adapter checkpoint trains its merged weights.
  if (config.lora) ({ config, arrays } = mergedModel(config as LoraConfig, arrays));
  const given = req.ref ? loadCheckpoint(resolveCheckpoint(project, req.ref).dir) : null;
  const ref = given?.config.lora
    ? { ...given, ...mergedModel(given.config as LoraConfig, given.arrays) }
    : given;
  if (ref && parent && ref.config.vocabSize !== parent.config.vocabSize) {
    throw new Error(`reference '${req.ref}' and parent '${req.init}' have different vocabularies`);
  }
  const { data, task, truncation } = buildData(req, tokenizer, config.nCtx, seed, say);
  const pref = req.stage === 'dpo' || req.stage === 'decpo' || req.stage === 'simpo' || req.stage === 'l1';
  const objective = pref
    ? preferenceObjective({
        stage: req.stage as 'dpo',
        ...(req.beta !== undefined && { beta: req.beta }),
        ...(req.lossType && { lossType: req.lossType }),
        ...(req.labelSmoothing !== undefined && { labelSmoothing: req.labelSmoothing }),
        ...(req.logpAgg && { logpAgg: req.logpAgg }),
        ...(req.regularizer && { regularizer: req.regularizer }),
        ...(req.lambda !== undefined && { lambda: req.lambda }),
        layer: req.layer ?? Math.floor(config.nLayer / 2),
        tap: req.tap ?? defaultTap(config),
        ...(req.simpoGamma !== undefined && { simpoGamma: req.simpoGamma }),
      })
    : undefined;
  const spec = runSpec({
    stage: req.stage,
    seed,
    ...(req.steps !== undefined && { steps: req.steps }),
    ...(req.batchSize !== undefined && { batchSize: req.batchSize }),
    ...(req.lr !== undefined && { lr: req.lr }),
    ...(req.warmup !== undefined && { warmup: req.warmup }),
    ...(req.evalEvery !== undefined && { evalEvery: req.evalEvery }),
    ...(req.checkpointEvery !== undefined && { checkpointEvery: req.checkpointEvery }),
    ...(req.microBatch !== undefined && { microBatch: req.microBatch }),
    objective,
    lora,
  });
  const trained = lora ? adapterParamSpecs({ ...config, lora }) : null;
  const nParams = trained ? trained.reduce((s, p) => s + p.shape[0] * p.shape[1], 0) : countParams(config);
  const merged = lora && req.merge ? mergedName(req.name) : undefined;
  if (merged) {
    // Never overwrite a checkpoint another run (or the user) put under that name.
    const owner = project.store.checkpoints.get(merged);
    if ((owner && owner.runId !== runId) || project.store.runs.get(merged))
      throw new Error(
        `--merge writes the checkpoint '${merged}', but that name is taken by ${owner ? 'a checkpoint' : 'a run'} of the project; choose another run name`,
      );
  }
  const snapshots = snapshotSteps(spec.steps, req.snapshotEvery).map((n) => snapshotName(req.name, n));
  for (const snap of snapshots) {
    // A snapshot never overwrites a checkpoint another run (or the user) put under its name.
    const owner = project.store.checkpoints.get(snap);
    if ((owner && owner.runId !== runId) || project.store.runs.get(snap))
      throw new Error(
        `snapshotEvery writes the checkpoint '${snap}', but that name is taken by ${owner ? 'a checkpoint' : 'a run'} of the project; choose another run name`,
      );
  }
  const existing = project.store.runs.get(runId);
  if (existing?.status === 'completed' && existsSync(ckDir)) {
    throw new Error(
      `run '${runId}' already completed and checkpoint '${req.name}' exists; choose another name or pass restart`,
    );
  }
  if (!existing) {
    project.store.runs.create({
      id: runId,
      stage: req.stage,
      task,
      config: { request: req, spec, model: config, ...(truncation && { truncation }) },
      backend,
      seed,
      parentCheckpoint: parent ? (req.init ?? undefined) : undefined,
    });
  } else {
    project.store.runs.setStatus(runId, 'running');
  }
  say(
    `${req.stage} '${req.name}': ${nParams.toLocaleString('en-US')} ${lora ? `LoRA parameters (r ${lora.r} on ${lora.targets.join(', ')}; base frozen)` : 'parameters'}, ${spec.steps} steps of ${spec.batchSize}${spec.microBatch ? ` in micro-batches of ${spec.microBatch}` : ''}, backend ${backend.backend} (${backend.device})`,
  );
  const stage = req.stage === 'pretrain' ? 'base' : req.stage;
  const meta = { stage, runId, parent: req.init, task, backend: backend.backend, extra: { objective, lora } };
  /** A model of the run in `dir`: the whole model, or the adapter (on its base); returns its hash. */
  const writeModel = (dir: string, m: FinalModel): string =>
    m.config.lora
      ? saveAdapter(dir, m.config as LoraConfig, m.arrays, {
          ...meta,
          step: m.step,
          base: { dir: resolve(parent!.dir), hash: parent!.hash },
        })
      : saveCheckpoint(dir, m.config, m.arrays, tokenizer, { ...meta, step: m.step });
  /** The final checkpoint (and with `merge` the merged model beside the adapter). */
  const writeFinal = (m: FinalModel): string => {
    if (merged && m.config.lora) {
      saveMergedCheckpoint(project.checkpointDir(merged), m.config as LoraConfig, m.arrays, tokenizer, {
        ...meta,
        step: m.step,
        extra: { ...meta.extra, mergedFrom: req.name },
      });
    }
    return writeModel(ckDir, m);
  };
  /** A snapshot, registered at once; a resumed run keeps the ones it already wrote. */
  const writeSnapshot = (m: FinalModel): void => {
    const name = snapshotName(req.name, m.step);
    const dir = project.checkpointDir(name);
    if (existsSync(dir) && project.store.checkpoints.get(name)?.runId === runId) return;
    register(project, name, dir, writeModel(dir, m), { stage, runId, parent: req.init });
  };
  let result: RunResult;
  try {
    result = await train(
      spec,
      {
        config,
        arrays,
        tokenizer,
        refArrays: ref?.arrays,
        refHash: (ref ?? parent)?.hash ?? `scratch-${seed}`,
      },
      data,
      {
        runDir,
        signal,
        final: writeFinal,
        ...(snapshots.length && { snapshot: { every: req.snapshotEvery!, write: writeSnapshot } }),
        onMessage: say,
        onStep: (step, m) => {
          project.store.runs.appendMetrics(runId, step, m);
          reporter.progress({ phase: req.stage, done: step, total: spec.steps, unit: 'step', metrics: m });
        },
        onEval: (step, m) => {
          project.store.runs.appendMetrics(runId, step, m);
          reporter.record?.('eval', { step, ...m });
        },
      },
    );
  } catch (e) {
    project.store.runs.setStatus(runId, 'failed', (e as Error).message);
    throw e;
  }
  if (result.peakMemory) {
    project.store.runs.setConfigField(runId, 'peakMemory', result.peakMemory);
    say(
      `peak memory of a step: ${mb(result.peakMemory.rssBytes)} MB peak RSS of the process; TF.js counts at most ${mb(result.peakMemory.tensorBytes)} MB of live tensors after the forward pass`,
    );
  }
  project.store.runs.setStatus(runId, result.status, result.message);
  if (result.status === 'completed') {
    register(project, req.name, ckDir, result.finalHash!, { stage, runId, parent: req.init });
    if (merged) {
      const dir = project.checkpointDir(merged);
      register(project, merged, dir, checkpointWeightsHash(dir)!, { stage, runId, parent: req.init });
    }
  }
  return {
    ...result,
    runId,
    checkpoint: req.name,
    checkpointDir: ckDir,
    ...(merged && { merged }),
    backend,
    params: nParams,
  };
}

/** An adapter checkpoint as the plain model of its merged weights. */
function mergedModel(cfg: LoraConfig, arrays: Map<string, NamedArray>) {
  return { config: baseConfig(cfg), arrays: mergeAdapter(cfg, arrays) };
}

const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(1);

/** Registers a checkpoint folder the run wrote. */
function register(
  project: Project,
  name: string,
  dir: string,
  hash: string,
  from: { stage: string; runId: string; parent?: string },
): void {
  const weights = describeWeights(dir);
  project.store.checkpoints.register({
    name,
    dir,
    hash,
    ...from,
    config: weights.config,
    arch: weights.config.arch,
    params: weights.params,
    dtype: weights.dtype,
    bytes: weights.bytes,
  });
}
