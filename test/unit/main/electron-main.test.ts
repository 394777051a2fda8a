// The Electron main process (src/main/electron.ts) against a fake `electron` module: no Electron binary
// exists here, and the real package would try to download one on import. vi.mock replaces the module before
// electron.ts loads, so the real one is never imported; the engine host is faked too (no workers).
// Checks what can be checked without Electron: the window's settings, the session's locks (CSP header,
// permissions, requests off the machine), navigation and new windows refused, the IPC wiring and its sender
// check, the project chosen from --project and remembered, job events forwarded, the menu, and shutdown.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { JobEvent } from '../../../src/main/engine-host.js';
import * as fake from './fake-electron.js';

vi.mock('electron', async () => {
  const { electron } = await import('./fake-electron.js');
  return { ...electron, default: electron };
});
// Other suites rebuild (and wipe) dist-renderer/ while tests run: the page "exists" here whatever its state.
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const index = (await import('node:path')).resolve(import.meta.dirname, '../../../dist-renderer/index.html');
  return { ...fs, default: fs, existsSync: (p: string) => p === index || fs.existsSync(p) };
});
vi.mock('../../../src/main/engine-host.js', async () => ({
  EngineHost: (await import('./fake-electron.js')).FakeHost,
}));

const REPO = resolve(import.meta.dirname, '../../..');
const INDEX_URL = 'app://monoscope/index.html';
const { state } = fake;

