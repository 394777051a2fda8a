/**
 * The Electron main process: one window, the menu, the project's engine, and the IPC handlers.
 *
 * - The window runs our page only (`dist-renderer/index.html`, served as `app://monoscope/index.html` by our
 *   own privileged scheme rather than from `file://`; or the Vite dev server when MONOSCOPE_DEV_SERVER is set
 *   in an unpackaged run), sandboxed, with context isolation and no Node; the preload exposes the API and
 *   nothing else. Navigation of any frame, new windows, webviews, permission requests, device pickers (HID,
 *   serial, USB, Bluetooth) and any request off the machine are refused; the CSP is sent as a header as well
 *   as in the page's meta tag. A path the page sends must lie in the project or come from our own dialogs.
 * - The engine runs in worker threads (`EngineHost`): queries in one long-lived worker, each job in its own,
 *   so this thread only routes messages and the UI never waits on training. Job events go to the window.
 * - The project: `--project DIR`, else the last one opened, else `monoscope-demo` in the working folder if
 *   it exists; File → Open Project… picks another.
 * - better-sqlite3 loads from `native/better_sqlite3.abi<ABI>.node` when `npm run rebuild:electron` built one
 *   for this Electron (its ABI differs from Node's); if no build loads, the app says which command to run.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  app,
  BrowserWindow,
  dialog,
  ipcMain,
  Menu,
  protocol,
  session,
  type IpcMainInvokeEvent,
  type MenuItemConstructorOptions,
} from 'electron';
import Database from 'better-sqlite3';
import { EngineHost, type JobEvent, type JobInfo } from './engine-host.js';
import { APP_INDEX_URL, APP_SCHEME, APP_SCHEME_PRIVILEGES, appProtocolHandler } from './app-protocol.js';
import { PathGrants } from './input-paths.js';
import {
  CHANNELS,
  createIpcHandlers,
  findNativeBinding,
  isAllowedRequest,
  isAppUrl,
  sqliteLoadError,
  type AppPage,
  type IpcSender,
} from './ipc.js';

// dist/main/electron.js → the app folder (the repository, or resources/app.asar when packaged).
const APP_DIR = fileURLToPath(new URL('../../', import.meta.url));
// Native modules cannot load from inside app.asar: electron-builder unpacks them beside it.
const UNPACKED_DIR = APP_DIR.replace(/app\.asar(?=[\\/]|$)/, 'app.asar.unpacked');
const RENDERER_DIR = join(APP_DIR, 'dist-renderer');
const INDEX_HTML = join(RENDERER_DIR, 'index.html');
const PRELOAD = join(APP_DIR, 'dist', 'main', 'preload.cjs');
const NATIVE_DIR = join(UNPACKED_DIR, 'native');
const DEV_SERVER = app.isPackaged ? undefined : process.env.MONOSCOPE_DEV_SERVER || undefined;
const PAGE: AppPage = { indexUrl: APP_INDEX_URL, devServerUrl: DEV_SERVER };

/** The page's CSP (the meta tag's, plus what only a header can say); the dev server needs inline scripts and HMR. */
const CSP = [
  "default-src 'self'",
  "img-src 'self' data: blob:",
  "style-src 'self' 'unsafe-inline'",
  DEV_SERVER ? "script-src 'self' 'unsafe-inline'" : "script-src 'self'",
  DEV_SERVER ? "connect-src 'self' ws: wss:" : "connect-src 'self'",
  "font-src 'self' data:",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'none'",
].join('; ');

let win: BrowserWindow | null = null;
let engine: EngineHost | null = null;
let nativeBinding: string | undefined;
/** What our own file dialogs returned: the page may name these paths (and those inside the project). */
const grants = new PathGrants();

// ---------------------------------------------------------------------------------------------------------
// Settings: the last project opened

const settingsFile = () => join(app.getPath('userData'), 'settings.json');

function lastProject(): string | undefined {
  try {
    const s = JSON.parse(readFileSync(settingsFile(), 'utf8')) as { lastProject?: unknown };
    return typeof s.lastProject === 'string' && existsSync(s.lastProject) ? s.lastProject : undefined;
  } catch {
    return undefined; // no settings yet, or unreadable ones: start without
  }
}

function rememberProject(dir: string): void {
  try {
    mkdirSync(dirname(settingsFile()), { recursive: true });
    writeFileSync(settingsFile(), JSON.stringify({ lastProject: dir }, null, 2));
  } catch (e) {
    console.warn(`monoscope: cannot save ${settingsFile()}: ${(e as Error).message}`);
  }
}

