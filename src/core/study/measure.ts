/**
 * Measures one cell of a study (see `study/types.ts`), once per content: the cell's checkpoint, its base,
 * the snapshots its run wrote (`snapshotEvery`, ops/train.ts) and the probe set, with the task, the block
 * and the tap kind. Every number comes from an existing operation, and so from (and into) the store:
 * - the monosemanticity proxies of every block at the tap kind on the probe, as `compare` reads them
 *   (ops/compare.ts `tapProxies`: the monosemantic share against the probe's concept labels, mean |corr|,
 *   the paper's feature decorrelation FD, the fraction of active units, Hoyer sparsity and the effective
 *   rank), without compare's similarity to the base (SVCCA and RSA cost more than the proxies);
 * - held-out `rewards/accuracies` and `rewards/margins` against the cell's base and the task judge on
 *   sampled continuations of held-out prompts (`cachedScore`, ops/compare.ts), or for a preference file the
 *   reward metrics on the file's held-out split, split as the run's training split it;
 * - the proxies along the run (the base at step 0, each snapshot, the final step), and the reward margins
 *   the run logged under TRL's names.
 */
import { checkpointWeightsHash, hashFile, openCheckpoint } from '../model/checkpoint.js';
import { expandTaps } from '../model/models.js';
import { pairLimits, preferenceFileData } from '../data/jsonl.js';
import { builtinProbeSet, DEFAULT_PROBE } from '../data/probe.js';
import { ENGLISH_PROBE } from '../data/english-probe.js';
import { TASK_NAMES, type TaskName } from '../names.js';
import { parseInput } from '../api.js';
import type { Project } from '../store/project.js';
import { cachedScore, tapProxies, type TapProxies } from '../ops/compare.js';
import { resolveCheckpoint } from '../ops/checkpoints.js';
import { probeHashOf, recordOrWait } from '../ops/record.js';
import { heldOutRewards } from '../ops/score.js';
import { runSnapshots, type TrainRequest } from '../ops/train.js';
import { throwIfCancelled, type Reporter } from '../ops/progress.js';
import type { CellMetrics, StudyCell } from './types.js';

/** What a cell is measured on. */
export interface MeasureOptions {
  /** The block whose proxies are the unsuffixed ones (the regularized block). */
  layer: number;
  /** The tap kind of every block's proxies, e.g. `mlp.post`. */
  tapKind: string;
  /** The probe set of the proxies: `builtin` for the world's models, `english` for real models. */
  probe: string;
  /** The built-in task of the reward metrics and the judge (or `file:NAME` with `pairs`). */
  task: string;
  /** A preference JSONL file: reward metrics on its held-out split, no judge. */
  pairs?: string;
}

/** Bumped whenever what a measurement computes changes, so that stored measurements are not served. */
export const MEASURE_VERSION = 1;

/** A tap's proxies (ops/compare.ts `tapProxies`) under the study's metric names. */
const PROXIES: Record<string, (p: TapProxies) => number> = {
  mono_share: (p) => p.monosemantic,
  mean_abs_corr: (p) => p.meanAbsCorr,
  fd: (p) => p.decorrelation,
  fraction_active: (p) => p.fractionActive,
  hoyer: (p) => p.hoyer,
  effective_rank: (p) => p.effectiveRank,
};

/** Preference families: their cells have a trajectory and logged margins. */
const PREFERENCE = new Set(['dpo', 'decpo', 'simpo', 'l1']);

/** The checkpoints a cell's measurement reads: its base, its run's snapshots by step, itself. */
function cellCheckpoints(project: Project, cell: StudyCell) {
  const own = cell.checkpoint !== cell.base;
  return {
    own,
    snapshots: own && PREFERENCE.has(cell.family) ? runSnapshots(project, cell.checkpoint) : [],
  };
}

/** The `english` probe's hash per base folder and weights: tokenizing it takes about 0.4 s a call. */
const englishHashes = new Map<string, string>();

