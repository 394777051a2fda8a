/**
 * Which files and folders an operation's input makes the engine read, and whether the app's renderer may
 * name them. The renderer is the least trusted part of the app: a path it sends must lie inside the open
 * project, or be one the main process got from its own file dialog ({@link PathGrants}). A checkpoint may
 * also be a name (a folder of the project's `checkpoints/`), and a probe `builtin`, `english` or a stored
 * probe's hash.
 */
import { resolve, sep } from 'node:path';
import { ENGLISH_PROBE } from '../core/data/english-probe.js';
import { realPath } from '../core/store/files.js';
import { Name, parseInput, type OpName, type OpParsed } from '../core/api.js';

/** A value of an input that may name something on disk, and how the engine resolves it. */
interface Ref {
  /** `checkpoint`: a name or a folder; `probe`: `builtin`, a stored hash, or a file; `file`: a file. */
  kind: 'checkpoint' | 'probe' | 'file';
  value: string | undefined;
}

const checkpoint = (value: string | undefined): Ref => ({ kind: 'checkpoint', value });
const file = (value: string | undefined): Ref => ({ kind: 'file', value });
const tapRef = (r: { checkpoint: string; probe?: string }): Ref[] => [
  checkpoint(r.checkpoint),
  { kind: 'probe', value: r.probe },
];

const nothing = (): Ref[] => [];

/**
 * What every operation's input names that the engine reads. Every operation is listed, so that a new one
 * cannot reach the engine from the renderer before it is decided here.
 */
const READS: { [N in OpName]: (i: OpParsed<N>) => Ref[] } = {
  'backends.list': nothing,
  'project.summary': nothing,
  'runs.list': nothing,
  'runs.metrics': nothing,
  'runs.import': (i) => [file(i.trainerState), checkpoint(i.checkpoint)],
  'checkpoints.list': nothing,
  'checkpoints.add': (i) => [checkpoint(i.path), checkpoint(i.base)],
  'recordings.list': nothing,
  'saes.list': nothing,
  // A stored analysis is found by the input of the operation that made it; it reads no file.
  'analyses.get': nothing,
  // Logged only: the file is never read.
  'figures.record': nothing,
  'figures.list': nothing,
  demo: (i) => [checkpoint(i.model), { kind: 'probe', value: i.probe }],
  universality: nothing,
  'crosscoder.train': (i) => [...i.checkpoints.map(checkpoint), { kind: 'probe', value: i.probe }],
  'crosscoders.list': nothing,
  'crosscoder.latent': nothing,
  'crosscoder.findings': nothing,
  'diff.lens': (i) => [checkpoint(i.a), checkpoint(i.b), { kind: 'probe', value: i.probe }],
  // An output folder is held to the same rule as an input: inside the project, or granted by a dialog.
  'sae.export': (i) => [file(i.out)],
  'sae.import': (i) => [file(i.from), ...tapRef(i)],
  'neuronpedia.export': (i) => [file(i.out)],
  study: (i) => [checkpoint(i.model), file(i.pairs), { kind: 'probe', value: i.probe }],
  'study.get': nothing,
  eval: (i) => [checkpoint(i.policy), checkpoint(i.ref), file(i.pairs)],
  sparsity: (i) => tapRef(i),
  train: (i) => [checkpoint(i.init), checkpoint(i.ref), file(i.pairs), file(i.corpus)],
  generate: (i) => [checkpoint(i.checkpoint)],
  record: (i) => [
    checkpoint(i.checkpoint),
    { kind: 'probe', value: i.probe },
    file(i.labels),
    file(i.lexicon),
  ],
  'neurons.table': (i) => tapRef(i),
  'neurons.page': (i) => tapRef(i.ref),
  'neurons.live': (i) => tapRef(i.ref),
  'neurons.counterparts': (i) => tapRef(i.ref),
  'correlation.matrix': (i) => [...tapRef(i.ref), checkpoint(i.diffWith)],
  'weights.proxy': (i) => [checkpoint(i.checkpoint)],
  compare: (i) => [...i.checkpoints.map(checkpoint), checkpoint(i.base), { kind: 'probe', value: i.probe }],
  similarity: (i) => [...tapRef(i.a), ...tapRef(i.b)],
  'sae.train': (i) => tapRef(i.ref),
  match: (i) => [...tapRef(i.a), ...tapRef(i.b)],
  subspaces: (i) => [...tapRef(i.a), ...tapRef(i.b)],
};

/** Whether a value names something inside the project without being a path (see the module comment). */
function isProjectName(ref: Ref & { value: string }): boolean {
  if (ref.kind === 'checkpoint') return Name.safeParse(ref.value).success;
  if (ref.kind === 'probe')
    return ref.value === 'builtin' || ref.value === ENGLISH_PROBE || /^[0-9a-f]{16,64}$/.test(ref.value);
  return false;
}

/**
 * The paths an operation's (valid) input makes the engine read, resolved as the engine resolves them
 * (against the working folder); names of the project's own things are left out.
 */
export function inputPaths(op: OpName, input: unknown): string[] {
  const reads = READS[op] as (i: unknown) => Ref[];
  return reads(parseInput(op, input)).flatMap((ref) =>
    ref.value && !isProjectName({ ...ref, value: ref.value }) ? [resolve(ref.value)] : [],
  );
}

/** Whether `path` is `dir` or lies inside it, once both are real paths. */
export function isInside(path: string, dir: string): boolean {
  const p = realPath(path);
  const d = realPath(dir);
  return p === d || p.startsWith(d.endsWith(sep) ? d : d + sep);
}

/** The files and folders the main process got from its own file dialogs: the renderer may name these. */
export class PathGrants {
  private readonly granted = new Set<string>();

  /** Records a path a dialog returned (a folder grants what lies inside it). */
  grant(path: string): void {
    this.granted.add(resolve(path));
  }

  /** Whether `path` lies inside the project folder `projectDir` or inside a granted path. */
  allows(path: string, projectDir: string): boolean {
    return isInside(path, projectDir) || [...this.granted].some((g) => isInside(path, g));
  }
}