/** `--project DIR` or `--project=DIR` on the command line. */
function projectArgument(argv: string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--project') {
      if (!argv[i + 1] || argv[i + 1].startsWith('--')) {
        throw new Error('--project needs a folder: --project DIR');
      }
      return argv[i + 1];
    }
    if (argv[i].startsWith('--project=')) return argv[i].slice('--project='.length);
  }
  return undefined;
}

function startupProject(): string | undefined {
  const fromArgs = projectArgument(process.argv);
  if (fromArgs) return resolve(fromArgs);
  const demo = resolve('monoscope-demo');
  return lastProject() ?? (existsSync(demo) ? demo : undefined);
}

// ---------------------------------------------------------------------------------------------------------
// The engine

/**
 * Which better-sqlite3 this Electron loads: `{ binding }` (the rebuilt one, or undefined for the one in
 * node_modules), or null after telling the user how to build one when none loads.
 */
function loadSqlite(): { binding?: string } | null {
  const abi = process.versions.modules;
  const binding = findNativeBinding(NATIVE_DIR, abi);
  try {
    new Database(':memory:', { nativeBinding: binding }).close();
    return { binding };
  } catch (e) {
    const message = sqliteLoadError(e as Error, NATIVE_DIR, abi);
    console.error(message);
    dialog.showErrorBox('Monoscope cannot open its database', message);
    return null;
  }
}

/** Whether a job has not ended: it runs, or waits for a worker. */
const unfinished = (j: JobInfo) => j.status === 'running' || j.status === 'queued';

function unfinishedJobs(): number {
  return engine?.listJobs().filter(unfinished).length ?? 0;
}

/** Opens `dir` as the project (a new engine; the old one and its jobs are closed) and reloads the page. */
async function openProject(dir: string): Promise<void> {
  if (unfinishedJobs() > 0 && win) {
    const { response } = await dialog.showMessageBox(win, {
      type: 'warning',
      buttons: ['Cancel', 'Stop the jobs and open'],
      defaultId: 0,
      cancelId: 0,
      message: `${unfinishedJobs()} job(s) are running or queued in ${engine!.projectDir}.`,
      detail: 'Opening another project stops them.',
    });
    if (response === 0) return;
  }
  await closeEngine();
  // The app's Open Project also makes new projects.
  engine = new EngineHost(dir, { nativeBinding, create: true });
  engine.ready.catch((e: Error) => dialog.showErrorBox('Monoscope cannot open the project', e.message));
  engine.on('job', (e: JobEvent) => {
    if (win && !win.isDestroyed()) win.webContents.send(CHANNELS.jobEvent, e);
  });
  rememberProject(dir);
  if (win && !win.isDestroyed()) {
    win.setTitle(`Monoscope — ${dir}`);
    win.webContents.reload();
  }
}

async function chooseProject(): Promise<void> {
  const options: Electron.OpenDialogOptions = {
    title: 'Open a Monoscope project folder',
    buttonLabel: 'Open Project',
    properties: ['openDirectory', 'createDirectory'],
  };
  const picked = win ? await dialog.showOpenDialog(win, options) : await dialog.showOpenDialog(options);
  if (picked.canceled || !picked.filePaths[0]) return;
  grants.grant(picked.filePaths[0]);
  await openProject(picked.filePaths[0]);
}

/**
 * Closes the project's engine: asks running jobs to stop (they save their state for resume), waits up to
 * 10 s for them, then ends the workers.
 */
async function closeEngine(): Promise<void> {
  const host = engine;
  engine = null;
  if (!host) return;
  for (const j of host.listJobs()) if (unfinished(j)) host.cancel(j.id);
  const until = Date.now() + 10_000;
  while (host.listJobs().some(unfinished) && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 100));
  }
  await host.close();
}

// ---------------------------------------------------------------------------------------------------------
// The window

function senderOf(e: IpcMainInvokeEvent): IpcSender {
  return {
    url: e.senderFrame?.url ?? '',
    isMainFrame: e.senderFrame?.parent === null,
    webContentsId: e.sender.id,
  };
}

function registerIpc(): void {
  const handlers = createIpcHandlers(() => engine, {
    windowId: () => win?.webContents.id,
    page: PAGE,
    grants,
  });
  for (const [channel, handle] of Object.entries(handlers)) {
    ipcMain.handle(channel, (e, ...args: unknown[]) => handle(senderOf(e), args));
  }
}

/**
 * Locks the session down: our scheme serves the renderer folder, CSP header, no permissions, no devices,
 * nothing fetched from off the machine.
 */
