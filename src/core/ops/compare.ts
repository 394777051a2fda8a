/**
 * `monoscope compare`: base vs DPO vs DecPO (any checkpoints) side by side, one table per layer:
 * the monosemantic share, mean |corr|, the paper's feature decorrelation, sparsity and effective rank of the
 * MLP neurons on the probe set; SVCCA and RSA of each checkpoint's neurons to the base's; and, for models
 * of the built-in world, the held-out reward accuracy and margin against the base and the toxicity rate.
 * Every number comes from (and is kept in) the store, and so does the comparison itself, keyed by content:
 * the checkpoints' weights hashes, the probe's hash and the normalised options.
 */
import { checkpointWeightsHash, loadCheckpoint } from '../model/checkpoint.js';
import { expandTaps } from '../model/models.js';
import type { TaskName } from '../data/tasks.js';
import { DPO_BETA } from '../train/step.js';
import { parseInput, type OpParsed } from '../api.js';
import type { Project } from '../store/project.js';
import { correlationOp } from './correlation.js';
import { monosemanticityOp } from './monosemanticity.js';
import { sparsityOp } from './sparsity.js';
import { similarityOp } from './similarity.js';
import { scoreCheckpoint, type CheckpointScore } from './score.js';
import { resolveCheckpoint } from './checkpoints.js';
import { findRecording, probeHashOf, recordOp } from './record.js';
import { silentReporter, throwIfCancelled, type Reporter } from './progress.js';
import type { TapRef } from './tap.js';

export interface CompareRow {
  checkpoint: string;
  stage: string;
  tap: string;
  layer: number;
  monosemantic: number;
  polysemantic: number;
  dead: number;
  meanAbsCorr: number;
  decorrelation: number;
  fractionActive: number;
  hoyer: number;
  effectiveRank: number;
  svccaToBase: number;
  rsaToBase: number;
}

export interface CompareResult {
  base: string;
  taps: string[];
  rows: CompareRow[];
  /** Held-out reward metrics and the judge, per checkpoint (world models, or checkpoints trained on the task). */
  scores: CheckpointScore[];
  task: string;
  /** The probe set the per-layer numbers were computed on. */
  probeHash: string;
  /** The DPO beta of the reward columns, and the SVCCA mode of the similarity columns. */
  beta: number;
  svccaMode: 'svcca';
}

/** A tap's proxies as a comparison's row reads them. */
export type TapProxies = Omit<
  CompareRow,
  'checkpoint' | 'stage' | 'tap' | 'layer' | 'svccaToBase' | 'rsaToBase'
>;

/**
 * The proxies of one recorded tap: monosemantic, polysemantic and dead shares against the probe's concept
 * labels, mean |corr| and the paper's feature decorrelation, fraction active, Hoyer sparsity and effective
 * rank (each a stored analysis of the tap: monosemanticity, correlation, sparsity).
 */
export async function tapProxies(
  project: Project,
  ref: TapRef,
  reporter: Reporter = silentReporter,
  signal?: AbortSignal,
): Promise<TapProxies> {
  const mono = await monosemanticityOp(project, ref, {}, reporter, signal);
  const corr = await correlationOp(project, ref, reporter, signal);
  const sp = await sparsityOp(project, ref, reporter, signal);
  return {
    monosemantic: mono.result.shares.monosemantic,
    polysemantic: mono.result.shares.polysemantic,
    dead: mono.result.shares.dead,
    meanAbsCorr: corr.result.meanAbsOffDiagonal,
    decorrelation: corr.result.featureDecorrelation,
    fractionActive: sp.result.fractionActive,
    hoyer: sp.result.hoyer,
    effectiveRank: sp.result.effectiveRank,
  };
}

/** Scores a checkpoint on a built-in task, cached in the store by content hashes. */
export async function cachedScore(
  project: Project,
  name: string,
  base: string,
  task: TaskName,
  layer: number,
  reporter: Reporter,
): Promise<CheckpointScore> {
  const dir = resolveCheckpoint(project, name).dir;
  const refDir = resolveCheckpoint(project, base).dir;
  const ck = loadCheckpoint(dir);
  const ref = loadCheckpoint(refDir);
  const opts = {
    task,
    taskSeed: 1000,
    evalPairs: 256,
    refDir,
    layer,
    tap: 'mlp.post' as const,
    prompts: 128,
    maxNewTokens: 16,
    seed: 7,
  };
  const inputs = { checkpointHash: ck.hash, refHash: ref.hash, ...opts, refDir: undefined };
  const hit = project.store.analyses.get<CheckpointScore>('score', inputs);
  if (hit) return { ...hit.result, checkpoint: name };
  const s = await scoreCheckpoint(name, dir, opts, reporter);
  project.store.analyses.put('score', inputs, s);
  return s;
}

/** The checkpoints a comparison covers, the base first when it was not among them. */
function compared(req: OpParsed<'compare'>): { base: string; names: string[] } {
  const base = req.base ?? req.checkpoints[0];
  return { base, names: req.checkpoints.includes(base) ? req.checkpoints : [base, ...req.checkpoints] };
}

