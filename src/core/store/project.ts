/**
 * A project is a folder: `monoscope.db` (the store), `checkpoints/NAME/` (checkpoint folders), `runs/ID/`
 * (training state for resume), `saes/`, `crosscoders/`, `exports/` and `.locks/` (the locks of running writers, see
 * locks.ts).
 */
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { checkName } from './checkpoints.js';
import { STORE_FILE, sweepStaleTemps } from './files.js';
import { sweepStaleLocks } from './locks.js';
import { openStore, StoreError, type OpenStoreOptions, type Store } from './store.js';

export { STORE_FILE };

export interface OpenProjectOptions extends OpenStoreOptions {
  /** Create the folder and its store when they are missing (default: refuse with `not-found`). */
  create?: boolean;
}

export interface Project {
  dir: string;
  store: Store;
  /** The folder of a checkpoint by name (not created). */
  checkpointDir(name: string): string;
  /** The folder of a run's resumable training state (not created). */
  runDir(id: string): string;
  saesDir: string;
  /** Crosscoders (model diffing): `crosscoders/NAME/` (not created until one is trained). */
  crosscodersDir: string;
  exportsDir: string;
  /** The better-sqlite3 addon the store was opened with, if not the default (worker threads open it too). */
  nativeBinding?: string;
  close(): void;
}

/**
 * Opens a project folder. Only with `create` does a missing folder or store become a new project (a typo
 * in a path must not create one); nothing is created when the store is refused. On a writable project,
 * the temporary files and locks that killed processes left are swept, and a run whose lock was stale is
 * marked `interrupted`.
 */
export function openProject(dir: string, opts: OpenProjectOptions = {}): Project {
  const { create, ...storeOpts } = opts;
  const root = resolve(dir);
  if (existsSync(root) && !statSync(root).isDirectory())
    throw new StoreError('invalid', `${root}: a project is a folder, and this is a file`);
  const file = join(root, STORE_FILE);
  if (!existsSync(file)) {
    if (!create || storeOpts.readonly)
      throw new StoreError(
        'not-found',
        `${root}: no Monoscope project here (no ${STORE_FILE}); check the path, or create a project with \`monoscope train\`, \`record\` or \`demo\``,
      );
    mkdirSync(root, { recursive: true });
  }
  const store = openStore(file, storeOpts);
  if (!store.readonly) {
    for (const sub of ['checkpoints', 'runs', 'saes', 'exports'])
      mkdirSync(join(root, sub), { recursive: true });
    sweep(root, store);
  }
  return {
    dir: root,
    store,
    checkpointDir: (name) => {
      checkName(name);
      return join(root, 'checkpoints', name);
    },
    runDir: (id) => {
      if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(id))
        throw new StoreError('invalid', `run id ${JSON.stringify(id)} is not a folder name`);
      return join(root, 'runs', id);
    },
    saesDir: join(root, 'saes'),
    crosscodersDir: join(root, 'crosscoders'),
    exportsDir: join(root, 'exports'),
    ...(storeOpts.nativeBinding && { nativeBinding: storeOpts.nativeBinding }),
    close: () => store.close(),
  };
}

/** Removes what killed writers left: stale temporary files and locks (marking their runs interrupted). */
function sweep(root: string, store: Store): void {
  for (const h of sweepStaleLocks(root)) if (h.kind === 'run') markInterrupted(store, h.name, h.pid);
  const folders = [root, join(root, 'exports'), join(root, 'checkpoints')];
  for (const sub of ['runs', 'saes'])
    for (const name of readdirSync(join(root, sub))) folders.push(join(root, sub, name));
  for (const f of folders) sweepStaleTemps(f);
}

/** Marks a run `interrupted` (if it was still `running`) after its writer, process `pid`, died. */
export function markInterrupted(store: Store, runId: string, pid: number): void {
  store.runs.markInterrupted(
    runId,
    `interrupted: its process ${pid} ended without finishing (killed?); run the same command again to resume`,
  );
}
