// A fake `electron` module for tests of src/main/electron.ts (no Electron binary exists here, and the real
// package downloads one when imported): it records what the main process asks of Electron, and lets the
// test play Electron's part (fire events, call the registered handlers). Also a fake EngineHost.
import { EventEmitter } from 'node:events';

export const state = {
  userData: '',
  windows: [] as FakeWindow[],
  contents: [] as FakeContents[],
  hosts: [] as FakeHost[],
  ipc: new Map<string, (event: unknown, ...args: unknown[]) => unknown>(),
  onHeadersReceived: null as null | ((d: unknown, cb: (r: unknown) => void) => void),
  onBeforeRequest: null as null | ((d: unknown, cb: (r: unknown) => void) => void),
  permissionRequest: null as null | ((wc: unknown, p: string, cb: (ok: boolean) => void) => void),
  permissionCheck: null as null | ((...a: unknown[]) => boolean),
  devicePermission: null as null | ((details: unknown) => boolean),
  /** Schemes registered as privileged, and whether that happened before the app was ready. */
  privilegedSchemes: [] as { scheme: string; privileges: Record<string, boolean>; beforeReady: boolean }[],
  protocols: new Map<string, (request: Request) => Response | Promise<Response>>(),
  isReady: false,
  menu: null as unknown,
  errors: [] as string[][],
  calls: [] as string[],
};
let nextId = 1;
class FakeContents extends EventEmitter {
  id = nextId++;
  sent: [string, unknown][] = [];
  windowOpenHandler: ((d: unknown) => unknown) | null = null;
  reloads = 0;
  send(channel: string, payload: unknown) {
    this.sent.push([channel, payload]);
  }
  reload() {
    this.reloads++;
  }
  setWindowOpenHandler(h: (d: unknown) => unknown) {
    this.windowOpenHandler = h;
  }
}
class FakeWindow extends EventEmitter {
  webContents = new FakeContents();
  loaded: string[] = [];
  title = '';
  shown = false;
  constructor(readonly options: Record<string, any>) {
    super();
    state.windows.push(this);
    state.contents.push(this.webContents);
    app.emit('web-contents-created', {}, this.webContents);
  }
  loadFile(f: string) {
    this.loaded.push(`file:${f}`);
    return Promise.resolve();
  }
  loadURL(u: string) {
    this.loaded.push(`url:${u}`);
    return Promise.resolve();
  }
  show() {
    this.shown = true;
  }
  isDestroyed() {
    return false;
  }
  isMinimized() {
    return false;
  }
  setTitle(t: string) {
    this.title = t;
  }
  focus() {}
  restore() {}
}
export class FakeHost extends EventEmitter {
  closed = false;
  jobs: { id: string; status: string }[] = [];
  cancelled: string[] = [];
  readonly nativeBinding?: string;
  ready = Promise.resolve();
  constructor(
    readonly projectDir: string,
    opts: { nativeBinding?: string } = {},
  ) {
    super();
    this.nativeBinding = opts.nativeBinding;
    state.hosts.push(this);
  }
  query = async (op: string) => ({ answered: op });
  startJob() {
    throw new Error('not in this test');
  }
  cancel(id: string) {
    this.cancelled.push(id);
    const j = this.jobs.find((x) => x.id === id);
    if (j) j.status = 'cancelled';
    return !!j;
  }
  listJobs() {
    return this.jobs;
  }
  async close() {
    this.closed = true;
  }
}
/** The default session: device pickers are its events. */
const defaultSession = Object.assign(new EventEmitter(), {
  webRequest: {
    onHeadersReceived: (fn: typeof state.onHeadersReceived) => (state.onHeadersReceived = fn),
    onBeforeRequest: (fn: typeof state.onBeforeRequest) => (state.onBeforeRequest = fn),
  },
  setPermissionRequestHandler: (fn: typeof state.permissionRequest) => (state.permissionRequest = fn),
  setPermissionCheckHandler: (fn: typeof state.permissionCheck) => (state.permissionCheck = fn),
  setDevicePermissionHandler: (fn: typeof state.devicePermission) => (state.devicePermission = fn),
});
let resolveReady: () => void = () => {};
const whenReady = new Promise<void>((ok) => (resolveReady = ok));
export const app = Object.assign(new EventEmitter(), {
  isPackaged: false,
  enableSandbox: () => state.calls.push('enableSandbox'),
  requestSingleInstanceLock: () => true,
  whenReady: () => whenReady,
  getPath: (name: string) => (name === 'userData' ? state.userData : '/nonexistent'),
  quit: () => state.calls.push('quit'),
  exit: (code: number) => state.calls.push(`exit ${code}`),
});
export const electron = {
  app,
  BrowserWindow: FakeWindow,
  ipcMain: {
    handle: (channel: string, fn: (event: unknown, ...args: unknown[]) => unknown) =>
      state.ipc.set(channel, fn),
  },
  session: { defaultSession },
  protocol: {
    registerSchemesAsPrivileged: (schemes: { scheme: string; privileges: Record<string, boolean> }[]) => {
      for (const s of schemes) state.privilegedSchemes.push({ ...s, beforeReady: !state.isReady });
    },
    handle: (scheme: string, handler: (request: Request) => Response | Promise<Response>) => {
      if (!state.isReady) throw new Error('protocol.handle before the app is ready');
      state.protocols.set(scheme, handler);
    },
  },
  Menu: {
    buildFromTemplate: (t: unknown) => t,
    setApplicationMenu: (m: unknown) => (state.menu = m),
  },
  dialog: {
    showErrorBox: (title: string, text: string) => state.errors.push([title, text]),
    showOpenDialog: async () => ({ canceled: true, filePaths: [] }),
    showMessageBox: async () => ({ response: 0 }),
  },
};

/** Resolves `app.whenReady()`. */
export function ready(): void {
  state.isReady = true;
  resolveReady();
}

// Named exports too, as `import { app } from 'electron'` expects.
export const { BrowserWindow, ipcMain, session, protocol, Menu, dialog } = electron;
export default electron;