/**
 * The stored key of a comparison: the checkpoints' weights hashes (the base's apart), the tap pattern, the
 * probe's hash and the task. Undefined while a checkpoint has no weights or the probe's hash is unknown.
 */
function compareKey(project: Project, req: OpParsed<'compare'>) {
  const { base, names } = compared(req);
  const hashes = names.map((n) => checkpointWeightsHash(resolveCheckpoint(project, n).dir));
  const probeHash = probeHashOf(project, req.probe, base, true);
  if (!probeHash || hashes.some((h) => h === undefined)) return undefined;
  return {
    checkpoints: hashes,
    base: hashes[names.indexOf(base)],
    taps: req.taps,
    probeHash,
    task: req.task,
  };
}

/**
 * The stored comparison of these checkpoints' weights, or undefined. It names the checkpoints as `req` does
 * (the same weights may have been compared under other names).
 */
export function storedComparison(project: Project, req: OpParsed<'compare'>): CompareResult | undefined {
  const key = compareKey(project, req);
  const hit = key && project.store.analyses.get<CompareResult>('compare', key);
  if (!hit) return undefined;
  const { base, names } = compared(req);
  const r = hit.result;
  // Rows come in the order of the compared checkpoints, the same order as `names`.
  const storedNames = [...new Set(r.rows.map((x) => x.checkpoint))];
  const rename = new Map(storedNames.map((n, i) => [n, names[i]]));
  const name = (n: string) => rename.get(n) ?? n;
  return {
    ...r,
    base,
    rows: r.rows.map((x) => ({ ...x, checkpoint: name(x.checkpoint) })),
    scores: r.scores.map((x) => ({ ...x, checkpoint: name(x.checkpoint) })),
  };
}

/** Builds the comparison (see the module comment), or reads it from the store; stores what it builds. */
export async function compareOp(
  project: Project,
  req: OpParsed<'compare'>,
  reporter: Reporter = silentReporter,
  signal?: AbortSignal,
): Promise<CompareResult> {
  const stored = storedComparison(project, req);
  if (stored) return stored;
  const { base, names } = compared(req);
  const cks = names.map((n) => ({ name: n, ck: loadCheckpoint(resolveCheckpoint(project, n).dir) }));
  const cfg = cks[0].ck.config;
  for (const { name, ck } of cks) {
    if (ck.config.nLayer !== cfg.nLayer || ck.config.nInner !== cfg.nInner || ck.config.nEmbd !== cfg.nEmbd) {
      throw new Error(
        `compare: '${name}' has a different shape from '${cks[0].name}'; compare checkpoints of one model (use analyze match/svcca across models)`,
      );
    }
  }
  const taps = expandTaps(cfg, req.taps);
  // One forward pass per checkpoint records every tap (a no-op for taps already recorded).
  for (const { name } of cks) {
    throwIfCancelled(signal);
    await recordOp(
      project,
      parseInput('record', { checkpoint: name, probe: req.probe, taps: taps.join(',') }),
      reporter,
      signal,
    );
  }
  const rows: CompareRow[] = [];
  for (const tap of taps) {
    const layer = Number(tap.split('.')[1]);
    for (const { name, ck } of cks) {
      throwIfCancelled(signal);
      const ref = { checkpoint: name, tap, probe: req.probe };
      reporter.message(`compare: ${name} ${tap}`);
      const proxies = await tapProxies(project, ref, reporter, signal);
      const toBase = async (measure: 'svcca' | 'rsa') =>
        name === base
          ? 1
          : (
              await similarityOp(
                project,
                { a: { checkpoint: base, tap, probe: req.probe }, b: ref, measure, shuffles: 0, seed: 0 },
                reporter,
                signal,
              )
            ).score;
      rows.push({
        checkpoint: name,
        stage: ck.meta.stage,
        tap,
        layer,
        ...proxies,
        svccaToBase: await toBase('svcca'),
        rsaToBase: await toBase('rsa'),
      });
    }
  }
  const task = req.task;
  const scores: CheckpointScore[] = [];
  // The reward and judge columns mean something for the built-in world's models, and for any model whose
  // fine-tuned checkpoints were trained on the task (`demo --model`: real models on the task's English text).
  const onTask =
    cks.every(({ ck }) => ck.tokenizer.kind === 'word-level') ||
    cks.every(({ name, ck }) => name === base || ck.meta.task === task);
  if (task !== 'none' && onTask) {
    for (const { name } of cks) {
      throwIfCancelled(signal);
      scores.push(await cachedScore(project, name, base, task, Math.floor(cfg.nLayer / 2), reporter));
    }
  }
  const probeHash =
    findRecording(project, { checkpoint: base, tap: taps[0], probe: req.probe })?.probeHash ?? '';
  const result: CompareResult = {
    base,
    taps,
    rows,
    scores,
    task,
    probeHash,
    beta: DPO_BETA,
    svccaMode: 'svcca',
  };
  // The checkpoints are registered and recorded now, so the key is known.
  const key = compareKey(project, req);
  if (key) project.store.analyses.put('compare', key, result);
  return result;
}
