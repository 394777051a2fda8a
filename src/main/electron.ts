/**
 * The Electron main process: one window, the menu, the project's engine, and the IPC handlers.
 *
 * - The window runs our page only (`dist-renderer/index.html`, or the Vite dev server when
 *   MONOSCOPE_DEV_SERVER is set in an unpackaged run), sandboxed, with context isolation and no Node; the
 *   preload exposes the API and nothing else. Navigation, new windows, webviews, permission requests and any
 *   request off the machine are refused; the CSP is sent as a header as well as in the page's meta tag.
 * - The engine runs in worker threads (`EngineHost`): queries in one long-lived worker, each job in its own,
 *   so this thread only routes messages and the UI never waits on training. Job events go to the window.
 * - The project: `--project DIR`, else the last one opened, else `monoscope-demo` in the working folder if
 *   it exists; File → Open Project… picks another.
 * - better-sqlite3 loads from `native/better_sqlite3.abi<ABI>.node` when `npm run rebuild:electron` built one
 *   for this Electron (its ABI differs from Node's); if no build loads, the app says which command to run.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  app,
  BrowserWindow,
  dialog,
  ipcMain,
  Menu,
  session,
  type IpcMainInvokeEvent,
  type MenuItemConstructorOptions,
} from 'electron';
import Database from 'better-sqlite3';
import { EngineHost, type JobEvent } from './engine-host.js';
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
const INDEX_HTML = join(APP_DIR, 'dist-renderer', 'index.html');
const PRELOAD = join(APP_DIR, 'dist', 'main', 'preload.cjs');
const NATIVE_DIR = join(UNPACKED_DIR, 'native');
const DEV_SERVER = app.isPackaged ? undefined : process.env.MONOSCOPE_DEV_SERVER || undefined;
const PAGE: AppPage = { indexUrl: pathToFileURL(INDEX_HTML).href, devServerUrl: DEV_SERVER };

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

function runningJobs(): number {
  return engine?.listJobs().filter((j) => j.status === 'running').length ?? 0;
}

/** Opens `dir` as the project (a new engine; the old one and its jobs are closed) and reloads the page. */
async function openProject(dir: string): Promise<void> {
  if (runningJobs() > 0 && win) {
    const { response } = await dialog.showMessageBox(win, {
      type: 'warning',
      buttons: ['Cancel', 'Stop the jobs and open'],
      defaultId: 0,
      cancelId: 0,
      message: `${runningJobs()} job(s) are running in ${engine!.projectDir}.`,
      detail: 'Opening another project stops them.',
    });
    if (response === 0) return;
  }
  await closeEngine();
  engine = new EngineHost(dir, nativeBinding, true); // the app's Open Project also makes new projects
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
  if (!picked.canceled && picked.filePaths[0]) await openProject(picked.filePaths[0]);
}

/**
 * Closes the project's engine: asks running jobs to stop (they save their state for resume), waits up to
 * 10 s for them, then ends the workers.
 */
async function closeEngine(): Promise<void> {
  const host = engine;
  engine = null;
  if (!host) return;
  for (const j of host.listJobs()) if (j.status === 'running') host.cancel(j.id);
  const until = Date.now() + 10_000;
  while (host.listJobs().some((j) => j.status === 'running') && Date.now() < until) {
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
  const handlers = createIpcHandlers(() => engine, { windowId: () => win?.webContents.id, page: PAGE });
  for (const [channel, handle] of Object.entries(handlers)) {
    ipcMain.handle(channel, (e, ...args: unknown[]) => handle(senderOf(e), args));
  }
}

/** Locks the session down: CSP header, no permissions, nothing fetched from off the machine. */
function secureSession(): void {
  const ses = session.defaultSession;
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
  if (DEV_SERVER) void win.loadURL(DEV_SERVER);
  else void win.loadFile(INDEX_HTML);
}

// Every webContents (ours, and any that might be created): no navigation away, no new windows, no webviews.
app.on('web-contents-created', (_e, contents) => {
  contents.on('will-navigate', (e, url) => {
    if (!isAppUrl(url, PAGE)) e.preventDefault();
  });
  contents.on('will-redirect', (e, url) => {
    if (!isAppUrl(url, PAGE)) e.preventDefault();
  });
  contents.on('will-attach-webview', (e) => e.preventDefault());
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
});

// ---------------------------------------------------------------------------------------------------------
// Start

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
