// The renderer's client over HTTP, against a real `monoscope serve` (the built dist/main/server.js, whose
// engine runs in worker threads) on a temporary project: the token, JSON and envelope results, errors with
// their codes, and job events over server-sent events (undici's EventSource, the one Node's fetch is built on).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { EventSource } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ApiError,
  createHttpClient,
  takeToken,
  TOKEN_KEY,
  type EventSourceConstructor,
  type JobEvent,
  type MonoscopeClient,
} from '../../../src/renderer/api/client.js';
import { encodeEnvelope, ENVELOPE_TYPE } from '../../../src/shared/wire.js';
import type { RunningServer } from '../../../src/main/server.js';
import { openProject } from '../../../src/core/store/project.js';
import { builtServe } from './built-server.js';

const TOKEN = 'a'.repeat(64);
const tiny = { nLayer: 1, nEmbd: 32, nHead: 2, nInner: 64, nCtx: 64 };

/** Rejection of `p` as an ApiError. */
async function failure(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ApiError);
    return e as ApiError;
  }
  throw new Error('expected the call to fail');
}

/** Collects a job's events until its end. */
function untilEnd(client: MonoscopeClient, jobId: () => string | undefined, onEvent?: (e: JobEvent) => void) {
  const events: JobEvent[] = [];
  let stop = () => {};
  const done = new Promise<JobEvent[]>((ok) => {
    stop = client.onJobEvent((e) => {
      if (e.jobId !== jobId()) return;
      events.push(e);
      onEvent?.(e);
      if (e.type === 'end') ok(events);
    });
  });
  return { done: done.finally(() => stop()), stop: () => stop() };
}

