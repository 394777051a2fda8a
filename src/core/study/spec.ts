/**
 * The study's grid: from the `study` input to its cells (method variant x seed x task), each an ordinary
 * training request of the project, named by its content.
 *
 * - Built-in world: each seed pretrains its own base (the demo's base, `demoPlan`, with the cell's seed),
 *   and every method fine-tunes that base with the same seed (the same data order: the seeds pair the
 *   methods). Preference settings as the demo's: 150 steps of 16 pairs, lr 1e-4, beta 0.1, the task's
 *   default number of pairs, held-out margins logged about 10 times.
 * - `model`: the base is that checkpoint, and every method trains a LoRA adapter on it (as `modelDemoPlan`:
 *   rank 8, alpha 16, micro-batches of 4); the seed sets the adapter's init, dropout and data order.
 * - `pairs`: the file's pairs replace the built-in tasks; the cells' task is `file:BASENAME`.
 *
 * DecPO runs once per regularizer (`decpo` is `barlow`, the others `decpo-REG`), plus `decpo@layer=N` per
 * swept layer and `decpo@lambda=X` per swept lambda with the first regularizer; a sweep value equal to the
 * default is the default cell itself (same request, same checkpoint), kept once.
 *
 * A cell's checkpoint is `st-{task}-{kind}-s{seed}-{hash8}`, hash8 the first 8 hex digits of sha256 of its
 * training request without its name and backend (the request holds its base's name, so a changed base
 * changes its children; a `pairs` file and a given model enter by their content hashes). Identical cells of
 * two studies are the same checkpoint, and a changed spec adds only the cells whose requests changed.
 */
import { createHash } from 'node:crypto';
import { basename, resolve } from 'node:path';
import type { OpParsed } from '../api.js';
import type { ModelConfig } from '../model/architecture.js';
import { REGULARIZERS, STUDY_METHODS, TASK_NAMES, type StudyMethod } from '../names.js';
import { demoPlan } from '../ops/demo.js';
import { WORLD_MODEL, type TrainRequest } from '../ops/train.js';
import { canonicalJson } from '../store/analyses.js';
import { defaultTap } from '../train/step.js';
import type { StudyCell } from './types.js';

export type StudyRequest = OpParsed<'study'>;

/** A given model (`model`), as the project registered it. */
export interface GivenModel {
  name: string;
  /** Its weights' content hash. */
  hash: string;
  config: ModelConfig;
}

/** The study's settings: its input with every default applied (stored as the study's spec). */
export interface StudySpec {
  name: string;
  quick: boolean;
  methods: StudyMethod[];
  regularizers: (typeof REGULARIZERS)[number][];
  seeds: number;
  tasks: string[];
  pairs?: string;
  layer: number;
  lambda: number;
  layers?: number[];
  lambdas?: number[];
  model?: string;
  steps: number;
  pretrainSteps?: number;
  examples?: number;
  pretrainExamples?: number;
  modelShape?: StudyRequest['modelShape'];
  /** The built-in probe cut to this many tokens (then `probe` is that probe's hash). */
  probeTokens?: number;
  workers: number;
  backend: string;
  /** The tap kind whose neurons DecPO regularizes and the proxies read. */
  tap: string;
  /**
   * The probe set of the proxies: `builtin` for the world (or, with `probeTokens`, the hash of its cut, set
   * by the study op, which stores it), `english` for a given model.
   */
  probe: string;
}

/**
 * The sizes of the full and the quick grid (the `steps`, ... inputs override them). Both pretrain the
 * demo's base (the one the tasks are calibrated on, so the two grids share their bases); the quick grid
 * trains the methods for 60 steps on 960 pairs instead of 150 steps on the task's default.
 */
export const STUDY_SIZES = {
  full: { pretrainSteps: 500, pretrainExamples: 20000, steps: 150 },
  quick: { pretrainSteps: 500, pretrainExamples: 20000, steps: 60, examples: 960 },
} as const;

/** The study's default DecPO lambda. */
export const STUDY_LAMBDA = 1e-3;

