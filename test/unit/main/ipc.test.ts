// The Electron app's IPC handlers (src/main/ipc.ts), without Electron: every check between the renderer and
// the engine, over a fake engine that records what reaches it.
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CHANNELS,
  MAX_INPUT_BYTES,
  createIpcHandlers,
  findNativeBinding,
  isAllowedRequest,
  isAppUrl,
  nativeBindingFile,
  sqliteLoadError,
  type AppPage,
  type EngineLike,
  type IpcSender,
} from '../../../src/main/ipc.js';
import { PathGrants } from '../../../src/main/input-paths.js';
import type { JobInfo } from '../../../src/main/engine-host.js';
import type { IpcReply } from '../../../src/shared/ipc.js';

const PAGE: AppPage = { indexUrl: 'app://monoscope/index.html' };
const PROJECT = mkdtempSync(join(tmpdir(), 'monoscope-ipc-project-'));
afterAll(() => rmSync(PROJECT, { recursive: true, force: true }));
const WINDOW_ID = 7;
const APP: IpcSender = { url: `${PAGE.indexUrl}#/neurons`, isMainFrame: true, webContentsId: WINDOW_ID };
const JOB_ID = '3b241101-e2bb-4255-8caf-4136c566a962';

/** A fake engine that records every call that gets through. */
function fakeEngine() {
  const calls: { method: string; args: unknown[] }[] = [];
  const job: JobInfo = {
    id: JOB_ID,
    op: 'train',
    input: {},
    status: 'running',
    startedAt: '2025-01-01T00:00:00.000Z',
  };
  const engine: EngineLike = {
    projectDir: PROJECT,
    query: async (op, input) => {
      calls.push({ method: 'query', args: [op, input] });
      return { answered: op };
    },
    startJob: (op, input) => {
      calls.push({ method: 'startJob', args: [op, input] });
      return { ...job, op: op as JobInfo['op'], input };
    },
    cancel: (id) => {
      calls.push({ method: 'cancel', args: [id] });
      return id === JOB_ID;
    },
    listJobs: () => [job],
  };
  return { engine, calls };
}

function setup(opts: { maxInputBytes?: number; engine?: EngineLike | null; grants?: PathGrants } = {}) {
  const fake = fakeEngine();
  const engine = opts.engine === undefined ? fake.engine : opts.engine;
  const handlers = createIpcHandlers(() => engine, {
    windowId: () => WINDOW_ID,
    page: PAGE,
    maxInputBytes: opts.maxInputBytes,
    grants: opts.grants,
  });
  const send = (channel: string, args: unknown[], sender: IpcSender = APP) => handlers[channel](sender, args);
  return { send, calls: fake.calls, handlers };
}

function refused(r: IpcReply<unknown>): { code: string; message: string } {
  if (r.ok) throw new Error(`expected a refusal, got ${JSON.stringify(r.value)}`);
  return r.error;
}

const trainInput = { name: 'run-1', stage: 'dpo', steps: 10, beta: 0.1 };

