// E2E fixture: a project made by the demo pipeline (`monoscope demo --quick`), served by the real
// `monoscope serve` server (token, API, events), for tests in a real Chromium.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { REPO, buildRenderer } from './harness.js';
import { pathToFileURL } from 'node:url';
import type { RunningServer, ServeOptions } from '../../src/main/server.js';

/**
 * The e2e project: made once by `monoscope demo --quick` (about a minute on 2 cores) into
 * `test-output/e2e-project` and reused by every e2e file; `MONOSCOPE_E2E_PROJECT` points elsewhere.
 */
export function demoProject(): string {
  const dir = process.env.MONOSCOPE_E2E_PROJECT ?? join(REPO, 'test-output', 'e2e-project');
  const done = join(dir, '.demo-complete');
  if (existsSync(done)) return dir;
  // Test files of several suites may ask at once: the first makes the project, the others wait for it.
  const lock = `${dir}.lock`;
  mkdirSync(dirname(dir), { recursive: true });
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (existsSync(done)) return dir;
      if (Date.now() - statSync(lock).mtimeMs > 900_000) rmSync(lock, { recursive: true, force: true });
      else Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
    }
  }
  try {
    if (!existsSync(done)) {
      execFileSync(
        process.execPath,
        [join(REPO, 'bin', 'monoscope.js'), 'demo', '--quick', '--project', dir],
        {
          stdio: ['ignore', 'ignore', 'inherit'],
          timeout: 600_000,
        },
      );
      writeFileSync(done, new Date().toISOString());
    }
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
  return dir;
}

/** Builds the renderer and serves the demo project with the real server; `url` carries the token. */
export async function serveDemoProject(): Promise<RunningServer & { project: string }> {
  const project = demoProject();
  await buildRenderer();
  // The compiled server (npm test builds first): its engine runs in worker threads loaded from dist/.
  const { serve } = (await import(pathToFileURL(join(REPO, 'dist', 'main', 'server.js')).href)) as {
    serve: (o: ServeOptions) => Promise<RunningServer>;
  };
  const s = await serve({ projectDir: project, rendererDir: join(REPO, 'dist-renderer') });
  return { ...s, project };
}
