/**
 * `monoscope serve`: the app's renderer and the API over HTTP, on 127.0.0.1 only, behind a random token.
 *
 * - `GET /?token=T` serves the app and sets the token as an HttpOnly, SameSite=Strict cookie, so the page's
 *   assets, API calls and event stream carry it; API calls also send it as `X-Monoscope-Token`.
 *   Any request without the token is refused (401), and so is any Host other than 127.0.0.1 or localhost
 *   with the server's port (a DNS-rebinding guard; on port 80, without it, as browsers send it).
 * - `POST /api/call/OP` runs a query; `POST /api/jobs/OP` starts a job; `POST /api/jobs/ID/cancel`;
 *   `GET /api/jobs`; `GET /api/events` streams job events (server-sent events); `GET /api/ops` lists ops.
 * - Results are JSON, or an envelope when they hold typed arrays (see `src/shared/wire.ts`).
 * Every body is size-limited and validated against the operation's schema before it reaches the engine.
 * The project's store is opened and checked before the server listens: a broken one is refused at start.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OPS, ApiError } from '../core/api.js';
import { EngineHost, type EngineHostOptions, type JobEvent } from './engine-host.js';
import { fileInside, mimeType } from './static-files.js';
import { encodeEnvelope, hasTypedArrays, ENVELOPE_TYPE } from '../shared/wire.js';

const MAX_BODY = 1 << 20;
const CSP =
  "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'; font-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'";

export interface ServeOptions {
  projectDir: string;
  port?: number;
  /** A fixed token (tests); default: 32 random bytes. */
  token?: string;
  /** Folder of the built renderer (default: dist-renderer beside the package). */
  rendererDir?: string;
  /** How many jobs run at once; later ones queue (see {@link EngineHostOptions.maxJobs}). */
  maxJobs?: EngineHostOptions['maxJobs'];
}

export interface RunningServer {
  url: string;
  port: number;
  token: string;
  host: EngineHost;
  server: Server;
  close(): Promise<void>;
}

function defaultRendererDir(): string {
  return resolve(fileURLToPath(new URL('../../dist-renderer/', import.meta.url)));
}

/** The Host headers a browser sends for our address: 127.0.0.1 or localhost, with `port` (optional for 80). */
function ownHosts(port: number): Set<string> {
  const names = ['127.0.0.1', 'localhost'];
  return new Set([...names.map((n) => `${n}:${port}`), ...(port === 80 ? names : [])]);
}

function tokenOf(req: IncomingMessage, url: URL): string | null {
  const header = req.headers['x-monoscope-token'];
  if (typeof header === 'string') return header;
  const cookie = req.headers.cookie
    ?.split(';')
    .map((c) => c.trim())
    .find((c) => c.startsWith('monoscope_token='));
  if (cookie) return decodeOrNull(cookie.slice('monoscope_token='.length));
  return url.searchParams.get('token');
}

/** `decodeURIComponent`, or null for a malformed escape (which must not become a 500). */
function decodeOrNull(text: string): string | null {
  try {
    return decodeURIComponent(text);
  } catch {
    return null;
  }
}

function sameToken(a: string | null, b: string): boolean {
  if (!a) return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (hasTypedArrays(body)) {
    const buf = encodeEnvelope(body);
    res.writeHead(status, { 'content-type': ENVELOPE_TYPE, 'content-length': buf.byteLength });
    res.end(buf);
    return;
  }
  const json = JSON.stringify(body ?? null);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(json),
  });
  res.end(json);
}

function sendError(res: ServerResponse, e: unknown): void {
  const err = e as Error & { code?: string };
  const status =
    err instanceof ApiError
      ? {
          'invalid-input': 400,
          'unknown-op': 404,
          'not-found': 404,
          conflict: 409,
          cancelled: 409,
          failed: 500,
        }[err.code]
      : err.name === 'StoreError' || err.name === 'DataError'
        ? 400
        : 500;
  send(res, status, { error: { code: err.code ?? 'failed', message: err.message } });
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const type = req.headers['content-type'] ?? '';
  if (!type.startsWith('application/json'))
    throw new ApiError('invalid-input', 'the body must be application/json');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_BODY) throw new ApiError('invalid-input', `the body is larger than ${MAX_BODY} bytes`);
    chunks.push(c as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ApiError('invalid-input', `the body is not valid JSON: ${(e as Error).message}`);
  }
}

/**
 * Starts the server; resolves once it listens. Rejects, naming the store file, when the project cannot be
 * opened (a corrupt or foreign store, or one from a newer Monoscope).
 */
