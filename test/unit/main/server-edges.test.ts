// The edges of `monoscope serve`, against the built server (dist/main/server.js) with raw HTTP requests: a
// burst of concurrent first calls to a fresh server (part of the fault suite), op names that are Object
// prototype properties, port 80's Host header, the cap on concurrent job workers, and broken stores.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../../src/main/server.js';
import { latestSchemaVersion, openStore } from '../../../src/core/store/store.js';
import { cli } from '../../integration/cli.js';
import { makeCheckpoint } from '../record/fixtures.js';
import { builtServe, errorOf, raw } from './built-server.js';
import { openProject } from '../../../src/core/store/project.js';

/** A new, empty project in a temporary folder (serve opens only existing projects). */
function newProject(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  openProject(dir, { create: true }).close();
  return dir;
}

const TOKEN = 'e'.repeat(64);
const json = { 'content-type': 'application/json', 'x-monoscope-token': TOKEN };

/** POSTs `body` as JSON to `path`. */
const post = (port: number, path: string, body: unknown) =>
  raw(port, { method: 'POST', path, headers: json, body: JSON.stringify(body) });

describe('monoscope serve: concurrent first calls', () => {
  let root: string;

  beforeAll(() => {
    root = newProject('monoscope-burst-');
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

describe('monoscope serve: op names and routes', () => {
  let root: string;
  let server: RunningServer;

  beforeAll(async () => {
    root = newProject('monoscope-edges-');
    server = await (await builtServe())({ projectDir: root, token: TOKEN, rendererDir: root });
  });
  afterAll(async () => {
    await server?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('answers 404 unknown-op for names that are properties of every object', async () => {
    for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf']) {
      for (const route of ['call', 'jobs']) {
        const r = await post(server.port, `/api/${route}/${name}`, {});
        expect([r.status, errorOf(r).code], `${route}/${name}`).toEqual([404, 'unknown-op']);
        expect(errorOf(r).message).toContain(`unknown operation '${name}'`);
      }
    }
    expect(server.host.listJobs()).toEqual([]);
  });

  it('still refuses a Host header without the port on a port other than 80', async () => {
    for (const host of ['127.0.0.1', 'localhost', `127.0.0.1:${server.port}0`]) {
      const r = await raw(server.port, { path: `/api/ops?token=${TOKEN}`, host });
      expect(r.status, host).toBe(403);
    }
  });
});

describe('monoscope serve --port 80', () => {
  // Browsers omit the default port: the URL printed for port 80 is sent with `Host: 127.0.0.1`.
  it('prints a URL whose requests, as a browser sends them, are served', async (ctx) => {
    const root = newProject('monoscope-port80-');
    writeFileSync(join(root, 'index.html'), '<!doctype html><title>port 80</title>');
    let server: RunningServer | undefined;
    try {
      try {
        server = await (await builtServe())({ projectDir: root, token: TOKEN, rendererDir: root, port: 80 });
      } catch (e) {
        const code = (e as { code?: string }).code;
        if (code === 'EACCES' || code === 'EADDRINUSE') ctx.skip(`port 80 cannot be bound here (${code})`);
        throw e;
      }
      expect(server.url).toBe(`http://127.0.0.1/?token=${TOKEN}`);
      const browserHost = new URL(server.url).host;
      expect(browserHost).toBe('127.0.0.1');
      for (const host of [browserHost, 'localhost', '127.0.0.1:80', 'localhost:80']) {
        const page = await raw(80, { path: `/?token=${TOKEN}`, host });
        expect([page.status, page.body], host).toEqual([200, '<!doctype html><title>port 80</title>']);
      }
      const call = await raw(80, {
        method: 'POST',
        path: '/api/call/runs.list',
        host: browserHost,
        headers: json,
        body: '{}',
      });
      expect([call.status, call.body]).toEqual([200, '[]']);
      for (const host of ['127.0.0.1:8080', 'evil.example', 'evil.example:80', '0.0.0.0']) {
        const r = await raw(80, { path: `/?token=${TOKEN}`, host });
        expect(r.status, host).toBe(403);
      }
    } finally {
      await server?.close();
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('monoscope serve: the cap on concurrent jobs', () => {
  const tiny = { nLayer: 1, nEmbd: 16, nHead: 2, nInner: 32, nCtx: 32 };
  const longTrain = (name: string) => ({
    name,
    stage: 'pretrain',
    model: tiny,
    steps: 100_000,
    batchSize: 2,
    examples: 100,
    evalEvery: 0,
    checkpointEvery: 0,
  });
  let root: string;
  let server: RunningServer;

  beforeAll(async () => {
    root = newProject('monoscope-queue-');
    server = await (await builtServe())({ projectDir: root, token: TOKEN, rendererDir: root, maxJobs: 1 });
  });
  afterAll(async () => {
    await server?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  const statusOf = async () => {
    const r = await raw(server.port, { path: '/api/jobs', headers: { 'x-monoscope-token': TOKEN } });
    return Object.fromEntries(
      (JSON.parse(r.body) as { id: string; status: string }[]).map((j) => [j.id, j.status]),
    );
  };
  const until = async (what: () => Promise<boolean>) => {
    for (const end = Date.now() + 60_000; Date.now() < end;) {
      if (await what()) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('timed out');
  };
  const cancel = (id: string) => post(server.port, `/api/jobs/${id}/cancel`, {});

  it('queues jobs beyond the cap, cancels a queued one, and starts the next when one ends', async () => {
    const started = [];
    for (const name of ['one', 'two', 'three']) {
      const r = await post(server.port, '/api/jobs/train', longTrain(name));
      expect(r.status).toBe(202);
      started.push(JSON.parse(r.body) as { id: string; status: string });
    }
    const [one, two, three] = started;
    expect(started.map((j) => j.status)).toEqual(['running', 'queued', 'queued']);
    expect(await statusOf()).toEqual({ [one.id]: 'running', [two.id]: 'queued', [three.id]: 'queued' });

    // A queued job is cancelled at once: it never starts, and nothing of it reaches the store.
    expect((await cancel(two.id)).status).toBe(202);
    expect((await statusOf())[two.id]).toBe('cancelled');

    await until(async () => {
      const list = await post(server.port, '/api/call/runs.list', {});
      return (JSON.parse(list.body) as { id: string }[]).some((r) => r.id === 'one');
    });
    expect((await cancel(one.id)).status).toBe(202);
    await until(async () => (await statusOf())[one.id] === 'cancelled');
    await until(async () => (await statusOf())[three.id] === 'running');
    expect(await statusOf()).toEqual({ [one.id]: 'cancelled', [two.id]: 'cancelled', [three.id]: 'running' });
    expect((await cancel(three.id)).status).toBe(202);
    await until(async () => (await statusOf())[three.id] === 'cancelled');

    const runs = JSON.parse((await post(server.port, '/api/call/runs.list', {})).body) as { id: string }[];
    expect(runs.map((r) => r.id).sort()).toEqual(['one', 'three']);
  });

  it('defaults to two concurrent jobs, and refuses a cap below one', async () => {
    const root2 = newProject('monoscope-queue-');
    try {
      const serve = await builtServe();
      const s = await serve({ projectDir: root2, token: TOKEN, rendererDir: root2 });
      expect(s.host.maxJobs).toBe(2);
      await s.close();
      await expect(
        serve({ projectDir: root2, token: TOKEN, rendererDir: root2, maxJobs: 0 }),
      ).rejects.toThrow(/maxJobs must be a whole number of at least 1, got 0/);
      const r = cli(['serve', '--project', root2, '--max-jobs', '0'], { timeout: 60_000 });
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/--max-jobs/);
    } finally {
      rmSync(root2, { recursive: true, force: true });
    }
  });
});

describe('monoscope serve on a broken store', () => {
  let root: string;
  let broken: { dir: string; file: string }[];

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'monoscope-broken-'));
    broken = [
      brokenProject('garbage', (f) => writeFileSync(f, 'this is not a database, just text\n'.repeat(200))),
      brokenProject('foreign', (f) => {
        const db = new Database(f);
        db.exec('CREATE TABLE photos (id INTEGER PRIMARY KEY, path TEXT)');
        db.close();
      }),
      brokenProject('newer', (f) => {
        openStore(f).close();
        const db = new Database(f);
        db.pragma(`user_version = ${latestSchemaVersion() + 1}`);
        db.close();
      }),
      brokenProject('corrupt', (f) => {
        const s = openStore(f);
        s.checkpointWal();
        s.close();
        const bytes = readFileSync(f);
        bytes.fill(0xa5, 100); // the header stays, every page after it is garbage
        writeFileSync(f, bytes);
      }),
    ];
  });
  afterAll(() => {
    if (root) rmSync(root, { recursive: true, force: true });
  });

  /** A project folder whose store `write` makes broken; returns the store file. */
  function brokenProject(name: string, write: (file: string) => void): { dir: string; file: string } {
    const dir = join(root, name);
    mkdirSync(dir);
    const file = join(dir, 'monoscope.db');
    write(file);
    return { dir, file };
  }

  it('refuses to start, naming the store file and why', async () => {
    const serve = await builtServe();
    for (const { dir, file } of broken) {
      const before = readFileSync(file);
      await expect(serve({ projectDir: dir, token: TOKEN, rendererDir: dir }), dir).rejects.toThrow(file);
      expect(readFileSync(file).equals(before), dir).toBe(true);
    }
  });

  it('makes the CLI exit non-zero with the reason, without saying it serves', () => {
    for (const { dir, file } of [broken[0], broken[2]]) {
      const r = cli(['serve', '--project', dir], { timeout: 60_000 });
      expect(r.code, dir).toBe(1);
      expect(r.stdout, dir).not.toMatch(/serving/);
      expect(r.stderr, dir).toContain(file);
      expect(r.stderr, dir).toMatch(/cannot serve/);
    }
  });
});
