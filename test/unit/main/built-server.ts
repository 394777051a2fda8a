// The built server (dist/main/server.js), which the server tests run: its engine workers are the compiled ones.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const SERVER_JS = join(resolve(import.meta.dirname, '../../..'), 'dist', 'main', 'server.js');

/** `serve` from the built server; a clear error when it was not built. */
export async function builtServe(): Promise<typeof import('../../../src/main/server.js').serve> {
  if (!existsSync(SERVER_JS)) {
    throw new Error(`${SERVER_JS} is missing: run npm run build:node first (npm test does)`);
  }
  const mod = (await import(pathToFileURL(SERVER_JS).href)) as typeof import('../../../src/main/server.js');
  return mod.serve;
}
