/**
 * A project is a folder: `monoscope.db` (the store), `checkpoints/NAME/` (checkpoint folders), `runs/ID/`
 * (training state for resume), `saes/` and `exports/`.
 */
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { checkName } from './checkpoints.js';
import { openStore, StoreError, type OpenStoreOptions, type Store } from './store.js';

/** The store's file name inside a project folder. */
export const STORE_FILE = 'monoscope.db';

export interface Project {
  dir: string;
  store: Store;
  /** The folder of a checkpoint by name (not created). */
  checkpointDir(name: string): string;
  /** The folder of a run's resumable training state (not created). */
  runDir(id: string): string;
  saesDir: string;
  exportsDir: string;
  close(): void;
}

/** Opens a project folder, creating it and its store if missing (unless read-only). */
export function openProject(dir: string, opts: OpenStoreOptions = {}): Project {
  const root = resolve(dir);
  if (existsSync(root) && !statSync(root).isDirectory())
    throw new StoreError('invalid', `${root}: a project is a folder, and this is a file`);
  if (!existsSync(root)) {
    if (opts.readonly) throw new StoreError('not-found', `${root}: no such project folder`);
    mkdirSync(root, { recursive: true });
  }
  if (!opts.readonly)
    for (const sub of ['checkpoints', 'runs', 'saes', 'exports'])
      mkdirSync(join(root, sub), { recursive: true });
  const store = openStore(join(root, STORE_FILE), opts);
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
    exportsDir: join(root, 'exports'),
    close: () => store.close(),
  };
}
