// The IPC path end to end, without Electron: the built preload bundle (run as a sandboxed preload would run
// it, with only `electron` to require) exposes the bridge; the renderer's client calls it; a fake ipcRenderer
// carries each message, structured-cloned as Electron does, to the real handlers of src/main/ipc.ts.
import { EventEmitter } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHANNELS, createIpcHandlers, type EngineLike, type IpcSender } from '../../../src/main/ipc.js';
import {
  ApiError,
  createClient,
  createIpcClient,
  type JobEvent,
  type JobInfo,
} from '../../../src/renderer/api/client.js';
import type { MonoscopeBridge } from '../../../src/shared/ipc.js';

const REPO = resolve(import.meta.dirname, '../../..');
const PAGE = { indexUrl: 'app://monoscope/index.html' };
const SENDER: IpcSender = { url: PAGE.indexUrl, isMainFrame: true, webContentsId: 1 };
const JOB_ID = '0d6e2c3a-7f1b-4c5d-9e8f-123456789abc';

let out: string;
let preloadCode: string;

beforeAll(async () => {
  out = mkdtempSync(join(tmpdir(), 'monoscope-preload-'));
  const { build } = await import('vite');
  await build({
    configFile: join(REPO, 'electron.config.ts'),
    mode: 'preload',
    logLevel: 'warn',
    build: { outDir: out, sourcemap: false },
  });
  preloadCode = readFileSync(join(out, 'preload.cjs'), 'utf8');
});
afterAll(() => rmSync(out, { recursive: true, force: true }));

/** Runs the preload bundle with a fake electron whose ipcRenderer reaches the handlers. */
function loadPreload(engine: EngineLike) {
  const handlers = createIpcHandlers(() => engine, { windowId: () => 1, page: PAGE });
  const toRenderer = new EventEmitter();
  const invoked: string[] = [];
  const ipcRenderer = {
    invoke: async (channel: string, ...args: unknown[]) => {
      invoked.push(channel);
      const handle = handlers[channel];
      if (!handle) throw new Error(`Error invoking remote method '${channel}': No handler registered`);
      return structuredClone(await handle(SENDER, structuredClone(args)));
    },
    on: (channel: string, l: (...a: unknown[]) => void) => toRenderer.on(channel, l),
    removeListener: (channel: string, l: (...a: unknown[]) => void) => toRenderer.removeListener(channel, l),
  };
  const exposed: Record<string, unknown> = {};
  const required: string[] = [];
  const electron = {
    contextBridge: { exposeInMainWorld: (key: string, api: unknown) => (exposed[key] = api) },
    ipcRenderer,
  };
  runInNewContext(preloadCode, {
    require: (name: string) => {
      required.push(name);
      if (name === 'electron') return electron;
      throw new Error(`a sandboxed preload cannot require '${name}'`);
    },
    module: { exports: {} },
    exports: {},
  });
  /** Sends a job event from the main process, as webContents.send does (the IPC event first). */
  const sendJobEvent = (e: JobEvent) =>
    toRenderer.emit(CHANNELS.jobEvent, { sender: 'ipc-event' }, structuredClone(e));
  return { exposed, required, invoked, toRenderer, sendJobEvent };
}

function fakeEngine(): EngineLike {
  const job: JobInfo = {
    id: JOB_ID,
    op: 'train',
    input: {},
    status: 'running',
    startedAt: '2025-01-01T00:00:00.000Z',
  };
  return {
    projectDir: REPO,
    query: async (op, input) => ({ op, input, matrix: new Float32Array([0.5, 2]) }),
    startJob: (op, input) => ({ ...job, input }),
    cancel: (id) => id === JOB_ID,
    listJobs: () => [job],
  };
}

