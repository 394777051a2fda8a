/**
 * Sparse autoencoders on a tap: training one under a name (`DIR/saes/NAME`), the record of each, and the
 * content identity of its weights. The record of an SAE is found by its name; what is computed from an SAE
 * (matches, subspaces) is keyed by its weights hash, so retraining it never serves an old result.
 */
import { withLock } from '../store/locks.js';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Rng } from '../model/rng.js';
import {
  trainSae,
  evaluateSae,
  saveSae,
  resolveSaeConfig,
  takeRows,
  type SaeKind,
  type SaeMetrics,
} from '../analysis/index.js';
import { canonicalJson } from '../store/analyses.js';
import { ApiError, type OpParsed, type TapRef } from '../api.js';
import type { Project } from '../store/project.js';
import { loadTap, tapKey, usableRows, type TapData, type TapKey } from './tap.js';
import { silentReporter, stepProgress, trainingCurve, type Reporter } from './progress.js';

/** The training settings of an SAE with every default applied (what makes two SAEs the same model). */
export interface SaeSettings {
  kind: SaeKind;
  latents: number;
  steps: number;
  batchSize: number;
  lr: number;
  seed: number;
  /** TopK only. */
  k?: number;
  /** ReLU+L1 only. */
  l1?: number;
}

/** The settings of an SAE or a crosscoder of kind `K` (an SAE's are {@link SaeSettings}). */
export type DictionarySettings<K extends string> = Omit<SaeSettings, 'kind'> & { kind: K };

export interface SaeRecord {
  name: string;
  dir: string;
  ref: TapRef;
  kind: SaeKind;
  dIn: number;
  dSae: number;
  /** The tap it was trained on, by content. */
  source: TapKey;
  settings: SaeSettings;
  /**
   * sha256 of its saved files (weights and config): what analyses of this SAE are keyed by. Absent only for
   * an SAE recorded before weights hashes whose files are gone.
   */
  weightsHash?: string;
  metrics: SaeMetrics;
  /** Training loss every 10 steps. */
  curve: { step: number; loss: number; mse: number; deadLatents: number }[];
  seconds: number;
  tokensPerS: number;
  /**
   * An SAE brought in by `sae.import` (ops/sae-io.ts) rather than trained: where from. Its `settings` then
   * hold its kind, latents and k with steps, batch size, lr and seed 0 (no training), `curve` is empty and
   * `metrics` are on every usable token of the probe.
   */
  imported?: SaeImport;
}

/** Where an imported SAE came from. */
export interface SaeImport {
  format: 'saelens' | 'gemma-scope';
  /** The files read (absolute paths). */
  files: string[];
  /** The architecture as the files name it. */
  architecture: string;
  /** sha256 of the files read: the same name, tap and files import once. */
  filesHash: string;
  /** The hook the files name (TransformerLens spelling), when they name one. */
  hookName?: string;
  modelName?: string;
}

/** sha256 (hex) of an SAE's saved files: the weights, then the config (its input scale is part of the model). */
export function saeWeightsHash(dir: string): string {
  const h = createHash('sha256');
  for (const f of ['sae_weights.safetensors', 'cfg.json']) h.update(readFileSync(join(dir, f)));
  return h.digest('hex');
}

/**
 * The settings that make two dictionaries (SAEs, crosscoders) the same model, from their resolved training
 * config: `k` for the top-k kinds, the L1 coefficient otherwise.
 */
export function dictionarySettings<K extends string>(
  c: {
    kind: K;
    dSae: number;
    steps: number;
    batchSize: number;
    lr: number;
    seed: number;
    k: number;
    l1Coefficient: number;
  },
  topK: boolean,
): DictionarySettings<K> {
  const common = {
    kind: c.kind,
    latents: c.dSae,
    steps: c.steps,
    batchSize: c.batchSize,
    lr: c.lr,
    seed: c.seed,
  };
  return topK ? { ...common, k: c.k } : { ...common, l1: c.l1Coefficient };
}

/**
 * The training config of a dictionary's settings (stored ones: the inverse of {@link dictionarySettings}), or
 * of a training request, whose settings carry the same names and may leave defaults out.
 */
export function dictionaryConfig<K extends string>(
  s: Pick<DictionarySettings<K>, 'kind' | 'latents' | 'k' | 'l1'> &
    Partial<Pick<DictionarySettings<K>, 'steps' | 'batchSize' | 'lr' | 'seed'>>,
) {
  return {
    kind: s.kind,
    dSae: s.latents,
    k: s.k,
    l1Coefficient: s.l1,
    steps: s.steps,
    batchSize: s.batchSize,
    lr: s.lr,
    seed: s.seed,
  };
}

/**
 * Whether the dictionary stored as `old` under a name about to be written in `dir` is returned as it is: yes
 * when it was made the same way (`same`) and its files are intact (weights hash); a different one is refused
 * with `conflict` unless `overwrite`, and then (as a damaged one) is replaced.
 */
export function reuseStored(
  old: { weightsHash?: string },
  dir: string,
  same: boolean,
  overwrite: boolean,
  conflict: string,
): boolean {
  if (same && existsSync(join(dir, 'cfg.json')) && saeWeightsHash(dir) === old.weightsHash) return true;
  if (!same && !overwrite) throw new ApiError('conflict', conflict);
  return false;
}

/**
 * A tap's usable rows (non-special tokens) split for a dictionary's training: 10% of them held out for its
 * metrics (at least one row), drawn by `seed`; both parts in row order.
 */
export function heldOutSplit(
  t: TapData,
  seed: number,
): { rows: Int32Array; evalRows: Int32Array; trainRows: Int32Array } {
  const rows = usableRows(t, undefined, seed);
  const order = new Rng(seed).shuffle(Array.from(rows));
  const nEval = Math.max(1, Math.floor(order.length / 10));
  return {
    rows,
    evalRows: Int32Array.from(order.slice(0, nEval).sort((a, b) => a - b)),
    trainRows: Int32Array.from(order.slice(nEval).sort((a, b) => a - b)),
  };
}