/** The hash of the probe a cell is measured on (resolved on its base, as recording resolves it). */
function probeHash(project: Project, probe: string, base: string): string | undefined {
  if (probe !== ENGLISH_PROBE) return probeHashOf(project, probe, base, true);
  const dir = resolveCheckpoint(project, base).dir;
  const key = `${dir}\n${checkpointWeightsHash(dir)}`;
  const hit = englishHashes.get(key);
  if (hit) return hit;
  const hash = probeHashOf(project, probe, base, true)!;
  englishHashes.set(key, hash);
  return hash;
}

/**
 * The stored key of a cell's measurement: the weights hashes of the checkpoint, its base and its snapshots,
 * the probe's hash, the task (and the pairs file's content hash), the block, the tap kind and
 * {@link MEASURE_VERSION}. Undefined while a checkpoint has no weights or the probe's hash is unknown.
 */
function cellKey(project: Project, cell: StudyCell, o: MeasureOptions) {
  const hash = (name: string) => checkpointWeightsHash(resolveCheckpoint(project, name).dir);
  const { snapshots } = cellCheckpoints(project, cell);
  const hashes = [cell.checkpoint, cell.base, ...snapshots.map((s) => s.checkpoint)].map(hash);
  const probe = probeHash(project, o.probe, cell.base);
  if (!probe || hashes.some((h) => h === undefined)) return undefined;
  return {
    checkpoint: hashes[0],
    base: hashes[1],
    snapshots: snapshots.map((s, i) => ({ step: s.step, hash: hashes[i + 2] })),
    probe,
    task: o.task,
    pairs: o.pairs && hashFile(o.pairs),
    layer: o.layer,
    tapKind: o.tapKind,
    version: MEASURE_VERSION,
  };
}

/**
 * Stores the built-in world's probe set cut to `tokens` tokens (the seed of `builtin`, sequences of `nCtx`
 * tokens) and returns its hash, which {@link MeasureOptions} `probe` takes: a smaller probe for a study's
 * many checkpoints (recording and the per-block analyses scale with the probe's tokens).
 */
export function worldProbeAt(project: Project, nCtx: number, tokens: number): string {
  const probe = builtinProbeSet({ ...DEFAULT_PROBE, tokens, nCtx });
  project.store.probes.put(probe);
  return probe.hash;
}

/** {@link worldProbeAt} at the context of `checkpoint`. */
export function worldProbe(project: Project, checkpoint: string, tokens: number): string {
  const nCtx = openCheckpoint(resolveCheckpoint(project, checkpoint).dir).config.nCtx;
  return worldProbeAt(project, nCtx, tokens);
}

/** The stored measurement of this cell's content, or undefined (nothing is computed). */
export function storedCellMetrics(
  project: Project,
  cell: StudyCell,
  o: MeasureOptions,
): CellMetrics | undefined {
  const key = cellKey(project, cell, o);
  return key && project.store.analyses.get<CellMetrics>('study-cell', key)?.result;
}

/**
 * The proxies of every block of a checkpoint at the tap kind, as `NAME@LAYER`, and unsuffixed for block
 * `o.layer`. One forward pass records every block (as `compare` does), after any other writer of the same
 * recording (another cell's worker measuring the same base) is done; each tap's analyses are stored.
 */
async function checkpointProxies(
  project: Project,
  checkpoint: string,
  o: MeasureOptions,
  reporter: Reporter,
  signal?: AbortSignal,
): Promise<Record<string, number>> {
  const taps = expandTaps(
    openCheckpoint(resolveCheckpoint(project, checkpoint).dir).config,
    `blocks.*.${o.tapKind}`,
  );
  reporter.message(`measure: proxies of ${checkpoint} (${taps.join(', ')})`);
  await recordOrWait(
    project,
    parseInput('record', { checkpoint, probe: o.probe, taps: taps.join(',') }),
    reporter,
    signal,
  );
  const out: Record<string, number> = {};
  for (const tap of taps) {
    throwIfCancelled(signal);
    const layer = Number(tap.split('.')[1]);
    const p = await tapProxies(project, { checkpoint, tap, probe: o.probe }, reporter, signal);
    for (const [name, of] of Object.entries(PROXIES)) {
      out[`${name}@${layer}`] = of(p);
      if (layer === o.layer) out[name] = of(p);
    }
  }
  if (!('fd' in out)) throw new Error(`measure: ${checkpoint} has no block ${o.layer} at ${o.tapKind}`);
  return out;
}