describe('IPC handlers', () => {
  it('handle exactly the four invoke channels', () => {
    const { handlers } = setup();
    expect(Object.keys(handlers).sort()).toEqual(
      [CHANNELS.call, CHANNELS.startJob, CHANNELS.cancelJob, CHANNELS.listJobs].sort(),
    );
  });

  it('pass valid calls to the engine and wrap the answer', async () => {
    const { send, calls } = setup();
    expect(await send(CHANNELS.call, ['runs.list', {}])).toEqual({
      ok: true,
      value: { answered: 'runs.list' },
    });
    // An absent input is an empty one.
    expect((await send(CHANNELS.call, ['project.summary', undefined])).ok).toBe(true);
    const metrics = { runId: 'run-1', names: ['rewards/margins', 'loss'] };
    expect((await send(CHANNELS.call, ['runs.metrics', metrics])).ok).toBe(true);
    const started = await send(CHANNELS.startJob, ['train', trainInput]);
    expect(started.ok && (started.value as JobInfo).id).toBe(JOB_ID);
    expect(await send(CHANNELS.cancelJob, [JOB_ID])).toEqual({ ok: true, value: null });
    expect(await send(CHANNELS.listJobs, [])).toMatchObject({ ok: true, value: [{ id: JOB_ID }] });
    expect(calls).toEqual([
      { method: 'query', args: ['runs.list', {}] },
      { method: 'query', args: ['project.summary', {}] },
      { method: 'query', args: ['runs.metrics', metrics] },
      { method: 'startJob', args: ['train', trainInput] },
      { method: 'cancel', args: [JOB_ID] },
    ]);
  });

  it('refuse an unknown op, listing the known ones', async () => {
    const { send, calls } = setup();
    const e = refused(await send(CHANNELS.call, ['runs.delete', {}]));
    expect(e.code).toBe('unknown-op');
    expect(e.message).toContain("unknown operation 'runs.delete'");
    expect(e.message).toContain('runs.list');
    expect(refused(await send(CHANNELS.call, [42, {}]))).toEqual({
      code: 'invalid-input',
      message: `${CHANNELS.call}: the op must be a string, got a number`,
    });
    // An inherited property is not an op.
    expect(refused(await send(CHANNELS.call, ['toString', {}])).code).toBe('unknown-op');
    expect(calls).toEqual([]);
  });

  it('refuse a job sent as a query, and a query started as a job', async () => {
    const { send, calls } = setup();
    const a = refused(await send(CHANNELS.call, ['train', trainInput]));
    expect(a.code).toBe('invalid-input');
    expect(a.message).toMatch(/'train' is a job: start it with startJob/);
    const b = refused(await send(CHANNELS.startJob, ['runs.list', {}]));
    expect(b.code).toBe('invalid-input');
    expect(b.message).toMatch(/'runs.list' is a query, not a job/);
    expect(calls).toEqual([]);
  });

  it('refuse input that is not a JSON object', async () => {
    const { send, calls } = setup();
    for (const [input, what] of [
      [null, 'null'],
      ['{"name":"x"}', 'a string'],
      [7, 'a number'],
      [[trainInput], 'an array'],
      [new Map([['name', 'x']]), 'a Map'],
    ] as const) {
      const e = refused(await send(CHANNELS.startJob, ['train', input]));
      expect(e).toEqual({
        code: 'invalid-input',
        message: `train: the input must be a JSON object, got ${what}`,
      });
    }
    // Values JSON cannot carry are refused where they sit.
    const nan = refused(await send(CHANNELS.startJob, ['train', { ...trainInput, beta: NaN }]));
    expect(nan.message).toBe('input.beta: NaN is not a JSON number');
    const typed = refused(
      await send(CHANNELS.call, ['runs.metrics', { runId: 'r', names: new Float32Array(2) }]),
    );
    expect(typed.message).toMatch(/^input\.names: a Float32Array is not JSON/);
    const date = refused(
      await send(CHANNELS.startJob, ['train', { ...trainInput, model: { nLayer: new Date(0) } }]),
    );
    expect(date.message).toMatch(/^input\.model\.nLayer: a Date is not JSON/);
    const big = refused(await send(CHANNELS.startJob, ['train', { ...trainInput, steps: 10n }]));
    expect(big.message).toMatch(/^train: the input is not JSON \(.*BigInt/);
    expect(calls).toEqual([]);
  });

  it('refuse extra fields and wrong types, naming the field', async () => {
    const { send, calls } = setup();
    const extra = refused(await send(CHANNELS.startJob, ['train', { ...trainInput, learningRate: 0.1 }]));
    expect(extra.code).toBe('invalid-input');
    expect(extra.message).toMatch(/^train: invalid input/);
    expect(extra.message).toContain('learningRate');
    const wrong = refused(await send(CHANNELS.startJob, ['train', { ...trainInput, steps: '10' }]));
    expect(wrong.message).toMatch(/expected number, received string\s+→ at steps/);
    const nested = refused(
      await send(CHANNELS.startJob, ['train', { ...trainInput, model: { nLayer: 2.5 } }]),
    );
    expect(nested.message).toContain('model.nLayer');
    const missing = refused(await send(CHANNELS.startJob, ['train', { stage: 'dpo' }]));
    expect(missing.message).toMatch(/→ at name/);
    const empty = refused(await send(CHANNELS.call, ['runs.list', { verbose: true }]));
    expect(empty.message).toContain('verbose');
    expect(calls).toEqual([]);
  });

  it('refuse input over the size limit, before validating it', async () => {
    expect(MAX_INPUT_BYTES).toBe(1 << 20);
    const { send, calls } = setup({ maxInputBytes: 1000 });
    const prompts = Array.from({ length: 60 }, (_, i) => `prompt number ${i}`);
    // Also invalid (an unknown field), but the size is checked first.
    const input = { checkpoint: 'base', prompts, bogus: true };
    const size = Buffer.byteLength(JSON.stringify(input));
    expect(size).toBeGreaterThan(1000);
    const e = refused(await send(CHANNELS.call, ['generate', input]));
    expect(e).toEqual({
      code: 'invalid-input',
      message: `generate: the input is ${size} bytes as JSON, over the limit of 1000`,
    });
    // Just under the limit goes through.
    expect(
      (await send(CHANNELS.call, ['generate', { checkpoint: 'base', prompts: prompts.slice(0, 5) }])).ok,
    ).toBe(true);
    expect(calls.length).toBe(1);
    // The default limit: a 1 MiB string is over it (with the quotes and the field name).
    const { send: send2 } = setup();
    const huge = refused(
      await send2(CHANNELS.call, ['generate', { checkpoint: 'x'.repeat(MAX_INPUT_BYTES), prompts: ['a'] }]),
    );
    expect(huge.message).toMatch(/over the limit of 1048576$/);
  });

  it('refuse input nested too deeply', async () => {
    const { send } = setup();
    let deep: unknown = 1;
    for (let i = 0; i < 40; i++) deep = [deep];
    const e = refused(await send(CHANNELS.startJob, ['train', { ...trainInput, model: deep }]));
    expect(e.message).toMatch(/nested deeper than 32 levels/);
  });

  it('refuse a bad job id', async () => {
    const { send, calls } = setup();
    for (const id of ['42', '../../etc', `${JOB_ID}x`, 42, null, { id: JOB_ID }]) {
      const e = refused(await send(CHANNELS.cancelJob, [id]));
      expect(e.code).toBe('invalid-input');
      expect(e.message).toMatch(/^monoscope:cancel-job: a job id is a UUID, got /);
    }
    expect(calls).toEqual([]);
    // A well-formed id of no running job reaches the engine and comes back not-found.
    const other = '9f1c2d3e-4b5a-4c6d-8e7f-0a1b2c3d4e5f';
    expect(refused(await send(CHANNELS.cancelJob, [other]))).toEqual({
      code: 'not-found',
      message: `no running job ${other}`,
    });
    // Upper case is the same id.
    expect((await send(CHANNELS.cancelJob, [JOB_ID.toUpperCase()])).ok).toBe(true);
  });

  it('refuse the wrong number of arguments', async () => {
    const { send, calls } = setup();
    expect(refused(await send(CHANNELS.call, ['runs.list']))).toEqual({
      code: 'invalid-input',
      message: `${CHANNELS.call}: expected 2 argument(s), got 1`,
    });
    expect(refused(await send(CHANNELS.listJobs, ['all'])).message).toMatch(
      /expected 0 argument\(s\), got 1/,
    );
    expect(refused(await send(CHANNELS.cancelJob, [JOB_ID, true])).message).toMatch(
      /expected 1 argument\(s\), got 2/,
    );
    expect(calls).toEqual([]);
  });

  it('refuse foreign senders: another window, an iframe, another page, a closed frame', async () => {
    const { send, calls } = setup();
    const foreign: IpcSender[] = [
      { ...APP, webContentsId: WINDOW_ID + 1 },
      { ...APP, isMainFrame: false },
      { ...APP, url: 'https://example.com/' },
      { ...APP, url: pathToFileURL('/opt/Monoscope/resources/app.asar/dist-renderer/other.html').href },
      { ...APP, url: pathToFileURL('/tmp/dist-renderer/index.html').href },
      { ...APP, url: 'http://127.0.0.1:5173/' }, // the dev server, in a run without one
      { ...APP, url: '' },
    ];
    for (const sender of foreign) {
      for (const [channel, args] of [
        [CHANNELS.call, ['runs.list', {}]],
        [CHANNELS.startJob, ['train', trainInput]],
        [CHANNELS.cancelJob, [JOB_ID]],
        [CHANNELS.listJobs, []],
      ] as const) {
        const e = refused(await send(channel, [...args], sender));
        expect(e.code).toBe('forbidden');
        expect(e.message).toContain(`refused a message from ${sender.url || 'a closed frame'}`);
      }
    }
    expect(calls).toEqual([]);
    // No window: nobody is trusted.
    const none = createIpcHandlers(() => fakeEngine().engine, { windowId: () => undefined, page: PAGE });
    expect(refused(await none[CHANNELS.listJobs](APP, [])).code).toBe('forbidden');
  });

  it('accept the dev server when there is one', async () => {
    const page = { ...PAGE, devServerUrl: 'http://127.0.0.1:5173/' };
    const { engine } = fakeEngine();
    const h = createIpcHandlers(() => engine, { windowId: () => WINDOW_ID, page });
    const dev = { ...APP, url: 'http://127.0.0.1:5173/#/compare' };
    expect((await h[CHANNELS.listJobs](dev, [])).ok).toBe(true);
    expect((await h[CHANNELS.listJobs]({ ...dev, url: 'http://127.0.0.1:5174/' }, [])).ok).toBe(false);
  });

  it('say that no project is open, and list no jobs then', async () => {
    const { send } = setup({ engine: null });
    expect(refused(await send(CHANNELS.call, ['runs.list', {}]))).toEqual({
      code: 'not-found',
      message: 'no project is open: choose File → Open Project…',
    });
    expect(await send(CHANNELS.listJobs, [])).toEqual({ ok: true, value: [] });
  });

  it("pass the engine's errors on with their code, and others as failed", async () => {
    const { engine } = fakeEngine();
    const storeError = Object.assign(new Error('monoscope.db: written by a newer Monoscope'), {
      code: 'newer',
    });
    const failing: EngineLike = {
      ...engine,
      query: async (op) => {
        if (op === 'runs.list') throw storeError;
        throw new TypeError('x is not a function');
      },
      startJob: () => {
        throw 'a string';
      },
    };
    const { send } = setup({ engine: failing });
    expect(refused(await send(CHANNELS.call, ['runs.list', {}]))).toEqual({
      code: 'newer',
      message: storeError.message,
    });
    expect(refused(await send(CHANNELS.call, ['checkpoints.list', {}]))).toEqual({
      code: 'failed',
      message: 'x is not a function',
    });
    expect(refused(await send(CHANNELS.startJob, ['train', trainInput]))).toEqual({
      code: 'failed',
      message: 'a string',
    });
  });
});

describe('paths the renderer names', () => {
  const outside = mkdtempSync(join(tmpdir(), 'monoscope-ipc-outside-'));
  afterAll(() => rmSync(outside, { recursive: true, force: true }));
  const secret = join(outside, 'secret.jsonl');
  writeFileSync(secret, '{"prompt":"a","chosen":"b","rejected":"c"}\n');
  const tap = (checkpoint: string, probe?: string) => ({ checkpoint, tap: 'blocks.0.mlp.post', probe });

  it('refuses every op input that reads a file or folder outside the project', async () => {
    const { send, calls } = setup();
    const tries: [string, string, Record<string, unknown>][] = [
      [CHANNELS.startJob, 'train', { name: 'r', stage: 'dpo', init: 'base', pairs: secret }],
      [CHANNELS.startJob, 'train', { name: 'r', stage: 'pretrain', corpus: '/etc/passwd' }],
      [CHANNELS.startJob, 'train', { name: 'r', stage: 'dpo', init: outside }],
      [CHANNELS.startJob, 'train', { name: 'r', stage: 'dpo', init: 'base', ref: `${PROJECT}/../x` }],
      [CHANNELS.call, 'generate', { checkpoint: outside, prompts: ['a'] }],
      [CHANNELS.startJob, 'record', { checkpoint: 'base', probe: '/etc/passwd' }],
      [CHANNELS.startJob, 'record', { checkpoint: 'base', labels: secret }],
      [CHANNELS.call, 'neurons.table', tap('base', '/etc/hostname')],
      [CHANNELS.call, 'neurons.page', { ref: tap('../../etc'), neuron: 0 }],
      [CHANNELS.call, 'correlation.matrix', { ref: tap('base'), diffWith: outside }],
      [CHANNELS.call, 'weights.proxy', { checkpoint: '/' }],
      [CHANNELS.startJob, 'compare', { checkpoints: ['base', outside] }],
      [CHANNELS.startJob, 'similarity', { a: tap('base'), b: tap('base', secret), measure: 'svcca' }],
      [CHANNELS.startJob, 'sae.train', { name: 's', ref: tap(outside) }],
      [CHANNELS.startJob, 'match', { a: tap('base'), b: tap(outside) }],
      [CHANNELS.startJob, 'subspaces', { a: tap(outside), b: tap('base') }],
      [CHANNELS.startJob, 'sparsity', tap('base', secret)],
      [CHANNELS.startJob, 'eval', { policy: 'dpo', ref: 'base', pairs: secret }],
      [CHANNELS.startJob, 'eval', { policy: outside, ref: 'base', pairs: join(PROJECT, 'p.jsonl') }],
    ];
    for (const [channel, op, input] of tries) {
      const e = refused(await send(channel, [op, input]));
      expect([e.code, e.message], `${op} ${JSON.stringify(input)}`).toEqual([
        'forbidden',
        expect.stringMatching(new RegExp(`^${channel}: ${op} may not read /.*outside the project`)),
      ]);
    }
    expect(calls).toEqual([]);
  });

  it('accepts checkpoint names, stored probes and paths inside the project', async () => {
    const { send, calls } = setup();
    const inside = join(PROJECT, 'probe.txt');
    const ok: [string, string, Record<string, unknown>][] = [
      [CHANNELS.startJob, 'train', { name: 'r', stage: 'dpo', init: 'base', ref: 'sft' }],
      [CHANNELS.call, 'generate', { checkpoint: 'base', prompts: ['a'] }],
      [CHANNELS.call, 'generate', { checkpoint: join(PROJECT, 'checkpoints', 'base'), prompts: ['a'] }],
      [CHANNELS.startJob, 'record', { checkpoint: 'base', probe: inside, labels: join(PROJECT, 'l.jsonl') }],
      [CHANNELS.call, 'neurons.table', tap('base', 'builtin')],
      [CHANNELS.call, 'neurons.table', tap('dpo', 'a3f1c2d4e5b6a7980123')],
      [CHANNELS.startJob, 'compare', { checkpoints: ['base', 'dpo'], base: 'base', probe: inside }],
    ];
    for (const [channel, op, input] of ok) expect((await send(channel, [op, input])).ok, op).toBe(true);
    expect(calls).toHaveLength(ok.length);
  });

  it('refuses a symbolic link inside the project that leads out of it', async () => {
    const link = join(PROJECT, 'link-out');
    symlinkSync(outside, link);
    try {
      const { send } = setup();
      const e = refused(await send(CHANNELS.startJob, ['record', { checkpoint: link }]));
      expect(e.code).toBe('forbidden');
    } finally {
      rmSync(link);
    }
  });

  it('accepts what the main process got from its own file dialogs, and what lies inside it', async () => {
    const grants = new PathGrants();
    const { send } = setup({ grants });
    const input = { name: 'r', stage: 'dpo', init: 'base', pairs: secret };
    expect(refused(await send(CHANNELS.startJob, ['train', input])).code).toBe('forbidden');
    grants.grant(secret);
    expect((await send(CHANNELS.startJob, ['train', input])).ok).toBe(true);
    const other = join(outside, 'other.jsonl');
    expect(refused(await send(CHANNELS.startJob, ['train', { ...input, pairs: other }])).code).toBe(
      'forbidden',
    );
    grants.grant(outside);
    expect((await send(CHANNELS.startJob, ['train', { ...input, pairs: other }])).ok).toBe(true);
  });
});

describe('what the page may load', () => {
  it('is our page, any view of it', () => {
    expect(isAppUrl(PAGE.indexUrl, PAGE)).toBe(true);
    expect(isAppUrl(`${PAGE.indexUrl}?x=1#/heatmap`, PAGE)).toBe(true);
    expect(isAppUrl('app://monoscope/other.html', PAGE)).toBe(false);
    expect(isAppUrl('app://elsewhere/index.html', PAGE)).toBe(false);
    expect(isAppUrl('file:///etc/passwd', PAGE)).toBe(false);
    expect(isAppUrl(pathToFileURL('/opt/Monoscope/dist-renderer/index.html').href, PAGE)).toBe(false);
    expect(isAppUrl('not a url', PAGE)).toBe(false);
  });

  it("is its own scheme's files, data, blobs and DevTools; nothing remote, no file: URL", () => {
    expect(isAllowedRequest('app://monoscope/assets/index-abc.js', PAGE)).toBe(true);
    expect(isAllowedRequest('app://other/assets/index-abc.js', PAGE)).toBe(false);
    expect(isAllowedRequest('data:image/png;base64,AAAA', PAGE)).toBe(true);
    expect(isAllowedRequest('blob:app://monoscope/0b6f1c8e-8a3c-4f0a-9d47-3c1f4f0c1a2b', PAGE)).toBe(true);
    expect(isAllowedRequest('devtools://devtools/bundled/inspector.html', PAGE)).toBe(true);
    expect(isAllowedRequest('https://fonts.googleapis.com/css', PAGE)).toBe(false);
    expect(isAllowedRequest('http://127.0.0.1:5173/', PAGE)).toBe(false);
    expect(isAllowedRequest('file:///home/user/.ssh/id_rsa', PAGE)).toBe(false);
    expect(
      isAllowedRequest(pathToFileURL('/opt/Monoscope/resources/app.asar/dist-renderer/x.js').href, PAGE),
    ).toBe(false);
    const dev = { ...PAGE, devServerUrl: 'http://127.0.0.1:5173/' };
    expect(isAllowedRequest('http://127.0.0.1:5173/src/app/main.tsx', dev)).toBe(true);
    expect(isAllowedRequest('ws://127.0.0.1:5173/?token=x', dev)).toBe(true);
    expect(isAllowedRequest('http://127.0.0.1:8080/', dev)).toBe(false);
  });
});

describe('better-sqlite3 under Electron', () => {
  const dir = mkdtempSync(join(tmpdir(), 'monoscope-native-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('uses the build for the running ABI when there is one, else none', () => {
    expect(nativeBindingFile(dir, '150')).toBe(join(dir, 'better_sqlite3.abi150.node'));
    writeFileSync(join(dir, 'better_sqlite3.abi150.node'), '');
    expect(findNativeBinding(dir, '150')).toBe(join(dir, 'better_sqlite3.abi150.node'));
    expect(findNativeBinding(dir, '115')).toBeUndefined();
    expect(findNativeBinding(join(dir, 'missing'), '150')).toBeUndefined();
  });

  it('explains an ABI mismatch with the command that fixes it', () => {
    const e = new Error(
      "The module '/app/node_modules/better-sqlite3/build/Release/better_sqlite3.node' was compiled against a different " +
        'Node.js version using NODE_MODULE_VERSION 115. This version of Node.js requires NODE_MODULE_VERSION 150.',
    );
    const text = sqliteLoadError(e, dir, '150');
    expect(text).toContain('Node ABI 150');
    expect(text).toContain("plain Node's, whose ABI differs");
    expect(text).toContain('npm run rebuild:electron');
    expect(text).toContain(join(dir, 'better_sqlite3.abi150.node'));
    // Any other failure is shown as it is.
    expect(sqliteLoadError(new Error('libc.so.6: version GLIBC_2.38 not found'), dir, '150')).toContain(
      'Error: libc.so.6: version GLIBC_2.38 not found',
    );
  });
});
