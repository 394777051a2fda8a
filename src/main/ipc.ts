/**
 * The Electron app's IPC handlers, as plain functions over an engine, so they can be tested without
 * Electron (`electron.ts` only wires them to `ipcMain.handle`). Every message is checked before it reaches
 * the engine:
 *
 * 1. the sender: only the top frame of our window, showing our page (`dist-renderer/index.html`, or the Vite
 *    dev server in development);
 * 2. the arguments: their number, the op (a known name, of the right kind for the channel), the input (a
 *    plain JSON object, at most {@link MAX_INPUT_BYTES} as JSON), job ids (UUIDs);
 * 3. the input against the operation's schema (`parseInput`), whose errors name each field;
 * 4. every file or folder the input makes the engine read: inside the open project, or granted by one of the
 *    main process's own file dialogs (`input-paths.ts`); checkpoint names and stored probes are fine.
 *
 * Replies are {@link IpcReply} values, `{ ok: true, value }` or `{ ok: false, error: { code, message } }`:
 * Electron would keep only the message of a thrown error.
 *
 * Also here, for the same reason (testable without Electron): which better-sqlite3 build the app loads.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { OPS, ApiError, isOpName, parseInput, type OpName } from '../core/api.js';
import type { JobInfo } from './engine-host.js';
import { inputPaths, PathGrants } from './input-paths.js';
import { CHANNELS, type IpcReply, type WireError } from '../shared/ipc.js';

export { CHANNELS };

/** The largest input a renderer may send, as JSON (the HTTP server's body limit too). */
export const MAX_INPUT_BYTES = 1 << 20;
/** How deeply an input may nest (no schema nests more than 3). */
const MAX_DEPTH = 32;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

/** What the handlers need of an engine: `EngineHost` has it. */
export interface EngineLike {
  /** The open project's folder. */
  readonly projectDir: string;
  query(op: string, input: unknown): Promise<unknown>;
  startJob(op: string, input: unknown): JobInfo;
  cancel(jobId: string): boolean;
  listJobs(): JobInfo[];
}

/** Who sent a message: from Electron's `event.senderFrame` and `event.sender`. */
export interface IpcSender {
  /** The sending frame's URL ('' when the frame is gone). */
  url: string;
  /** Whether the frame is its page's top frame (not an iframe). */
  isMainFrame: boolean;
  /** The id of the sending webContents. */
  webContentsId: number;
}

/** Where our page comes from. */
export interface AppPage {
  /** The page on the app's own scheme, `app://monoscope/index.html` (see `app-protocol.ts`). */
  indexUrl: string;
  /** The Vite dev server (development only), e.g. `http://127.0.0.1:5173/`. */
  devServerUrl?: string;
}

/** A refusal with its code (for the codes core's `ApiError` does not have, like `forbidden`). */
export class IpcError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'IpcError';
  }
}

/** Whether `url` is our page: the built index.html (any hash or query), or a page of the dev server. */
export function isAppUrl(url: string, page: AppPage): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  const index = new URL(page.indexUrl);
  if (u.protocol === index.protocol && u.host === index.host) return u.pathname === index.pathname;
  return page.devServerUrl !== undefined && u.origin === new URL(page.devServerUrl).origin;
}

/**
 * Whether the page may load `url`: our scheme's files (its handler serves the renderer folder only), data:
 * and blob: URLs, DevTools, and the dev server (its websocket too). Nothing off the machine, and no file:.
 */
export function isAllowedRequest(url: string, page: AppPage): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  if (u.protocol === 'data:' || u.protocol === 'blob:' || u.protocol === 'devtools:') return true;
  const index = new URL(page.indexUrl);
  if (u.protocol !== 'file:' && u.protocol === index.protocol && u.host === index.host) return true;
  if (page.devServerUrl === undefined) return false;
  const dev = new URL(page.devServerUrl);
  return ['http:', 'https:', 'ws:', 'wss:'].includes(u.protocol) && u.host === dev.host;
}

/** Whether a message comes from the top frame of our window, showing our page. */
export function isTrustedSender(sender: IpcSender, windowId: number | undefined, page: AppPage): boolean {
  return (
    windowId !== undefined &&
    sender.webContentsId === windowId &&
    sender.isMainFrame &&
    isAppUrl(sender.url, page)
  );
}

