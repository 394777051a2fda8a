/**
 * Locks for the named things a job writes: a training run, a recording (checkpoint + probe set), an SAE, a
 * crosscoder, a study.
 * A lock is a file `PROJECT/.locks/KIND.NAME.lock` holding its holder (pid, hostname, start time), created
 * atomically (written under a random name, then hard-linked to the lock name, which fails if it exists),
 * so a second writer, in this process or another, sees who holds it and is refused. A lock whose process
 * is dead on this host is stale (its writer was killed) and is taken over.
 */
import { randomBytes, createHash } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { processAlive, sweepStaleTemps, writeAtomic } from './files.js';
import { StoreError, nowIso } from './store.js';

export type LockKind = 'run' | 'recording' | 'sae' | 'crosscoder' | 'study';

/** Who holds a lock. `token` tells two holders of one process apart. */
export interface LockHolder {
  kind: LockKind;
  name: string;
  pid: number;
  hostname: string;
  startedAt: string;
  token: string;
}

/** The project's lock folder. */
export function locksDir(projectDir: string): string {
  return join(projectDir, '.locks');
}

/** The lock file of a named thing (names that are not plain file names are hashed). */
function lockFile(projectDir: string, kind: LockKind, name: string): string {
  const safe = /^[A-Za-z0-9][A-Za-z0-9._+@-]{0,120}$/.test(name)
    ? name
    : createHash('sha256').update(name).digest('hex').slice(0, 32);
  return join(locksDir(projectDir), `${kind}.${safe}.lock`);
}

/** The holder written in a lock file; undefined when there is no file (or it cannot be read as one). */
function readHolder(file: string): LockHolder | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    const h = JSON.parse(text) as LockHolder;
    return typeof h.pid === 'number' && typeof h.token === 'string' ? h : undefined;
  } catch {
    return undefined;
  }
}

/** A lock is stale when its holder's process is dead on this host (or its file is unreadable). */
function isStale(h: LockHolder | undefined): boolean {
  return h === undefined || (h.hostname === hostname() && !processAlive(h.pid));
}

/** Removes a stale lock file, unless another writer replaced it meanwhile; returns whether it did. */
function removeStale(file: string, seen: LockHolder | undefined): boolean {
  const aside = `${file}.stale-${randomBytes(8).toString('hex')}`;
  try {
    renameSync(file, aside);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw e;
  }
  const moved = readHolder(aside);
  if (moved && moved.token !== seen?.token) {
    // A live writer took the lock between our read and our rename: give it back.
    try {
      linkSync(aside, file);
    } finally {
      rmSync(aside, { force: true });
    }
    return false;
  }
  rmSync(aside, { force: true });
  return true;
}

/**
 * Takes the lock of a named thing, or throws `StoreError('locked')` naming the holder. Returns the stale
 * holder it took the lock over from, if any.
 */
function acquire(projectDir: string, holder: LockHolder): { file: string; stale?: LockHolder } {
  const file = lockFile(projectDir, holder.kind, holder.name);
  mkdirSync(locksDir(projectDir), { recursive: true });
  const tmp = `${file}.${holder.token}`;
  writeAtomic(tmp, JSON.stringify(holder) + '\n');
  let stale: LockHolder | undefined;
  try {
    for (let attempt = 0; attempt < 10; attempt++) {
      try {
        linkSync(tmp, file);
        return { file, stale };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const current = readHolder(file);
      if (!isStale(current)) {
        throw new StoreError(
          'locked',
          `${holder.kind} '${holder.name}' is being written by process ${current!.pid} on ${current!.hostname} since ${current!.startedAt}; wait for it to finish or stop it (if no such process is writing it, remove ${file})`,
        );
      }
      if (removeStale(file, current)) stale = current ?? stale;
    }
    throw new StoreError('locked', `${file}: the lock kept changing hands; try again`);
  } finally {
    rmSync(tmp, { force: true });
  }
}

/** Removes our lock file (if it is still ours). */
function release(file: string, token: string): void {
  if (readHolder(file)?.token === token) rmSync(file, { force: true });
}

/**
 * Runs `fn` holding the lock of a named thing in a project (see the module comment). A second writer of
 * the same thing gets `StoreError('locked')`; `fn` receives the stale holder the lock was taken over from,
 * if any, so that the caller can mark what that writer left unfinished.
 */
export async function withLock<T>(
  projectDir: string,
  kind: LockKind,
  name: string,
  fn: (stale?: LockHolder) => Promise<T>,
): Promise<T> {
  const holder: LockHolder = {
    kind,
    name,
    pid: process.pid,
    hostname: hostname(),
    startedAt: nowIso(),
    token: randomBytes(8).toString('hex'),
  };
  const { file, stale } = acquire(projectDir, holder);
  try {
    return await fn(stale);
  } finally {
    release(file, holder.token);
  }
}

/** Whether a live writer holds the lock of a named thing now. */
export function lockHeld(projectDir: string, kind: LockKind, name: string): boolean {
  return !isStale(readHolder(lockFile(projectDir, kind, name)));
}

/** Resolves once no live writer holds the lock of a named thing (polling), or rejects when `signal` aborts. */
export async function lockReleased(
  projectDir: string,
  kind: LockKind,
  name: string,
  signal?: AbortSignal,
): Promise<void> {
  const file = lockFile(projectDir, kind, name);
  while (!isStale(readHolder(file))) {
    signal?.throwIfAborted();
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Removes the stale locks of a project (their writers died) and returns their holders; also removes what a
 * writer killed while taking or taking over a lock left beside them.
 */
export function sweepStaleLocks(projectDir: string): LockHolder[] {
  let names: string[];
  try {
    names = readdirSync(locksDir(projectDir));
  } catch {
    return [];
  }
  const swept: LockHolder[] = [];
  for (const n of names.filter((n) => !n.includes('.monoscope-tmp-'))) {
    const file = join(locksDir(projectDir), n);
    const h = readHolder(file);
    if (!h || !isStale(h)) continue;
    if (!n.endsWith('.lock')) rmSync(file, { force: true });
    else if (removeStale(file, h)) swept.push(h);
  }
  sweepStaleTemps(locksDir(projectDir));
  return swept;
}
