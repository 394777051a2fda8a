// The edges of `monoscope serve`, against the built server (dist/main/server.js) with raw HTTP requests: a
// burst of concurrent first calls to a fresh server (part of the fault suite), op names that are Object
// prototype properties, port 80's Host header, the cap on concurrent job workers, and broken stores.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCheckpoint } from '../record/fixtures.js';
import { builtServe, raw } from './built-server.js';

const TOKEN = 'e'.repeat(64);
const json = { 'content-type': 'application/json', 'x-monoscope-token': TOKEN };

/** POSTs `body` as JSON to `path`. */
const post = (port: number, path: string, body: unknown) =>
  raw(port, { method: 'POST', path, headers: json, body: JSON.stringify(body) });

describe('monoscope serve: concurrent first calls', () => {
  let root: string;

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'monoscope-burst-'));
    mkdirSync(join(root, 'checkpoints'), { recursive: true });
    makeCheckpoint(join(root, 'checkpoints', 'tiny'), { seed: 3 });
  });
  afterAll(() => {
    if (root) rmSync(root, { recursive: true, force: true });
  });

  // Each round starts a fresh server (a fresh engine worker whose backend is not initialised yet) and sends
  // its first calls all at once: every one must succeed, with the result a lone call gets afterwards.
  for (const round of [1, 2, 3]) {
    it(`answers a burst of first calls, all correct (round ${round})`, async () => {
      const serve = await builtServe();
      const server = await serve({ projectDir: root, token: TOKEN, rendererDir: root });
      try {
        const generate = (seed: number) => ({
          checkpoint: 'tiny',
          prompts: ['red cat', 'the dog is'],
          maxNewTokens: 4,
          temperature: 1,
          seed,
        });
        const burst = await Promise.all([
          ...Array.from({ length: 8 }, (_, i) => post(server.port, '/api/call/generate', generate(i))),
          post(server.port, '/api/call/project.summary', {}),
          post(server.port, '/api/call/checkpoints.list', {}),
          post(server.port, '/api/call/backends.list', {}),
        ]);
        for (const r of burst) expect([r.status, r.body.slice(0, 300)]).toEqual([200, expect.any(String)]);
        for (let i = 0; i < 8; i++) {
          const alone = await post(server.port, '/api/call/generate', generate(i));
          expect(alone.status).toBe(200);
          expect(JSON.parse(burst[i].body)).toEqual(JSON.parse(alone.body));
          expect(JSON.parse(alone.body).generations).toHaveLength(2);
        }
        expect(JSON.parse(burst[8].body)).toMatchObject({ dir: root, store: join(root, 'monoscope.db') });
      } finally {
        await server.close();
      }
    });
  }
});