/** Serialises any thrown value as `{ code, message }` (its `code` if it has a string one, else `failed`). */
export function toWireError(e: unknown): WireError {
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    return { code: typeof code === 'string' ? code : 'failed', message: e.message };
  }
  return { code: 'failed', message: String(e) };
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return `a ${(v as object).constructor?.name ?? 'null-prototype object'}`;
  return `a ${typeof v}`;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Refuses anything JSON cannot carry (NaN, typed arrays, Maps, Dates…), naming where it is. */
function checkJson(v: unknown, path: string, depth: number): void {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new ApiError('invalid-input', `${path}: ${v} is not a JSON number`);
    return;
  }
  if (depth >= MAX_DEPTH) {
    throw new ApiError('invalid-input', `${path}: nested deeper than ${MAX_DEPTH} levels`);
  }
  if (Array.isArray(v)) {
    v.forEach((x, i) => checkJson(x, `${path}[${i}]`, depth + 1));
    return;
  }
  if (isPlainObject(v)) {
    // An undefined field is an absent one (structured clone keeps it; JSON would drop it).
    for (const [k, x] of Object.entries(v)) if (x !== undefined) checkJson(x, `${path}.${k}`, depth + 1);
    return;
  }
  throw new ApiError(
    'invalid-input',
    `${path}: ${describe(v)} is not JSON (send objects, arrays, strings, numbers, booleans, null)`,
  );
}

/** Checks an op name sent on `channel`: a string, a known op, and of `kind`. */
export function checkOp(channel: string, op: unknown, kind: 'query' | 'job'): OpName {
  if (typeof op !== 'string') {
    throw new ApiError('invalid-input', `${channel}: the op must be a string, got ${describe(op)}`);
  }
  if (!isOpName(op)) {
    throw new ApiError(
      'unknown-op',
      `${channel}: unknown operation '${op.slice(0, 80)}' (known: ${Object.keys(OPS).join(', ')})`,
    );
  }
  if (OPS[op].kind !== kind) {
    throw new ApiError(
      'invalid-input',
      kind === 'query'
        ? `${channel}: '${op}' is a job: start it with startJob (${CHANNELS.startJob})`
        : `${channel}: '${op}' is a query, not a job: run it with call (${CHANNELS.call})`,
    );
  }
  return op;
}

/**
 * Checks an op's input: absent (= `{}`), or a plain JSON object of at most `maxBytes` as JSON; then
 * validates it against the op's schema. Returns the input as sent (the engine applies the defaults).
 */
export function checkInput(op: OpName, input: unknown, maxBytes = MAX_INPUT_BYTES): unknown {
  if (input === undefined) input = {};
  if (!isPlainObject(input)) {
    throw new ApiError('invalid-input', `${op}: the input must be a JSON object, got ${describe(input)}`);
  }
  let json: string;
  try {
    json = JSON.stringify(input);
  } catch (e) {
    throw new ApiError('invalid-input', `${op}: the input is not JSON (${(e as Error).message})`);
  }
  const bytes = Buffer.byteLength(json, 'utf8');
  if (bytes > maxBytes) {
    throw new ApiError(
      'invalid-input',
      `${op}: the input is ${bytes} bytes as JSON, over the limit of ${maxBytes}`,
    );
  }
  checkJson(input, 'input', 0);
  parseInput(op, input);
  return input;
}

/** Checks a job id: a UUID (what `EngineHost.startJob` hands out). */
export function checkJobId(channel: string, id: unknown): string {
  if (typeof id !== 'string' || !UUID.test(id)) {
    const shown = typeof id === 'string' ? JSON.stringify(id.slice(0, 80)) : describe(id);
    throw new ApiError('invalid-input', `${channel}: a job id is a UUID, got ${shown}`);
  }
  return id.toLowerCase();
}

export interface IpcOptions {
  /** The app window's webContents id; undefined while there is no window. */
  windowId: () => number | undefined;
  page: AppPage;
  maxInputBytes?: number;
  /** Paths the main process's own dialogs returned (default: none; the open project is always allowed). */
  grants?: PathGrants;
}

/** Refuses an input that makes the engine read a path the renderer may not name (see {@link PathGrants}). */
export function checkPaths(
  channel: string,
  op: OpName,
  input: unknown,
  projectDir: string,
  grants: PathGrants,
): void {
  for (const path of inputPaths(op, input)) {
    if (!grants.allows(path, projectDir)) {
      throw new IpcError(
        'forbidden',
        `${channel}: ${op} may not read ${path}: it is outside the project (${projectDir}) and was not chosen in a file dialog of the app`,
      );
    }
  }
}

