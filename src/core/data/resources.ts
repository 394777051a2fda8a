/**
 * Where the package's `resources/` folder is: the folder holding `package.json`, found by walking up from
 * this file, so that it works from `src/` (vitest, tsx) and from `dist/` (after `tsc`) alike.
 * `MONOSCOPE_RESOURCES` overrides it (a packaged app whose resources live elsewhere).
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | null = null;

/** The package root: the nearest folder above this module that holds a `package.json`. */
export function packageRoot(): string {
  if (root !== null) return root;
  const here = dirname(fileURLToPath(import.meta.url));
  let dir = here;
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`cannot find the package root (no package.json above ${here})`);
    dir = up;
  }
  root = dir;
  return dir;
}

/** The absolute path of a file under `resources/`, e.g. `resourcePath('world', 'vocabulary.json')`. */
export function resourcePath(...parts: string[]): string {
  const base = process.env.MONOSCOPE_RESOURCES ?? join(packageRoot(), 'resources');
  return join(base, ...parts);
}
