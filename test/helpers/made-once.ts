/**
 * A fixture folder made once and reused by every test file that asks for it, across the parallel test
 * processes: the first caller makes it under a lock (a folder `DIR.lock` beside it) and marks it complete
 * (`DIR/.complete`); the others wait for the mark. A lock older than 15 minutes is a dead maker's and is
 * taken over (`make` then runs again on what it left).
 */
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const STALE_MS = 900_000;

/** `dir`, made by `make(dir)` unless a caller has made it already. */
export function madeOnce(dir: string, make: (dir: string) => void): string {
  const done = join(dir, '.complete');
  if (existsSync(done)) return dir;
  const lock = `${dir}.lock`;
  mkdirSync(dirname(dir), { recursive: true });
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (existsSync(done)) return dir;
      if (Date.now() - statSync(lock).mtimeMs > STALE_MS) rmSync(lock, { recursive: true, force: true });
      else Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
    }
  }
  try {
    if (!existsSync(done)) {
      make(dir);
      writeFileSync(done, new Date().toISOString());
    }
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
  return dir;
}
