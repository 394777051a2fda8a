/**
 * Checkpoint references: every input that names a checkpoint takes a checkpoint name of the project or a
 * folder path, and {@link resolveCheckpoint} turns either into the project's name and the folder to read.
 * A folder outside the project is registered on first use, by its weights' content hash, architecture and
 * source path, under a readable unique name (the folder's name, or that name and a short hash when it is
 * taken), without copying its weights unless asked; the same folder unchanged resolves to the same name,
 * and a folder whose weights changed is a new checkpoint. A folder that does not open (no config.json, an
 * unknown model_type, only pickles, a missing, unexpected or misshapen tensor, a broken index or tokenizer)
 * is refused with the loader's error, and nothing is registered.
 *
 * A PEFT adapter folder is a checkpoint of base + adapter (model/checkpoint.ts); its base is registered
 * too and recorded as its parent. An adapter whose base the folder does not locate is registered with an
 * explicit base (`checkpoints add ADAPTER --base DIR_OR_NAME`): the adapter's files are then copied into
 * the project beside a `monoscope.json` that records the base, so the checkpoint opens by itself from then on.
 */
import { cpSync, existsSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, isAbsolute, join, resolve, sep } from 'node:path';
import {
  adapterBaseDir,
  checkpointWeightsHash,
  openCheckpoint,
  readCheckpointMeta,
  type OpenedCheckpoint,
} from '../model/checkpoint.js';
import { isAdapterFolder, type AdapterMeta } from '../model/adapter.js';
import type { CheckpointRecord } from '../store/checkpoints.js';
import { realPath, tempPath } from '../store/files.js';
import type { Project } from '../store/project.js';
import type { OpName, OpParsed } from '../api.js';

/** A resolved checkpoint: its name in the project and the folder its weights are read from. */
export interface ResolvedCheckpoint {
  name: string;
  dir: string;
}

/** Whether a reference is a folder path (it has a path separator, or is `.` or `..`) rather than a name. */
export function isFolderRef(ref: string): boolean {
  return ref.includes('/') || ref.includes('\\') || isAbsolute(ref) || ref === '.' || ref === '..';
}

/** Files of other frameworks' weights that a copy leaves behind (we read safetensors only). */
const FOREIGN_WEIGHTS = /\.(bin|pt|pth|ckpt|msgpack|h5|onnx|gguf)$/;

/**
 * Resolves a checkpoint reference (see the module comment). With `copy`, a folder's files (but other
 * frameworks' weights) are copied into the project's `checkpoints/NAME/` (written under a temporary name
 * and renamed into place) and read from there. With `base` (a checkpoint reference), `ref` is an adapter
 * folder on that base, see {@link withBase}. On a read-only project a folder is only looked up.
 */
export function resolveCheckpoint(
  project: Project,
  ref: string,
  opts: { copy?: boolean; base?: string } = {},
): ResolvedCheckpoint {
  if (opts.base !== undefined) return withBase(project, ref, opts.base);
  if (!isFolderRef(ref)) return byName(project, ref, opts.copy);
  const source = realPath(resolve(ref));
  const own = realPath(join(project.dir, 'checkpoints'));
  if (source.startsWith(own + sep) && !source.slice(own.length + 1).includes(sep)) {
    return byName(project, basename(source), opts.copy);
  }
  const hash = checkpointWeightsHash(source);
  const known = hash && project.store.checkpoints.bySource(source, hash);
  if (known) return byName(project, known.name, opts.copy);
  const ck = openCheckpoint(source);
  if (project.store.readonly) {
    throw new Error(
      `${source} is not a checkpoint of ${project.dir} yet (and the project is open read-only): use it once with \`monoscope record --checkpoint ${ref}\` or \`monoscope checkpoints add ${ref}\``,
    );
  }
  const parent = isAdapterFolder(source)
    ? resolveCheckpoint(project, adapterBaseDir(source)).name
    : ck.meta.parent;
  return register(
    project,
    source,
    ck,
    parent,
    opts.copy ? (name) => copyIn(project, source, name) : undefined,
  );
}

/**
 * Registers the folder `source` opened as `ck` under a new name, read from the folder itself or from what
 * `copy(name)` makes of it. Another writer may register the same folder, or take the same free name,
 * meanwhile: it looks again after every name that turned out taken (registration only ever creates a name
 * here, never overwrites one).
 */