/** One channel's handler: the sender, and the arguments after the event. */
export type IpcHandler = (sender: IpcSender, args: unknown[]) => Promise<IpcReply<unknown>>;

/**
 * The handlers of the four invoke channels (`call`, `startJob`, `cancelJob`, `listJobs`), keyed by channel.
 * `engine()` is the open project's engine, or null when no project is open.
 */
export function createIpcHandlers(
  engine: () => EngineLike | null,
  opts: IpcOptions,
): Record<string, IpcHandler> {
  const maxBytes = opts.maxInputBytes ?? MAX_INPUT_BYTES;
  const grants = opts.grants ?? new PathGrants();

  function handler(channel: string, argCount: number, body: (args: unknown[]) => unknown): IpcHandler {
    return async (sender, args) => {
      try {
        if (!isTrustedSender(sender, opts.windowId(), opts.page)) {
          throw new IpcError(
            'forbidden',
            `${channel}: refused a message from ${sender.url || 'a closed frame'}: only the app's own page may call the engine`,
          );
        }
        if (args.length !== argCount) {
          throw new ApiError(
            'invalid-input',
            `${channel}: expected ${argCount} argument(s), got ${args.length}`,
          );
        }
        return { ok: true, value: await body(args) };
      } catch (e) {
        return { ok: false, error: toWireError(e) };
      }
    };
  }

  function open(): EngineLike {
    const e = engine();
    if (!e) throw new ApiError('not-found', 'no project is open: choose File → Open Project…');
    return e;
  }

  return {
    [CHANNELS.call]: handler(CHANNELS.call, 2, ([op, input]) => {
      const name = checkOp(CHANNELS.call, op, 'query');
      const checked = checkInput(name, input, maxBytes);
      const e = open();
      checkPaths(CHANNELS.call, name, checked, e.projectDir, grants);
      return e.query(name, checked);
    }),
    [CHANNELS.startJob]: handler(CHANNELS.startJob, 2, ([op, input]) => {
      const name = checkOp(CHANNELS.startJob, op, 'job');
      const checked = checkInput(name, input, maxBytes);
      const e = open();
      checkPaths(CHANNELS.startJob, name, checked, e.projectDir, grants);
      return e.startJob(name, checked);
    }),
    [CHANNELS.cancelJob]: handler(CHANNELS.cancelJob, 1, ([id]) => {
      const jobId = checkJobId(CHANNELS.cancelJob, id);
      if (!open().cancel(jobId)) throw new ApiError('not-found', `no running job ${jobId}`);
      return null;
    }),
    [CHANNELS.listJobs]: handler(CHANNELS.listJobs, 0, () => engine()?.listJobs() ?? []),
  };
}

// ---------------------------------------------------------------------------------------------------------
// better-sqlite3 under Electron (see the notes: Node 20 is ABI 115, Electron 45 is ABI 150)

/** The file `npm run rebuild:electron` writes for a Node ABI. */
export function nativeBindingFile(nativeDir: string, abi: string): string {
  return join(nativeDir, `better_sqlite3.abi${abi}.node`);
}

/** The better-sqlite3 build for ABI `abi` in `nativeDir`, or undefined (then the one in node_modules). */
export function findNativeBinding(nativeDir: string, abi: string): string | undefined {
  const file = nativeBindingFile(nativeDir, abi);
  return existsSync(file) ? file : undefined;
}

/** The startup error shown when better-sqlite3 does not load in Electron: the cause and the command. */
export function sqliteLoadError(error: Error, nativeDir: string, abi: string): string {
  const abiMismatch = /NODE_MODULE_VERSION|was compiled against a different Node\.js version/.test(
    error.message,
  );
  return [
    `better-sqlite3 does not load in this Electron (Node ABI ${abi}).`,
    abiMismatch
      ? "The build in node_modules is plain Node's, whose ABI differs, and no Electron build was found."
      : `Error: ${error.message}`,
    '',
    'Build it for Electron (the Node build used by the CLI and the tests stays as it is):',
    '    npm run rebuild:electron',
    `which writes ${nativeBindingFile(nativeDir, abi)}.`,
  ].join('\n');
}
