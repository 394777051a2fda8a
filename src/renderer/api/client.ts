/**
 * The renderer's one API: {@link MonoscopeClient}. Every view talks to the engine through it, and it hides
 * which transport carries the call:
 *
 * - IPC, inside the Electron app: the preload (`src/main/preload.ts`) exposes {@link MonoscopeBridge} as
 *   `window.monoscope`; the main process validates each call (`src/main/ipc.ts`) and runs it in the engine's
 *   worker threads. Replies come back as `{ ok, value | error }`, because Electron keeps only the message of
 *   an error thrown across IPC or the context bridge, and we want its `code` too.
 * - HTTP, in a browser opened on `monoscope serve` (`src/main/server.ts`): `POST /api/call/OP`,
 *   `POST /api/jobs/OP`, `POST /api/jobs/ID/cancel`, `GET /api/jobs`, with the `X-Monoscope-Token` header;
 *   results are JSON or an envelope (`src/shared/wire.ts`); job events arrive over server-sent events (`/api/events`).
 *
 * {@link createClient} picks IPC when `window.monoscope` exists, else HTTP. Failures reject with an
 * {@link ApiError} that has a `code` and a `message`, whichever the transport.
 *
 * The renderer imports only types from core (lint), and nothing from `src/main`: the job and event types are
 * the contract's (`src/core/api.ts`), shared with `src/main/engine-host.ts`.
 * This file uses no DOM types, so it also typechecks (and runs, in tests) under plain Node.
 */
import type {
  EngineEvent,
  JobEvent,
  JobInfo,
  JobOp,
  JobStatus,
  OpInput,
  OpName,
  QueryOp,
} from '../../core/api.js';
import type { OpResult } from '../../core/api.js';
import type { IpcReply, MonoscopeBridge, WireError } from '../../shared/ipc.js';
import { decodeEnvelope, ENVELOPE_TYPE } from '../../shared/wire.js';

export type { EngineEvent, JobEvent, JobInfo, JobOp, JobStatus, QueryOp };

/** The input argument of an operation: optional when every field is. */
type InputArg<N extends OpName> =
  Record<string, never> extends OpInput<N> ? [input?: OpInput<N>] : [input: OpInput<N>];

/** The renderer's API, the same over IPC and HTTP. */
export interface MonoscopeClient {
  /** Which transport carries the calls. */
  readonly transport: 'ipc' | 'http';
  /** Runs a query and resolves with its result. */
  call<N extends QueryOp>(op: N, ...input: InputArg<N>): Promise<OpResult<N>>;
  /** Starts a job and resolves at once with its info (status `running`); follow it with `onJobEvent`. */
  startJob<N extends JobOp>(op: N, ...input: InputArg<N>): Promise<JobInfo>;
  /** Asks a running job to stop (it saves its state first); rejects with `not-found` if none runs. */
  cancelJob(id: string): Promise<void>;
  /** Running jobs first, then the last finished ones. */
  listJobs(): Promise<JobInfo[]>;
  /** Calls `listener` with every job event from now on; returns the function that stops it. */
  onJobEvent(listener: (event: JobEvent) => void): () => void;
}

/**
 * A failed call, as the renderer sees it: core's `ApiError` codes (`invalid-input`, `unknown-op`,
 * `not-found`, `conflict`, `failed`, `cancelled`), the server's (`unauthorized`, `forbidden`), or
 * `unreachable` when the transport itself failed. (A mirror of core's class: the renderer may not import
 * core at runtime.)
 */
export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

// ---------------------------------------------------------------------------------------------------------
// IPC: what the preload exposes as window.monoscope (the contract is `src/shared/ipc.ts`)

/** A client over the preload's bridge. */
export function createIpcClient(bridge: MonoscopeBridge): MonoscopeClient {
  async function unwrap<T>(reply: () => Promise<IpcReply<T>>): Promise<T> {
    let r: IpcReply<T>;
    try {
      r = await reply();
    } catch (e) {
      throw new ApiError('unreachable', `the app's main process did not answer: ${(e as Error).message}`);
    }
    if (r.ok) return r.value;
    throw new ApiError(r.error.code, r.error.message);
  }
  return {
    transport: 'ipc',
    call: (op, ...input) => unwrap(() => bridge.call(op, input[0] ?? {})) as Promise<OpResult<typeof op>>,
    startJob: (op, ...input) => unwrap(() => bridge.startJob(op, input[0] ?? {})),
    cancelJob: async (id) => {
      await unwrap(() => bridge.cancelJob(id));
    },
    listJobs: () => unwrap(() => bridge.listJobs()),
    onJobEvent: (listener) => bridge.onJobEvent(listener),
  };
}

// ---------------------------------------------------------------------------------------------------------
// HTTP: fetch + server-sent events

/** The parts of an `EventSource` the client uses (the browser's, or a polyfill's in tests). */
export interface EventSourceLike {
  addEventListener(type: string, listener: (event: { data: string }) => void): void;
  close(): void;
}
export type EventSourceConstructor = new (url: string) => EventSourceLike;