function secureSession(): void {
  const ses = session.defaultSession;
  protocol.handle(APP_SCHEME, appProtocolHandler(RENDERER_DIR, CSP));
  ses.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CSP] } });
  });
  ses.webRequest.onBeforeRequest((details, callback) => {
    const allowed = isAllowedRequest(details.url, PAGE);
    if (!allowed) console.warn(`monoscope: blocked a request to ${details.url}`);
    callback({ cancel: !allowed });
  });
  ses.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  ses.setPermissionCheckHandler(() => false);
  ses.setDevicePermissionHandler(() => false);
  // Device pickers: preventDefault takes the choice from Electron, and the callback chooses nothing.
  ses.on('select-hid-device', (e, _details, callback) => {
    e.preventDefault();
    callback(null);
  });
  ses.on('select-serial-port', (e, _ports, _contents, callback) => {
    e.preventDefault();
    callback('');
  });
  ses.on('select-usb-device', (e, _details, callback) => {
    e.preventDefault();
    callback();
  });
}

function buildMenu(): void {
  const isMac = process.platform === 'darwin';
  const template: MenuItemConstructorOptions[] = [
    ...(isMac ? [{ role: 'appMenu' as const }] : []),
    {
      label: 'File',
      submenu: [
        { label: 'Open Project…', accelerator: 'CmdOrCtrl+O', click: () => void chooseProject() },
        { type: 'separator' },
        isMac ? { role: 'close' } : { role: 'quit' },
      ],
    },
    { role: 'editMenu' },
    {
      label: 'View',
      submenu: [{ role: 'reload' }, ...(app.isPackaged ? [] : [{ role: 'toggleDevTools' as const }])],
    },
  ];
  Menu.setApplicationMenu(Menu.buildFromTemplate(template));
}

function createWindow(): void {
  win = new BrowserWindow({
    width: 1280,
    height: 820,
    minWidth: 720,
    minHeight: 480,
    show: false,
    title: engine ? `Monoscope — ${engine.projectDir}` : 'Monoscope',
    webPreferences: {
      preload: PRELOAD,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      spellcheck: false,
      // Long jobs keep streaming progress while the window is hidden or minimised.
      backgroundThrottling: false,
    },
  });
  win.once('ready-to-show', () => win?.show());
  win.on('closed', () => {
    win = null;
  });
  void win.loadURL(DEV_SERVER ?? APP_INDEX_URL);
}

// Every webContents (ours, and any that might be created): no frame navigates away, no new windows, no
// webviews, no Bluetooth device chosen.
app.on('web-contents-created', (_e, contents) => {
  contents.on('will-frame-navigate', (e) => {
    if (!isAppUrl(e.url, PAGE)) e.preventDefault();
  });
  contents.on('will-navigate', (e, url) => {
    if (!isAppUrl(url, PAGE)) e.preventDefault();
  });
  contents.on('will-redirect', (e, url) => {
    if (!isAppUrl(url, PAGE)) e.preventDefault();
  });
  contents.on('will-attach-webview', (e) => e.preventDefault());
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
  contents.on('select-bluetooth-device', (e, _devices, callback) => {
    e.preventDefault();
    callback('');
  });
});

// ---------------------------------------------------------------------------------------------------------
// Start

// Before the app is ready: our scheme behaves as a secure standard one (origin, relative URLs, fetch).
protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: APP_SCHEME_PRIVILEGES }]);
app.enableSandbox();
if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  app.on('second-instance', () => {
    if (win?.isMinimized()) win.restore();
    win?.focus();
  });
  app.on('window-all-closed', () => app.quit());
  let quitting = false;
  app.on('before-quit', (e) => {
    if (quitting || !engine) return;
    e.preventDefault();
    quitting = true;
    void closeEngine().finally(() => app.quit());
  });

  void app.whenReady().then(async () => {
    if (!DEV_SERVER && !existsSync(INDEX_HTML)) {
      dialog.showErrorBox(
        'Monoscope is not built',
        `${INDEX_HTML} is missing: run npm run build (npm start does it).`,
      );
      app.exit(1);
      return;
    }
    const sqlite = loadSqlite();
    if (!sqlite) {
      app.exit(1);
      return;
    }
    nativeBinding = sqlite.binding;
    secureSession();
    registerIpc();
    buildMenu();
    let project: string | undefined;
    try {
      project = startupProject();
    } catch (e) {
      dialog.showErrorBox('Monoscope', (e as Error).message);
    }
    if (project) await openProject(project);
    createWindow();
  });
}