/** The settings of a training request over a tap of `dIn` columns, defaults applied. */
export function saeSettings(req: OpParsed<'sae.train'>, dIn: number): SaeSettings {
  const c = resolveSaeConfig({ ...dictionaryConfig(req), dIn });
  return dictionarySettings(c, c.kind === 'topk');
}

/**
 * The records of a kind of dictionary kept one per name in the store (`sae`, `crosscoder`): `get` (undefined
 * when there is none), `list` (newest first), `find` (fails with how to make one) and `put`. `read` completes
 * a stored record as it is read.
 */
export function namedRecords<R extends { name: string }>(
  kind: string,
  what: string,
  command: string,
  read: (r: R) => R = (r) => r,
) {
  const get = (project: Project, name: string): R | undefined => {
    const r = project.store.analyses.get<R>(kind, { name })?.result;
    return r && read(r);
  };
  return {
    get,
    list: (project: Project): R[] =>
      project.store.analyses
        .list(kind)
        .map((a) => get(project, String(a.inputs.name)))
        .filter((r): r is R => !!r),
    find(project: Project, name: string): R {
      const r = get(project, name);
      if (!r)
        throw new ApiError(
          'not-found',
          `no ${what} named '${name}' in ${project.dir} (train one with \`${command}\`)`,
        );
      return r;
    },
    put: (project: Project, r: R) => project.store.analyses.put(kind, { name: r.name }, r),
  };
}

/** The SAEs: a record from before weights hashes gets its hash from its files. */
const saes = namedRecords<SaeRecord>('sae', 'SAE', 'monoscope analyze sae', (r) =>
  !r.weightsHash && existsSync(join(r.dir, 'cfg.json')) ? { ...r, weightsHash: saeWeightsHash(r.dir) } : r,
);
/** The SAE named `name`, or undefined. */
export const getSae = saes.get;
/** The SAEs of the project, newest first. */
export const listSaes = saes.list;
/** The SAE named `name`; fails when there is none. */
export const findSae = saes.find;

/** Deletes what was computed from an SAE's weights (matches and subspaces that name its weights hash). */
export function dropAnalysesOfSae(project: Project, weightsHash: string): number {
  let n = 0;
  for (const kind of ['match', 'subspaces']) {
    for (const a of project.store.analyses.list(kind)) {
      if (a.inputs.saeA === weightsHash || a.inputs.saeB === weightsHash)
        n += project.store.analyses.remove(a.key);
    }
  }
  return n;
}

/**
 * Trains an SAE on a tap (held-out 10% of the non-special tokens for its metrics), saves it under
 * `DIR/saes/NAME`. The same name with the same settings on the same tap returns the existing SAE; the same
 * name with other settings is refused unless `overwrite`, which also drops what was computed from the old
 * weights.
 */
export async function saeTrainOp(
  project: Project,
  req: OpParsed<'sae.train'>,
  reporter: Reporter = silentReporter,
  signal?: AbortSignal,
): Promise<SaeRecord> {
  const t = await loadTap(project, req.ref, reporter, signal);
  const source = tapKey(t.rec);
  const settings = saeSettings(req, t.x.cols);
  // One writer per SAE name: a second `sae.train` of the same name while this one runs is refused (locked).
  return withLock(project.dir, 'sae', req.name, async () => {
    const dir = join(project.saesDir, req.name);
    const old = getSae(project, req.name);
    if (old) {
      const same =
        canonicalJson({ source, settings }) === canonicalJson({ source: old.source, settings: old.settings });
      const refusal = `an SAE named '${req.name}' exists, trained with other settings or on other activations; pick another name, or overwrite it (--overwrite) to replace it and drop what was computed from it`;
      if (reuseStored(old, dir, same, req.overwrite, refusal)) return old;
      if (old.weightsHash) dropAnalysesOfSae(project, old.weightsHash);
    }
    const record = trainSaeOnTap(t, req.ref, req.name, dir, settings, reporter);
    saes.put(project, record);
    return record;
  });
}

/**
 * Trains an SAE with `settings` on the tap `t` (held out for its metrics: a seeded 10% of the non-special
 * tokens), saves it in `dir` and returns its record under `name` (the caller stores it).
 */
export function trainSaeOnTap(
  t: TapData,
  ref: TapRef,
  name: string,
  dir: string,
  settings: SaeSettings,
  reporter: Reporter = silentReporter,
): SaeRecord {
  const { evalRows, trainRows } = heldOutSplit(t, settings.seed);
  const started = performance.now();
  const { sae, log } = trainSae(
    takeRows(t.x, trainRows),
    { ...dictionaryConfig(settings), dIn: t.x.cols },
    stepProgress(reporter, `sae ${name}`, settings.steps),
  );
  const seconds = (performance.now() - started) / 1000;
  const metrics = evaluateSae(sae, takeRows(t.x, evalRows));
  mkdirSync(dirname(dir), { recursive: true });
  saveSae(dir, sae, {
    tap: ref.tap,
    checkpoint: ref.checkpoint,
    checkpointHash: t.rec.checkpointHash,
    probeHash: t.rec.probeHash,
  });
  return {
    name,
    dir,
    ref,
    kind: settings.kind,
    dIn: t.x.cols,
    dSae: settings.latents,
    source: tapKey(t.rec),
    settings,
    weightsHash: saeWeightsHash(dir),
    metrics,
    curve: trainingCurve(log, settings.steps),
    seconds,
    tokensPerS: (settings.steps * settings.batchSize) / seconds,
  };
}