/** Applies the defaults to a study input (`workers`: the default number of worker threads). */
export function studySpec(req: StudyRequest, workers: number, model?: GivenModel): StudySpec {
  const quick = !!req.quick;
  const sizes = quick ? STUDY_SIZES.quick : STUDY_SIZES.full;
  if (req.pairs && req.tasks) throw new Error('give either tasks or pairs, not both');
  if (req.probe && !model)
    throw new Error('probe applies to a given model (the built-in world is measured on its own probe)');
  if (model && (req.pretrainSteps || req.pretrainExamples || req.modelShape || req.probeTokens))
    throw new Error(
      'pretrainSteps, pretrainExamples, modelShape and probeTokens apply to the built-in world, not to model',
    );
  const nLayer = model ? model.config.nLayer : (req.modelShape?.nLayer ?? WORLD_MODEL.nLayer);
  const layer = req.layer ?? Math.floor(nLayer / 2);
  for (const l of [layer, ...(req.layers ?? [])])
    if (l >= nLayer) throw new Error(`layer ${l} does not exist (the model has blocks 0..${nLayer - 1})`);
  const quickExamples = quick && !model ? STUDY_SIZES.quick.examples : undefined;
  return {
    name: req.name ?? (quick ? 'quick' : 'study'),
    quick,
    methods: req.methods ?? [...STUDY_METHODS],
    regularizers: req.regularizers ?? ['barlow'],
    seeds: req.seeds ?? (quick ? 3 : 5),
    tasks: req.pairs ? [`file:${basename(req.pairs)}`] : (req.tasks ?? [TASK_NAMES[0]]),
    ...(req.pairs && { pairs: resolve(req.pairs) }),
    layer,
    lambda: req.lambda ?? STUDY_LAMBDA,
    ...(req.layers && { layers: req.layers }),
    ...(req.lambdas && { lambdas: req.lambdas }),
    ...(model && { model: model.name }),
    steps: req.steps ?? sizes.steps,
    ...(!model && {
      pretrainSteps: req.pretrainSteps ?? sizes.pretrainSteps,
      pretrainExamples: req.pretrainExamples ?? sizes.pretrainExamples,
    }),
    ...((req.examples ?? quickExamples) !== undefined && { examples: req.examples ?? quickExamples }),
    ...(req.modelShape && { modelShape: req.modelShape }),
    ...(req.probeTokens && { probeTokens: req.probeTokens }),
    workers: req.workers ?? workers,
    backend: req.backend ?? 'auto',
    tap: model ? defaultTap(model.config) : 'mlp.post',
    // A given model's probe: `english`, a stored probe's hash, or a text file (by its absolute path).
    probe: !model
      ? 'builtin'
      : req.probe === undefined || req.probe === 'english' || /^[0-9a-f]{16,64}$/.test(req.probe)
        ? (req.probe ?? 'english')
        : resolve(req.probe),
  };
}

/** A DecPO variant of the grid: its row label and settings. */
interface DecpoVariant {
  method: string;
  regularizer: (typeof REGULARIZERS)[number];
  layer: number;
  lambda: number;
}

/** The DecPO rows: one per regularizer, then the layer sweep and the lambda sweep (first regularizer). */
function decpoVariants(s: StudySpec): DecpoVariant[] {
  const label = (r: string) => (r === 'barlow' ? 'decpo' : `decpo-${r}`);
  const first = s.regularizers[0];
  return [
    ...s.regularizers.map((r) => ({ method: label(r), regularizer: r, layer: s.layer, lambda: s.lambda })),
    ...(s.layers ?? []).map((l) => ({
      method: `decpo@layer=${l}`,
      regularizer: first,
      layer: l,
      lambda: s.lambda,
    })),
    ...(s.lambdas ?? []).map((x) => ({
      method: `decpo@lambda=${x}`,
      regularizer: first,
      layer: s.layer,
      lambda: x,
    })),
  ];
}

/** A name part: letters, digits and '.', at most `max` characters. */
const slug = (text: string, max: number) => text.replace(/[^A-Za-z0-9.-]+/g, '').slice(0, max) || 'x';

/** The first 8 hex digits of sha256 of the canonical JSON of `value`. */
const hash8 = (value: unknown) => createHash('sha256').update(canonicalJson(value)).digest('hex').slice(0, 8);

/** The content of a request that names it: everything but its name and the backend it runs on. */
function contentOf(req: Record<string, unknown>, extra: Record<string, unknown>): Record<string, unknown> {
  const { name: _name, backend: _backend, ...rest } = req;
  return { ...rest, ...extra };
}

/**
 * A cell's checkpoint name: `st-{task}-{kind}-s{seed}-{hash8}` (kind: the stage, and DecPO's regularizer
 * other than barlow), at most 52 characters (a snapshot
 * appends `-step{N}` and names are at most 64).
 */
export function cellName(task: string, kind: string, seed: number, content: unknown): string {
  return `st-${slug(task.replace(/^file:/, 'f-'), 14)}-${slug(kind, 16)}-s${seed}-${hash8(content)}`;
}