function register(
  project: Project,
  source: string,
  ck: OpenedCheckpoint,
  parent: string | undefined,
  copy?: (name: string) => string,
): ResolvedCheckpoint {
  for (;;) {
    const again = project.store.checkpoints.bySource(source, ck.hash);
    if (again) return byName(project, again.name, !!copy);
    const name = uniqueName(project, basename(source), ck.hash);
    const dir = copy ? copy(name) : source;
    const registered = project.store.checkpoints.register(
      {
        name,
        dir,
        hash: ck.hash,
        stage: ck.meta.stage,
        runId: ck.meta.runId,
        parent,
        config: ck.config,
        source,
        copied: !!copy,
        arch: ck.config.arch,
        params: ck.params,
        dtype: ck.dtype,
        bytes: ck.bytes,
      },
      { createOnly: true },
    );
    if (registered.status !== 'taken') return { name, dir };
    if (copy) rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * An adapter folder `ref` on the checkpoint `baseRef` (a name or a folder, registered on first use):
 * validated against that base, then copied into the project's `checkpoints/NAME/` with a `monoscope.json`
 * whose `base` records the base's folder and weights hash (model/checkpoint.ts `adapterBaseDir`), and
 * registered with the base as its parent. The same adapter on the same base resolves to the same name.
 */
function withBase(project: Project, ref: string, baseRef: string): ResolvedCheckpoint {
  const source = realPath(resolve(ref));
  if (!isAdapterFolder(source))
    throw new Error(
      `${source}: a base is given for PEFT adapter folders only (this one has no adapter_config.json)`,
    );
  const base = resolveCheckpoint(project, baseRef);
  const ck = openCheckpoint(source, base.dir);
  if (project.store.readonly)
    throw new Error(
      `${source} is not a checkpoint of ${project.dir} yet (and the project is open read-only)`,
    );
  return register(project, source, ck, base.name, (name) => copyIn(project, source, name, base.dir));
}

/**
 * A checkpoint by name: a registered one (a folder's checkpoint is refused once the folder's weights
 * changed, since the name stands for the old ones), or a folder of the project's `checkpoints/`.
 */
function byName(project: Project, name: string, copy?: boolean): ResolvedCheckpoint {
  const rec = project.store.checkpoints.get(name);
  if (rec?.source && !rec.copied) {
    const now = checkpointWeightsHash(rec.dir);
    if (now !== rec.hash) {
      throw new Error(
        now === undefined
          ? `checkpoint '${name}' was registered from ${rec.dir}, which has no weights any more`
          : `checkpoint '${name}' was registered from ${rec.dir}, whose weights have changed since: give the folder's path to register its new content as a new checkpoint`,
      );
    }
    if (!copy) return { name, dir: rec.dir };
    const dir = copyIn(project, rec.dir, name);
    project.store.checkpoints.register({ ...recordInput(rec), dir, copied: true });
    return { name, dir };
  }
  const dir = project.checkpointDir(name);
  if (!rec && !existsSync(dir)) {
    const known = project.store.checkpoints.list().map((c) => c.name);
    const folder = existsSync(resolve(name)) ? ` (to open the folder ${resolve(name)}, write ./${name})` : '';
    throw new Error(
      `no checkpoint named '${name}' in ${project.dir}${known.length ? ` (known: ${known.join(', ')})` : ''}${folder}`,
    );
  }
  return { name, dir };
}

/** A record's fields as {@link CheckpointsRepo.register} takes them. */
function recordInput(r: CheckpointRecord) {
  return {
    name: r.name,
    dir: r.dir,
    hash: r.hash,
    stage: r.stage,
    runId: r.runId ?? undefined,
    parent: r.parent ?? undefined,
    config: r.config,
  };
}

/**
 * A free checkpoint name for a folder: its name made a checkpoint name (letters, digits, '.', '_', '-', at
 * most 40 characters), then that name and 8, then 16 characters of the hash, then a counter.
 */
function uniqueName(project: Project, folder: string, hash: string): string {
  const base =
    folder
      .replace(/[^A-Za-z0-9._-]+/g, '-')
      .replace(/^[^A-Za-z0-9]+/, '')
      .slice(0, 40) || 'checkpoint';
  const taken = (n: string) =>
    !!project.store.checkpoints.get(n) || existsSync(join(project.dir, 'checkpoints', n));
  for (const n of [base, `${base}-${hash.slice(0, 8)}`, `${base}-${hash.slice(0, 16)}`])
    if (!taken(n)) return n;
  for (let i = 2; ; i++)
    if (!taken(`${base}-${hash.slice(0, 8)}-${i}`)) return `${base}-${hash.slice(0, 8)}-${i}`;
}

/**
 * Copies a folder into the project's `checkpoints/NAME/` atomically; returns the copy's path. The copy of
 * an adapter folder records its base (`base`, or the one the folder locates) in its `monoscope.json`, so
 * that it finds it from its new place.
 */
function copyIn(project: Project, source: string, name: string, base?: string): string {
  const dest = project.checkpointDir(name);
  const tmp = tempPath(dest);
  try {
    cpSync(source, tmp, { recursive: true, filter: (f) => !FOREIGN_WEIGHTS.test(f) });
    if (isAdapterFolder(source)) {
      const baseDir = resolve(adapterBaseDir(source, base));
      const meta: AdapterMeta = {
        ...readCheckpointMeta(source),
        base: { dir: baseDir, hash: checkpointWeightsHash(baseDir)! },
      };
      writeFileSync(join(tmp, 'monoscope.json'), JSON.stringify(meta, null, 2));
    }
    renameSync(tmp, dest);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  return dest;
}

/** Rewrites the checkpoint references of one operation's input with `name(ref, copy)`. */
type RefRewrite<N extends OpName> = (i: OpParsed<N>, name: (ref: string) => string) => OpParsed<N>;

const tapRef = <T extends { checkpoint: string }>(r: T, name: (ref: string) => string): T => ({
  ...r,
  checkpoint: name(r.checkpoint),
});
const optional = (ref: string | undefined, name: (ref: string) => string) => ref && name(ref);

/** Every input field that names a checkpoint, by operation. */
const CHECKPOINT_REFS: { [N in OpName]?: RefRewrite<N> } = {
  // An adapter with an explicit base is registered by the operation itself, which knows the base.
  'checkpoints.add': (i, name) => (i.base ? { ...i, base: name(i.base) } : { ...i, path: name(i.path) }),
  'recordings.list': (i, name) => ({ ...i, checkpoint: optional(i.checkpoint, name) }),
  generate: tapRef,
  record: tapRef,
  'weights.proxy': tapRef,
  sparsity: tapRef,
  'neurons.table': tapRef,
  'neurons.page': (i, name) => ({ ...i, ref: tapRef(i.ref, name) }),
  'neurons.live': (i, name) => ({ ...i, ref: tapRef(i.ref, name) }),
  'neurons.counterparts': (i, name) => ({ ...i, ref: tapRef(i.ref, name) }),
  'correlation.matrix': (i, name) => ({
    ...i,
    ref: tapRef(i.ref, name),
    diffWith: optional(i.diffWith, name),
  }),
  'sae.train': (i, name) => ({ ...i, ref: tapRef(i.ref, name) }),
  similarity: (i, name) => ({ ...i, a: tapRef(i.a, name), b: tapRef(i.b, name) }),
  match: (i, name) => ({ ...i, a: tapRef(i.a, name), b: tapRef(i.b, name) }),
  subspaces: (i, name) => ({ ...i, a: tapRef(i.a, name), b: tapRef(i.b, name) }),
  compare: (i, name) => ({ ...i, checkpoints: i.checkpoints.map(name), base: optional(i.base, name) }),
  'crosscoder.train': (i, name) => ({ ...i, checkpoints: i.checkpoints.map(name) }),
  'diff.lens': (i, name) => ({ ...i, a: name(i.a), b: name(i.b) }),
  'sae.import': tapRef,
  eval: (i, name) => ({ ...i, policy: name(i.policy), ref: name(i.ref) }),
  train: (i, name) => ({ ...i, init: optional(i.init, name), ref: optional(i.ref, name) }),
};

/**
 * An operation's input with every folder path that names a checkpoint replaced by the checkpoint's name in
 * the project (registering the folder on first use; `copy` where the input asks for it), so operations
 * deal in names only.
 */
export function withCheckpointNames<N extends OpName>(
  project: Project,
  op: N,
  input: OpParsed<N>,
): OpParsed<N> {
  const rewrite = CHECKPOINT_REFS[op] as RefRewrite<N> | undefined;
  if (!rewrite) return input;
  const copy = (input as { copy?: boolean }).copy;
  return rewrite(input, (ref) =>
    isFolderRef(ref) || copy ? resolveCheckpoint(project, ref, { copy }).name : ref,
  );
}