export async function serve(opts: ServeOptions): Promise<RunningServer> {
  const token = opts.token ?? randomBytes(32).toString('hex');
  const rendererDir = opts.rendererDir ?? defaultRendererDir();
  const projectDir = resolve(opts.projectDir);
  const host = new EngineHost(projectDir, { maxJobs: opts.maxJobs });
  try {
    await host.ready;
  } catch (e) {
    await host.close();
    throw new Error(`cannot serve ${projectDir}: ${(e as Error).message}`);
  }
  const streams = new Set<ServerResponse>();
  let port = opts.port ?? 0;
  let hosts = ownHosts(port);

  host.on('job', (e: JobEvent) => {
    // Job results travel as JSON text here: typed arrays become plain arrays (not index-keyed objects).
    const json = JSON.stringify(e, (_k, v) =>
      ArrayBuffer.isView(v) && !(v instanceof DataView) ? Array.from(v as Float32Array) : v,
    );
    const data = `event: job\ndata: ${json}\n\n`;
    for (const s of streams) s.write(data);
  });

  const server = createServer(async (req, res) => {
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('referrer-policy', 'no-referrer');
    res.setHeader('cross-origin-opener-policy', 'same-origin');
    res.setHeader('cross-origin-resource-policy', 'same-origin');
    res.setHeader('content-security-policy', CSP);
    res.setHeader('cache-control', 'no-store');
    try {
      if (!hosts.has(req.headers.host ?? '')) {
        return send(res, 403, { error: { code: 'forbidden', message: 'unexpected Host header' } });
      }
      const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
      if (!sameToken(tokenOf(req, url), token)) {
        return send(res, 401, {
          error: {
            code: 'unauthorized',
            message: 'missing or wrong token: open the URL that `monoscope serve` printed',
          },
        });
      }
      if (url.pathname.startsWith('/api/')) return await api(req, res, url);
      if (req.method !== 'GET' && req.method !== 'HEAD')
        return send(res, 405, { error: { code: 'method', message: 'GET only' } });
      if (url.searchParams.has('token')) {
        res.setHeader(
          'set-cookie',
          `monoscope_token=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`,
        );
      }
      return serveStatic(res, url.pathname);
    } catch (e) {
      sendError(res, e);
    }
  });

  function serveStatic(res: ServerResponse, pathname: string): void {
    const file = fileInside(rendererDir, pathname);
    if (file === 'malformed')
      return send(res, 400, { error: { code: 'invalid-input', message: 'malformed %-escape in the path' } });
    if (file === 'outside') return send(res, 404, { error: { code: 'not-found', message: 'no such file' } });
    // Any other path is a view of the page (it routes by the location's hash).
    const target = existsSync(file) && statSync(file).isFile() ? file : join(rendererDir, 'index.html');
    if (!existsSync(target)) {
      return send(res, 500, {
        error: {
          code: 'not-built',
          message: `the app is not built (${rendererDir} is missing): run npm run build`,
        },
      });
    }
    res.writeHead(200, { 'content-type': mimeType(target) });
    createReadStream(target).pipe(res);
  }

  async function api(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const parts = url.pathname.split('/').filter(Boolean); // ['api', ...]
    if (req.method === 'GET' && parts[1] === 'ops' && parts.length === 2) {
      return send(
        res,
        200,
        Object.entries(OPS).map(([name, o]) => ({ name, kind: o.kind, summary: o.summary })),
      );
    }
    if (req.method === 'GET' && parts[1] === 'events' && parts.length === 2) {
      res.writeHead(200, { 'content-type': 'text/event-stream', connection: 'keep-alive' });
      res.write(`event: hello\ndata: ${JSON.stringify({ jobs: host.listJobs() })}\n\n`);
      streams.add(res);
      const ping = setInterval(() => res.write(': ping\n\n'), 15_000);
      req.on('close', () => {
        clearInterval(ping);
        streams.delete(res);
      });
      return;
    }
    if (req.method === 'GET' && parts[1] === 'jobs' && parts.length === 2)
      return send(res, 200, host.listJobs());
    if (req.method !== 'POST')
      return send(res, 405, {
        error: { code: 'method', message: `${req.method} ${url.pathname} is not an API route` },
      });
    // POST routes carry the token in a header too (the cookie alone is not enough for a state change).
    if (
      !sameToken(
        typeof req.headers['x-monoscope-token'] === 'string'
          ? (req.headers['x-monoscope-token'] as string)
          : null,
        token,
      )
    ) {
      return send(res, 401, {
        error: { code: 'unauthorized', message: 'POST requests need the X-Monoscope-Token header' },
      });
    }
    if (parts[1] === 'call' && parts.length === 3)
      return send(res, 200, await host.query(parts[2], await readJson(req)));
    if (parts[1] === 'jobs' && parts.length === 3)
      return send(res, 202, host.startJob(parts[2], await readJson(req)));
    if (parts[1] === 'jobs' && parts.length === 4 && parts[3] === 'cancel') {
      const ok = host.cancel(parts[2]);
      return send(
        res,
        ok ? 202 : 404,
        ok
          ? { cancelling: parts[2] }
          : { error: { code: 'not-found', message: `no running job ${parts[2]}` } },
      );
    }
    send(res, 404, { error: { code: 'not-found', message: `no route ${url.pathname}` } });
  }

  try {
    await new Promise<void>((ok, fail) => {
      server.once('error', fail);
      server.listen(port, '127.0.0.1', () => ok());
    });
  } catch (e) {
    await host.close();
    throw e;
  }
  port = (server.address() as { port: number }).port;
  hosts = ownHosts(port);
  // The URL class leaves out a default port, as browsers do.
  const url = new URL(`http://127.0.0.1:${port}/?token=${token}`).href;
  return {
    url,
    port,
    token,
    host,
    server,
    close: async () => {
      for (const s of streams) s.end();
      const closed = new Promise<void>((ok) => server.close(() => ok()));
      server.closeAllConnections();
      await closed;
      await host.close();
    },
  };
}