/** The seed's base: the demo's pretraining with the study's sizes, named by its content. */
export function worldBase(s: StudySpec, seed: number): TrainRequest {
  const demo = demoPlan({ seed, backend: s.backend as 'auto' }).base;
  const steps = s.pretrainSteps!;
  const req = {
    ...demo,
    steps,
    warmup: Math.min(demo.warmup ?? 0, Math.floor(steps / 10)),
    examples: s.pretrainExamples!,
    evalEvery: Math.max(1, Math.floor(steps / 5)),
    checkpointEvery: Math.max(1, Math.floor(steps / 5)),
    ...(s.modelShape && { model: s.modelShape }),
  };
  return { ...req, name: cellName('world', 'base', seed, contentOf(req, {})) };
}

/** The bases the built-in world's grid pretrains, one per seed (none for a given model). */
export function studyBases(s: StudySpec): TrainRequest[] {
  return s.model ? [] : Array.from({ length: s.seeds }, (_, seed) => worldBase(s, seed));
}

/** How a cell is measured: its regularized block (the study's layer for the others), tap, probe and task. */
export function cellMeasure(s: StudySpec, c: StudyCell) {
  return {
    layer: c.layer ?? s.layer,
    tapKind: s.tap,
    probe: s.probe,
    task: c.task,
    ...(s.pairs && { pairs: s.pairs }),
  };
}

/**
 * The cells of a study (see the module comment), bases first; `pairsHash`: the content hash of the
 * `pairs` file.
 */
export function studyCells(s: StudySpec, model?: GivenModel, pairsHash?: string): StudyCell[] {
  const cells: StudyCell[] = [];
  const seen = new Set<string>();
  const add = (c: StudyCell) => {
    const key = `${c.checkpoint} ${c.task} ${c.seed}`;
    if (!seen.has(key)) cells.push(c);
    seen.add(key);
  };
  const evalEvery = Math.max(1, Math.round(s.steps / 10));
  for (let seed = 0; seed < s.seeds; seed++) {
    const base = model ? undefined : worldBase(s, seed);
    const baseName = model ? model.name : base!.name;
    for (const task of s.tasks) {
      if (s.methods.includes('base'))
        add({
          method: 'base',
          family: 'base',
          seed,
          task,
          checkpoint: baseName,
          base: baseName,
          ...(base && { train: base }),
        });
      const common = {
        seed,
        backend: s.backend,
        ...(s.pairs ? { pairs: s.pairs } : { task: task as (typeof TASK_NAMES)[number] }),
        init: baseName,
        steps: s.steps,
        batchSize: 16,
        lr: 1e-4,
        evalEvery,
        checkpointEvery: Math.max(1, Math.floor(s.steps / 3)),
        ...(s.examples !== undefined && { examples: s.examples }),
        ...(model && { lora: true, microBatch: 4 }),
      };
      const extra = { ...(model && { baseHash: model.hash }), ...(pairsHash && { pairsHash }) };
      const cell = (
        method: string,
        family: StudyMethod,
        req: Record<string, unknown>,
        decpo?: DecpoVariant,
      ): StudyCell => {
        // Named by content, not by label: a sweep value equal to the default is the default cell.
        const kind = decpo && decpo.regularizer !== 'barlow' ? `decpo-${decpo.regularizer}` : family;
        const train = { ...req, name: cellName(task, kind, seed, contentOf(req, extra)) };
        return {
          method,
          family,
          seed,
          task,
          ...(decpo && { regularizer: decpo.regularizer, layer: decpo.layer, lambda: decpo.lambda }),
          checkpoint: train.name,
          base: baseName,
          train,
        };
      };
      const pref = { ...common, beta: 0.1, layer: s.layer, tap: s.tap };
      // DPO and DecPO keep checkpoints along the run (the proxies over training, Figures 2-3).
      const snapshots = { snapshotEvery: Math.ceil(s.steps / 4) };
      for (const family of s.methods) {
        if (family === 'sft') add(cell('sft', 'sft', { ...common, stage: 'sft' }));
        if (family === 'dpo') add(cell('dpo', 'dpo', { ...pref, ...snapshots, stage: 'dpo' }));
        if (family === 'simpo' || family === 'l1') add(cell(family, family, { ...pref, stage: family }));
        if (family === 'decpo')
          for (const v of decpoVariants(s)) {
            const req = {
              ...pref,
              ...snapshots,
              stage: 'decpo',
              regularizer: v.regularizer,
              layer: v.layer,
              lambda: v.lambda,
            };
            add(cell(v.method, 'decpo', req, v));
          }
      }
    }
  }
  return cells;
}