describe('the Electron main process', () => {
  let project: string;
  const argv = process.argv;

  beforeAll(async () => {
    state.userData = mkdtempSync(join(tmpdir(), 'monoscope-userdata-'));
    project = mkdtempSync(join(tmpdir(), 'monoscope-project-'));
    process.argv = [...argv, '--project', project];
    await import('../../../src/main/electron.js');
    fake.ready();
    await vi.waitFor(() => expect(state.windows.length).toBe(1));
  });
  afterAll(() => {
    process.argv = argv;
    rmSync(state.userData, { recursive: true, force: true });
    rmSync(project, { recursive: true, force: true });
  });

  it('opens one sandboxed, isolated window without Node, on the built page', () => {
    expect(state.calls).toContain('enableSandbox');
    expect(state.errors).toEqual([]);
    const [win] = state.windows;
    expect(win.options.webPreferences).toMatchObject({
      preload: join(REPO, 'dist', 'main', 'preload.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      backgroundThrottling: false,
    });
    expect(win.loaded).toEqual([`url:${INDEX_URL}`]);
    win.emit('ready-to-show');
    expect(win.shown).toBe(true);
  });

  it('opens the --project folder in an engine host, and remembers it', () => {
    expect(state.hosts.map((h) => h.projectDir)).toEqual([project]);
    // No native/ build for plain Node's ABI: better-sqlite3 loads from node_modules.
    expect(state.hosts[0].nativeBinding).toBeUndefined();
    const settings = JSON.parse(readFileSync(join(state.userData, 'settings.json'), 'utf8'));
    expect(settings).toEqual({ lastProject: project });
  });

  it('sends the CSP header, and no script may be inline', () => {
    let headers: Record<string, string[]> = {};
    state.onHeadersReceived!({ url: INDEX_URL, responseHeaders: { 'X-Other': ['1'] } }, (r) => {
      headers = (r as { responseHeaders: Record<string, string[]> }).responseHeaders;
    });
    expect(headers['X-Other']).toEqual(['1']);
    const csp = headers['Content-Security-Policy'][0];
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self';");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-eval');
    expect(csp).not.toMatch(/script-src[^;]*unsafe-inline/);
    // The page's meta tag says the same.
    expect(readFileSync(join(REPO, 'src', 'renderer', 'index.html'), 'utf8')).toContain("script-src 'self';");
  });

  it('refuses requests off the machine, and permissions', () => {
    const cancel = (url: string) => {
      let r: unknown;
      state.onBeforeRequest!({ url }, (x) => (r = x));
      return (r as { cancel: boolean }).cancel;
    };
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    expect(cancel('https://example.com/tracker.js')).toBe(true);
    expect(cancel('file:///etc/passwd')).toBe(true);
    expect(cancel(pathToFileURL(join(REPO, 'dist-renderer', 'assets', 'x.js')).href)).toBe(true);
    expect(cancel('app://monoscope/assets/x.js')).toBe(false);
    warn.mockRestore();
    let granted: boolean | undefined;
    state.permissionRequest!({}, 'media', (ok) => (granted = ok));
    expect(granted).toBe(false);
    expect(state.permissionCheck!({}, 'clipboard-read', 'file://', {})).toBe(false);
  });

  it('refuses navigation away, new windows and webviews', () => {
    const contents = state.contents[0];
    const navigate = (event: string, url: string) => {
      let prevented = false;
      contents.emit(event, { preventDefault: () => (prevented = true) }, url);
      return prevented;
    };
    expect(navigate('will-navigate', 'https://example.com/')).toBe(true);
    expect(navigate('will-navigate', 'file:///tmp/other.html')).toBe(true);
    expect(navigate('will-navigate', `${INDEX_URL}#/neurons`)).toBe(false);
    expect(navigate('will-navigate', pathToFileURL(join(REPO, 'dist-renderer', 'index.html')).href)).toBe(
      true,
    );
    expect(navigate('will-redirect', 'https://example.com/')).toBe(true);
    expect(navigate('will-attach-webview', 'https://example.com/')).toBe(true);
    expect(contents.windowOpenHandler!({ url: 'https://example.com/' })).toEqual({ action: 'deny' });
  });

  it('registers app:// as a privileged scheme before ready, and serves the renderer folder only', async () => {
    expect(state.privilegedSchemes).toEqual([
      {
        scheme: 'app',
        privileges: { standard: true, secure: true, supportFetchAPI: true },
        beforeReady: true,
      },
    ]);
    const handle = state.protocols.get('app')!;
    expect(handle).toBeDefined();
    const get = async (url: string) => (await handle(new Request(url))).status;
    for (const url of [
      'app://monoscope/..%2f..%2fpackage.json',
      'app://monoscope/%2e%2e/package.json',
      'app://monoscope/assets/..%2F..%2F..%2Fpackage.json',
      'app://monoscope/..%5c..%5cpackage.json',
      'app://monoscope/%00index.html',
      'app://other/index.html',
    ]) {
      expect(await get(url), url).toBe(404);
    }
    expect(await get('app://monoscope/%E0%A4%A')).toBe(400);
  });

  it('refuses navigation of any frame away from the page', () => {
    const contents = state.contents[0];
    const frameNavigate = (url: string, isMainFrame: boolean) => {
      let prevented = false;
      contents.emit('will-frame-navigate', { url, isMainFrame, preventDefault: () => (prevented = true) });
      return prevented;
    };
    expect(frameNavigate('https://example.com/', false)).toBe(true);
    expect(frameNavigate('https://example.com/', true)).toBe(true);
    expect(frameNavigate('file:///etc/passwd', false)).toBe(true);
    expect(frameNavigate('app://monoscope/other.html', false)).toBe(true);
    expect(frameNavigate(`${INDEX_URL}#/compare`, true)).toBe(false);
  });

  it('chooses no device in any picker, and grants no device permission', () => {
    const ses = fake.electron.session.defaultSession;
    const pick = (emitter: NodeJS.EventEmitter, event: string, args: unknown[]) => {
      let prevented = false;
      const chosen: unknown[][] = [];
      emitter.emit(event, { preventDefault: () => (prevented = true) }, ...args, (...c: unknown[]) =>
        chosen.push(c),
      );
      return { prevented, chosen };
    };
    const device = { deviceId: 'd1', name: 'keyboard' };
    expect(pick(ses, 'select-hid-device', [{ deviceList: [device], frame: null }])).toEqual({
      prevented: true,
      chosen: [[null]],
    });
    expect(pick(ses, 'select-serial-port', [[{ portId: 'p1' }], state.contents[0]])).toEqual({
      prevented: true,
      chosen: [['']],
    });
    expect(pick(ses, 'select-usb-device', [{ deviceList: [device], frame: null }])).toEqual({
      prevented: true,
      chosen: [[]],
    });
    expect(pick(state.contents[0], 'select-bluetooth-device', [[device]])).toEqual({
      prevented: true,
      chosen: [['']],
    });
    expect(state.devicePermission!({ deviceType: 'usb', origin: 'app://monoscope', device })).toBe(false);
  });

  it('lets the page name files inside the project only', async () => {
    const contents = state.contents[0];
    const start = state.ipc.get('monoscope:start-job')!;
    const event = { senderFrame: { url: INDEX_URL, parent: null }, sender: { id: contents.id } };
    state.hosts[0].startJob = () => ({ started: true }) as never;
    expect(await start(event, 'record', { checkpoint: 'base', probe: join(project, 'p.txt') })).toEqual({
      ok: true,
      value: { started: true },
    });
    expect(await start(event, 'record', { checkpoint: 'base', probe: '/etc/passwd' })).toMatchObject({
      ok: false,
      error: { code: 'forbidden', message: expect.stringContaining('may not read /etc/passwd') },
    });
  });

  it('answers IPC from its own page only', async () => {
    expect([...state.ipc.keys()].sort()).toEqual([
      'monoscope:call',
      'monoscope:cancel-job',
      'monoscope:list-jobs',
      'monoscope:start-job',
    ]);
    const contents = state.contents[0];
    const event = (url: string, parent: unknown = null) => ({
      senderFrame: { url, parent },
      sender: { id: contents.id },
    });
    const call = state.ipc.get('monoscope:call')!;
    expect(await call(event(`${INDEX_URL}#/project`), 'runs.list', {})).toEqual({
      ok: true,
      value: { answered: 'runs.list' },
    });
    expect(await call(event('https://example.com/'), 'runs.list', {})).toMatchObject({
      ok: false,
      error: { code: 'forbidden' },
    });
    expect(await call(event(INDEX_URL, {}), 'runs.list', {})).toMatchObject({
      ok: false,
      error: { code: 'forbidden' },
    });
    const gone = { senderFrame: null, sender: { id: contents.id } };
    expect(await call(gone, 'runs.list', {})).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(await call(event(INDEX_URL), 'runs.list', { all: true })).toMatchObject({
      ok: false,
      error: { code: 'invalid-input' },
    });
  });

  it("forwards the engine's job events to the window", () => {
    const e: JobEvent = { jobId: 'j', op: 'train', type: 'end', status: 'completed' };
    state.hosts[0].emit('job', e);
    expect(state.contents[0].sent).toEqual([['monoscope:job-event', e]]);
  });

  it('has a menu with Open Project, Reload, DevTools (unpackaged) and Quit', () => {
    const menu = state.menu as {
      label?: string;
      role?: string;
      submenu?: { label?: string; role?: string }[];
    }[];
    const items = menu.flatMap((m) => [m, ...(m.submenu ?? [])]);
    expect(items.map((i) => i.label).filter(Boolean)).toEqual(
      expect.arrayContaining(['File', 'Open Project…', 'View']),
    );
    expect(items.map((i) => i.role).filter(Boolean)).toEqual(
      expect.arrayContaining(['reload', 'toggleDevTools', process.platform === 'darwin' ? 'close' : 'quit']),
    );
  });

  it('on quit, asks running jobs to stop, then closes the engine', async () => {
    const host = state.hosts[0];
    host.jobs = [{ id: 'a', status: 'running' }];
    let prevented = false;
    fake.electron.app.emit('before-quit', { preventDefault: () => (prevented = true) });
    expect(prevented).toBe(true);
    await vi.waitFor(() => expect(state.calls).toContain('quit'));
    expect(host.cancelled).toEqual(['a']);
    expect(host.closed).toBe(true);
    // The second before-quit (from app.quit) goes through.
    let again = false;
    fake.electron.app.emit('before-quit', { preventDefault: () => (again = true) });
    expect(again).toBe(false);
  });
});