describe('the preload', () => {
  it('requires only electron and exposes exactly the client methods as window.monoscope', () => {
    const { exposed, required } = loadPreload(fakeEngine());
    expect(required).toEqual(['electron']);
    expect(Object.keys(exposed)).toEqual(['monoscope']);
    const api = exposed.monoscope as Record<string, unknown>;
    expect(Object.keys(api).sort()).toEqual(['call', 'cancelJob', 'listJobs', 'onJobEvent', 'startJob']);
    for (const f of Object.values(api)) expect(typeof f).toBe('function');
    // Nothing of Node or Electron leaks through the bundle's text either.
    expect(preloadCode).not.toMatch(/require\(["'](?!electron["'])/);
  });

  it('carries calls to the handlers and their answers back, typed arrays included', async () => {
    const { exposed, invoked } = loadPreload(fakeEngine());
    const client = createIpcClient(exposed.monoscope as MonoscopeBridge);
    expect(client.transport).toBe('ipc');
    const r = (await client.call('runs.metrics', { runId: 'run-1' })) as unknown as {
      op: string;
      input: unknown;
      matrix: Float32Array;
    };
    expect(r.op).toBe('runs.metrics');
    expect(r.input).toEqual({ runId: 'run-1' });
    expect(r.matrix).toBeInstanceOf(Float32Array);
    expect([...r.matrix]).toEqual([0.5, 2]);
    // No input: sent as {}.
    expect(await client.call('runs.list')).toMatchObject({ input: {} });
    const job = await client.startJob('train', { name: 'a', stage: 'pretrain', steps: 2 });
    expect(job).toMatchObject({
      id: JOB_ID,
      status: 'running',
      input: { name: 'a', stage: 'pretrain', steps: 2 },
    });
    await client.cancelJob(JOB_ID);
    expect((await client.listJobs()).map((j) => j.id)).toEqual([JOB_ID]);
    expect(invoked).toEqual([
      CHANNELS.call,
      CHANNELS.call,
      CHANNELS.startJob,
      CHANNELS.cancelJob,
      CHANNELS.listJobs,
    ]);
  });

  it('turns refusals into ApiErrors with their code', async () => {
    const client = createIpcClient(loadPreload(fakeEngine()).exposed.monoscope as MonoscopeBridge);
    const cases: [Promise<unknown>, string, RegExp][] = [
      [client.call('runs.metrics', { runId: 'x', extra: 1 } as never), 'invalid-input', /extra/],
      [client.call('train' as 'runs.list'), 'invalid-input', /'train' is a job/],
      [client.call('nope' as 'runs.list'), 'unknown-op', /unknown operation 'nope'/],
      [client.cancelJob('not-a-uuid'), 'invalid-input', /a job id is a UUID/],
      [client.cancelJob('9f1c2d3e-4b5a-4c6d-8e7f-0a1b2c3d4e5f'), 'not-found', /no running job/],
    ];
    for (const [p, code, message] of cases) {
      const e = await p.then(
        () => null,
        (err: unknown) => err,
      );
      expect(e).toBeInstanceOf(ApiError);
      expect((e as ApiError).code).toBe(code);
      expect((e as ApiError).message).toMatch(message);
    }
  });

  it('says so when the main process does not answer', async () => {
    const bridge: MonoscopeBridge = {
      ...(loadPreload(fakeEngine()).exposed.monoscope as MonoscopeBridge),
      listJobs: () => Promise.reject(new Error("No handler registered for 'monoscope:list-jobs'")),
    };
    const e = await createIpcClient(bridge)
      .listJobs()
      .catch((err: ApiError) => err);
    expect(e).toMatchObject({
      code: 'unreachable',
      message: expect.stringContaining('No handler registered'),
    });
  });

  it('delivers job events without the IPC event, and stops on unsubscribe', () => {
    const { exposed, toRenderer, sendJobEvent } = loadPreload(fakeEngine());
    const client = createIpcClient(exposed.monoscope as MonoscopeBridge);
    const got: unknown[][] = [];
    const off = client.onJobEvent((...args: unknown[]) => got.push(args));
    const e1: JobEvent = {
      jobId: JOB_ID,
      op: 'train',
      type: 'event',
      event: { kind: 'progress', phase: 'dpo', done: 1, total: 9 },
    };
    const e2: JobEvent = { jobId: JOB_ID, op: 'train', type: 'end', status: 'completed' };
    sendJobEvent(e1);
    expect(toRenderer.listenerCount(CHANNELS.jobEvent)).toBe(1);
    off();
    expect(toRenderer.listenerCount(CHANNELS.jobEvent)).toBe(0);
    sendJobEvent(e2);
    expect(got).toEqual([[e1]]);
  });
});

describe('createClient', () => {
  it('picks IPC when the preload exposed window.monoscope', () => {
    const g = globalThis as { monoscope?: unknown };
    g.monoscope = loadPreload(fakeEngine()).exposed.monoscope;
    try {
      expect(createClient().transport).toBe('ipc');
    } finally {
      delete g.monoscope;
    }
  });

  it('refuses to guess outside a page', () => {
    expect(() => createClient()).toThrow(/not in a browser page/);
  });
});