/**
 * Held-out reward metrics on a preference file's held-out split, as the cell's run split it (its seed and
 * its truncation limits: ops/train.ts `buildData`).
 */
async function fileRewards(project: Project, cell: StudyCell, file: string, reporter: Reporter) {
  const run = project.store.runs.get(cell.checkpoint);
  if (!run) throw new Error(`measure: '${cell.checkpoint}' has no run to take the split of ${file} from`);
  const req = run.config.request as TrainRequest;
  const dir = resolveCheckpoint(project, cell.checkpoint).dir;
  const ck = openCheckpoint(dir);
  const limits = pairLimits(ck.config.nCtx, { maxLength: req.maxLength, maxPrompt: req.maxPromptLength });
  const split = preferenceFileData(file, ck.tokenizer, limits, run.seed, (t) => reporter.message(t));
  return heldOutRewards(dir, resolveCheckpoint(project, cell.base).dir, split.eval);
}

/** The reward margins the cell's run logged (TRL's `rewards/margins`, `eval_rewards/margins`), by step. */
function loggedMargins(project: Project, cell: StudyCell): CellMetrics['margins'] {
  if (!PREFERENCE.has(cell.family) || !project.store.runs.get(cell.checkpoint)) return [];
  const s = project.store.runs.series(cell.checkpoint, ['rewards/margins', 'eval_rewards/margins']);
  const byStep = new Map<number, CellMetrics['margins'][number]>();
  const at = (step: number) => byStep.get(step) ?? byStep.set(step, { step }).get(step)!;
  s['rewards/margins']?.steps.forEach((step, i) => (at(step).train = s['rewards/margins'].values[i]));
  s['eval_rewards/margins']?.steps.forEach(
    (step, i) => (at(step).eval = s['eval_rewards/margins'].values[i]),
  );
  return [...byStep.values()].sort((a, b) => a.step - b.step);
}

/** Measures a cell (see the module comment), or reads its stored measurement; stores what it measures. */
export async function measureCell(
  project: Project,
  cell: StudyCell,
  o: MeasureOptions,
  reporter: Reporter,
  signal?: AbortSignal,
): Promise<CellMetrics> {
  const stored = storedCellMetrics(project, cell, o);
  if (stored) return stored;
  const { own, snapshots } = cellCheckpoints(project, cell);
  const of = (checkpoint: string) => checkpointProxies(project, checkpoint, o, reporter, signal);
  const proxies = await of(cell.checkpoint);
  const values = { ...proxies };

  throwIfCancelled(signal);
  if (o.pairs) {
    if (own) {
      const r = await fileRewards(project, cell, o.pairs, reporter);
      Object.assign(values, { reward_accuracy: r.accuracy, reward_margin: r.margin });
    }
  } else {
    if (!(TASK_NAMES as readonly string[]).includes(o.task))
      throw new Error(`measure: task '${o.task}' is not a built-in task; give pairs for a preference file`);
    reporter.message(`measure ${cell.checkpoint}: held-out rewards and the ${o.task} judge`);
    const s = await cachedScore(project, cell.checkpoint, cell.base, o.task as TaskName, o.layer, reporter);
    if (own) Object.assign(values, { reward_accuracy: s.rewardAccuracy, reward_margin: s.rewardMargin });
    values[s.judgeMetric] = s.judgeValue;
  }

  const trajectory: CellMetrics['trajectory'] = [];
  if (own && PREFERENCE.has(cell.family)) {
    trajectory.push({ step: 0, values: await of(cell.base) });
    for (const s of snapshots) trajectory.push({ step: s.step, values: await of(s.checkpoint) });
    const final = openCheckpoint(resolveCheckpoint(project, cell.checkpoint).dir).meta.step;
    trajectory.push({ step: final ?? 0, values: proxies });
  }
  const key = cellKey(project, cell, o)!;
  const metrics: CellMetrics = {
    values,
    layer: o.layer,
    trajectory,
    margins: loggedMargins(project, cell),
    hashes: { checkpoint: key.checkpoint!, base: key.base!, probe: key.probe },
  };
  project.store.analyses.put('study-cell', key, metrics);
  return metrics;
}