export interface HttpClientOptions {
  /** Where the server listens, e.g. `http://127.0.0.1:4173` (the page's origin in the app). */
  baseUrl: string;
  /** The server's token; an empty string makes every call fail with `unauthorized`. */
  token: string;
  /** Default: the global `fetch`. */
  fetch?: typeof fetch;
  /** Default: the global `EventSource`. */
  EventSource?: EventSourceConstructor;
}

/** Turns a response into its value: an envelope when the server sent one, else JSON. */
async function decodeResponse(res: Response, what: string): Promise<unknown> {
  const type = res.headers.get('content-type') ?? '';
  if (type.startsWith(ENVELOPE_TYPE)) return decodeEnvelope(await res.arrayBuffer());
  const text = await res.text();
  if (!type.startsWith('application/json')) {
    throw new ApiError(
      'failed',
      `${what}: expected JSON, got ${type || 'no content type'} (HTTP ${res.status})`,
    );
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ApiError('failed', `${what}: the server sent invalid JSON (${(e as Error).message})`);
  }
}

/** A client over `monoscope serve`'s HTTP API. */
export function createHttpClient(opts: HttpClientOptions): MonoscopeClient {
  const base = opts.baseUrl.replace(/\/+$/, '');
  const fetchFn = opts.fetch ?? globalThis.fetch;
  const listeners = new Set<(event: JobEvent) => void>();
  let source: EventSourceLike | null = null;

  async function request(method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
    if (!opts.token) {
      throw new ApiError(
        'unauthorized',
        'no API token: open the URL that `monoscope serve` printed (it ends in ?token=…)',
      );
    }
    const what = `${method} ${path}`;
    let res: Response;
    try {
      res = await fetchFn(base + path, {
        method,
        headers: {
          'x-monoscope-token': opts.token,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (e) {
      throw new ApiError(
        'unreachable',
        `${what}: cannot reach the Monoscope server at ${base} (${(e as Error).message})`,
      );
    }
    const value = await decodeResponse(res, what);
    if (res.ok) return value;
    const err = (value as { error?: Partial<WireError> } | null)?.error;
    throw new ApiError(err?.code ?? 'failed', err?.message ?? `${what}: HTTP ${res.status}`);
  }

  // One event stream, opened with the first listener and closed with the last. EventSource cannot send
  // headers, so the token rides in the query (the server accepts it there, as it does on the first page load).
  function openEvents(): void {
    const Source = opts.EventSource ?? (globalThis as { EventSource?: EventSourceConstructor }).EventSource;
    if (!Source) {
      throw new ApiError('unreachable', 'this environment has no EventSource: job events cannot be followed');
    }
    source = new Source(`${base}/api/events?token=${encodeURIComponent(opts.token)}`);
    source.addEventListener('job', (e) => {
      const event = JSON.parse(e.data) as JobEvent;
      for (const l of listeners) l(event);
    });
  }

  return {
    transport: 'http',
    call: (op, ...input) =>
      request('POST', `/api/call/${encodeURIComponent(op)}`, input[0] ?? {}) as Promise<OpResult<typeof op>>,
    startJob: async (op, ...input) =>
      (await request('POST', `/api/jobs/${encodeURIComponent(op)}`, input[0] ?? {})) as JobInfo,
    cancelJob: async (id) => {
      await request('POST', `/api/jobs/${encodeURIComponent(id)}/cancel`);
    },
    listJobs: async () => (await request('GET', '/api/jobs')) as JobInfo[],
    onJobEvent: (listener) => {
      // Without a token the server refuses the stream; calls say why, the stream stays closed.
      if (!source && opts.token) openEvents();
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0 && source) {
          source.close();
          source = null;
        }
      };
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// Picking the transport

/** Where the token is kept for the tab's life (reloads keep it; the address bar does not show it). */
export const TOKEN_KEY = 'monoscope.token';

interface PageLocation {
  href: string;
  origin: string;
}
interface PageStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}
interface PageHistory {
  state: unknown;
  replaceState(state: unknown, unused: string, url: string): void;
}

/**
 * The server's token for this page: taken from `?token=` on first load (then kept in `storage`, and removed
 * from the address bar so it is neither bookmarked nor shown), else the one kept earlier; null if none.
 */
export function takeToken(location: PageLocation, storage: PageStorage, history: PageHistory): string | null {
  const url = new URL(location.href);
  const fromUrl = url.searchParams.get('token');
  if (fromUrl) {
    storage.setItem(TOKEN_KEY, fromUrl);
    url.searchParams.delete('token');
    history.replaceState(history.state, '', url.pathname + url.search + url.hash);
    return fromUrl;
  }
  return storage.getItem(TOKEN_KEY);
}

/** The page's client: IPC inside the Electron app (`window.monoscope`), else HTTP to the page's server. */
export function createClient(): MonoscopeClient {
  const page = globalThis as {
    monoscope?: MonoscopeBridge;
    location?: PageLocation;
    sessionStorage?: PageStorage;
    history?: PageHistory;
  };
  if (page.monoscope) return createIpcClient(page.monoscope);
  if (!page.location || !page.sessionStorage || !page.history) {
    throw new Error(
      'createClient: not in a browser page (no location); use createHttpClient or createIpcClient',
    );
  }
  const token = takeToken(page.location, page.sessionStorage, page.history) ?? '';
  return createHttpClient({ baseUrl: page.location.origin, token });
}
