/**
 * The `train` operation: builds a run from a request (stage, data, parent checkpoint, hyperparameters),
 * trains it with {@link train}, writes every step's metrics to the store as it goes, and registers the
 * final checkpoint. Re-running the same request resumes an interrupted run. A run holds the project's
 * `run` lock of its name while it trains, so a second writer of the same name is refused.
 */
import { existsSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { initBackend, type BackendInfo } from '../backend/index.js';
import { startWasmGemmWorker, stopWasmGemmWorker } from '../backend/wasm-threads.js';
import { gptConfig, initParamArrays, type GPTConfig } from '../model/arch/gpt2.js';
import type { ModelConfig } from '../model/architecture.js';
import { countParams } from '../model/models.js';
import { describeWeights, loadCheckpoint, type LoadedCheckpoint } from '../model/checkpoint.js';
import { resolveCheckpoint } from './checkpoints.js';
import { Gpt2BpeTokenizer } from '../model/tokenizers.js';
import type { Tokenizer } from '../model/tokenizer.js';
import { generateCorpus, worldTokenizer } from '../data/world.js';
import { packForLm, splitHeldOut } from '../data/batching.js';
import { pairLimits, preferenceFileData, tokenizePairsReport, type PairLimits } from '../data/jsonl.js';
import { preferenceTask } from '../data/tasks.js';
import { readTextCorpus } from '../data/corpus.js';
import type { TokenizedPair } from '../data/types.js';
import { runSpec, train, type RunResult, type TrainData } from '../train/loop.js';
import { preferenceObjective } from '../train/step.js';
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
  backend: BackendInfo;
  params: number;
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
  });
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
  const ref = req.ref ? loadCheckpoint(resolveCheckpoint(project, req.ref).dir) : parent;
  if (ref && ref !== parent && parent && ref.config.vocabSize !== parent.config.vocabSize) {
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
        ...(req.tap && { tap: req.tap }),
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
    objective,
  });
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
    `${req.stage} '${req.name}': ${countParams(config).toLocaleString('en-US')} parameters, ${spec.steps} steps of ${spec.batchSize}, backend ${backend.backend} (${backend.device})`,
  );
  let result: RunResult;
  try {
    result = await train(
      spec,
      { config, arrays, tokenizer, refArrays: ref?.arrays, refHash: ref?.hash ?? `scratch-${seed}` },
      data,
      {
        runDir,
        signal,
        final: {
          dir: ckDir,
          meta: {
            stage: req.stage === 'pretrain' ? 'base' : req.stage,
            runId,
            parent: req.init,
            task,
            backend: backend.backend,
            extra: { objective },
          },
        },
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
  project.store.runs.setStatus(runId, result.status, result.message);
  if (result.status === 'completed') {
    const weights = describeWeights(ckDir);
    project.store.checkpoints.register({
      name: req.name,
      dir: ckDir,
      hash: result.finalHash!,
      stage: req.stage === 'pretrain' ? 'base' : req.stage,
      runId,
      parent: req.init,
      config,
      arch: weights.config.arch,
      params: weights.params,
      dtype: weights.dtype,
      bytes: weights.bytes,
    });
  }
  return {
    ...result,
    runId,
    checkpoint: req.name,
    checkpointDir: ckDir,
    backend,
    params: countParams(config),
  };
}