describe('HTTP client against monoscope serve', () => {
  let dir: string;
  let server: RunningServer;
  let client: MonoscopeClient;

  beforeAll(async () => {
    const serve = await builtServe();
    dir = mkdtempSync(join(tmpdir(), 'monoscope-client-'));
    openProject(dir, { create: true }).close();
    server = await serve({ projectDir: dir, token: TOKEN, rendererDir: dir });
    client = createHttpClient({
      baseUrl: `http://127.0.0.1:${server.port}/`,
      token: TOKEN,
      EventSource: EventSource as unknown as EventSourceConstructor,
    });
  });
  afterAll(async () => {
    // Without this, close() waits about 4 s for a connection the event stream leaves open.
    server?.server.closeAllConnections();
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('needs the token', async () => {
    const none = createHttpClient({ baseUrl: `http://127.0.0.1:${server.port}`, token: '' });
    const a = await failure(none.call('runs.list'));
    expect(a.code).toBe('unauthorized');
    expect(a.message).toMatch(/no API token: open the URL that `monoscope serve` printed/);
    const wrong = createHttpClient({ baseUrl: `http://127.0.0.1:${server.port}`, token: 'b'.repeat(64) });
    const b = await failure(wrong.listJobs());
    expect(b.code).toBe('unauthorized');
    expect(b.message).toMatch(/missing or wrong token/);
    const c = await failure(wrong.call('runs.list'));
    expect(c.code).toBe('unauthorized');
  });

  it('runs queries and decodes their JSON', async () => {
    expect(client.transport).toBe('http');
    expect(await client.call('runs.list')).toEqual([]);
    expect(await client.call('checkpoints.list', {})).toEqual([]);
    const summary = await client.call('project.summary');
    expect(summary.dir).toBe(resolve(dir));
    expect(summary.store).toBe(join(resolve(dir), 'monoscope.db'));
  });

  it('passes errors on with their code and the field named', async () => {
    const bad = await failure(client.call('runs.metrics', { runId: 'no such run!' }));
    expect(bad.code).toBe('invalid-input');
    expect(bad.message).toMatch(/→ at runId/);
    const missing = await failure(client.call('runs.metrics', { runId: 'nothing' }));
    expect(missing).toMatchObject({ code: 'not-found', message: "no run 'nothing'" });
    const unknown = await failure(client.call('runs.delete' as 'runs.list'));
    expect(unknown.code).toBe('unknown-op');
    const job = await failure(client.call('train' as 'runs.list', { name: 'x', stage: 'pretrain' } as never));
    expect(job.code).toBe('invalid-input');
    expect(job.message).toMatch(/'train' is a job/);
    const unreachable = createHttpClient({ baseUrl: 'http://127.0.0.1:9', token: TOKEN });
    expect((await failure(unreachable.listJobs())).code).toBe('unreachable');
  });

  it('starts a job and follows it to its end over server-sent events', async () => {
    const started: { id?: string } = {};
    const follow = untilEnd(client, () => started.id);
    // Let the event stream open before the job starts (its first event could otherwise come before).
    await new Promise((r) => setTimeout(r, 200));
    const info = await client.startJob('train', {
      name: 'tiny',
      stage: 'pretrain',
      model: tiny,
      steps: 3,
      batchSize: 4,
      examples: 200,
      evalEvery: 0,
      checkpointEvery: 0,
    });
    started.id = info.id;
    expect(info).toMatchObject({ op: 'train', status: 'running' });
    expect(info.id).toMatch(/^[0-9a-f-]{36}$/);
    const events = await follow.done;
    const end = events.at(-1)!;
    expect(end).toMatchObject({ jobId: info.id, op: 'train', type: 'end', status: 'completed' });
    const steps = events.flatMap((e) =>
      e.type === 'event' && e.event.kind === 'progress' && e.event.phase === 'pretrain' ? [e.event.done] : [],
    );
    expect(steps.at(-1)).toBe(3);
    const jobs = await client.listJobs();
    expect(jobs.find((j) => j.id === info.id)).toMatchObject({ status: 'completed' });
    expect(await client.call('checkpoints.list')).toMatchObject([{ name: 'tiny' }]);
  });

  it('cancels a running job, and says when there is none', async () => {
    const started: { id?: string } = {};
    let cancelled: Promise<void> | undefined;
    const follow = untilEnd(
      client,
      () => started.id,
      (e) => {
        if (!cancelled && e.type === 'event' && e.event.kind === 'progress' && e.event.phase === 'pretrain') {
          cancelled = client.cancelJob(e.jobId);
        }
      },
    );
    await new Promise((r) => setTimeout(r, 200));
    const info = await client.startJob('train', {
      name: 'long',
      stage: 'pretrain',
      model: tiny,
      steps: 100_000,
      batchSize: 4,
      examples: 200,
    });
    started.id = info.id;
    const events = await follow.done;
    await cancelled;
    expect(events.at(-1)).toMatchObject({ type: 'end', status: 'cancelled' });
    const none = await failure(client.cancelJob('9f1c2d3e-4b5a-4c6d-8e7f-0a1b2c3d4e5f'));
    expect(none.code).toBe('not-found');
  });
});

describe('HTTP client, without a server', () => {
  it('decodes envelopes: typed arrays arrive as typed arrays', async () => {
    const value = {
      names: ['a', 'b'],
      matrix: new Float32Array([1.5, -2, 3.25, 0]),
      ids: new Int32Array([7, -9]),
    };
    const seen: { url: string; init: RequestInit }[] = [];
    const fakeFetch = (async (url: string, init: RequestInit) => {
      seen.push({ url, init });
      return new Response(encodeEnvelope(value), { status: 200, headers: { 'content-type': ENVELOPE_TYPE } });
    }) as unknown as typeof fetch;
    const client = createHttpClient({ baseUrl: 'http://127.0.0.1:1234/', token: 'T', fetch: fakeFetch });
    const got = (await client.call('runs.metrics', { runId: 'r' })) as unknown as typeof value;
    expect(got.names).toEqual(['a', 'b']);
    expect(got.matrix).toBeInstanceOf(Float32Array);
    expect([...got.matrix]).toEqual([1.5, -2, 3.25, 0]);
    expect([...got.ids]).toEqual([7, -9]);
    expect(seen[0].url).toBe('http://127.0.0.1:1234/api/call/runs.metrics');
    expect(seen[0].init.method).toBe('POST');
    expect(seen[0].init.headers).toEqual({ 'x-monoscope-token': 'T', 'content-type': 'application/json' });
    expect(seen[0].init.body).toBe('{"runId":"r"}');
  });

  it('refuses a reply that is neither JSON nor an envelope', async () => {
    const html = (async () =>
      new Response('<html>', {
        status: 200,
        headers: { 'content-type': 'text/html' },
      })) as unknown as typeof fetch;
    const e = await failure(createHttpClient({ baseUrl: 'http://x', token: 'T', fetch: html }).listJobs());
    expect(e.message).toBe('GET /api/jobs: expected JSON, got text/html (HTTP 200)');
  });

  it('opens one event stream for all listeners, and closes it with the last', () => {
    const opened: { url: string; closed: boolean; emit: (data: string) => void }[] = [];
    class FakeSource {
      listeners: ((e: { data: string }) => void)[] = [];
      record: (typeof opened)[number];
      constructor(url: string) {
        this.record = { url, closed: false, emit: (data) => this.listeners.forEach((l) => l({ data })) };
        opened.push(this.record);
      }
      addEventListener(type: string, l: (e: { data: string }) => void) {
        if (type === 'job') this.listeners.push(l);
      }
      close() {
        this.record.closed = true;
      }
    }
    const client = createHttpClient({
      baseUrl: 'http://127.0.0.1:1234',
      token: 't/k',
      EventSource: FakeSource,
    });
    const a: JobEvent[] = [];
    const b: JobEvent[] = [];
    const offA = client.onJobEvent((e) => a.push(e));
    const offB = client.onJobEvent((e) => b.push(e));
    expect(opened.map((o) => o.url)).toEqual(['http://127.0.0.1:1234/api/events?token=t%2Fk']);
    const ev: JobEvent = { jobId: 'j', op: 'train', type: 'event', event: { kind: 'message', text: 'hi' } };
    opened[0].emit(JSON.stringify(ev));
    offA();
    expect(opened[0].closed).toBe(false);
    opened[0].emit(JSON.stringify({ ...ev, event: { kind: 'message', text: 'again' } }));
    offB();
    expect(opened[0].closed).toBe(true);
    expect(a).toEqual([ev]);
    expect(b.map((e) => e.type === 'event' && e.event.kind === 'message' && e.event.text)).toEqual([
      'hi',
      'again',
    ]);
    // A new listener opens a new stream.
    client.onJobEvent(() => {});
    expect(opened.length).toBe(2);
  });
});

describe('the page token', () => {
  function page(href: string) {
    const store = new Map<string, string>();
    const replaced: string[] = [];
    return {
      location: { href, origin: new URL(href).origin },
      storage: {
        getItem: (k: string) => store.get(k) ?? null,
        setItem: (k: string, v: string) => void store.set(k, v),
      },
      history: {
        state: { view: 1 },
        replaceState: (_s: unknown, _u: string, url: string) => void replaced.push(url),
      },
      store,
      replaced,
    };
  }

  it('comes from ?token= on first load, is kept, and leaves the address bar', () => {
    const p = page('http://127.0.0.1:4173/?token=abc123&x=1#/neurons');
    expect(takeToken(p.location, p.storage, p.history)).toBe('abc123');
    expect(p.store.get(TOKEN_KEY)).toBe('abc123');
    expect(p.replaced).toEqual(['/?x=1#/neurons']);
  });

  it('comes from the session after a reload, and is null when never given', () => {
    const p = page('http://127.0.0.1:4173/#/compare');
    expect(takeToken(p.location, p.storage, p.history)).toBeNull();
    p.store.set(TOKEN_KEY, 'kept');
    expect(takeToken(p.location, p.storage, p.history)).toBe('kept');
    expect(p.replaced).toEqual([]);
  });
});
