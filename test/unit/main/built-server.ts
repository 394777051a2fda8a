// The built server (dist/main/server.js), which the server tests run: its engine workers are the compiled ones.
import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const SERVER_JS = join(resolve(import.meta.dirname, '../../..'), 'dist', 'main', 'server.js');

/** `serve` from the built server; a clear error when it was not built. */
export async function builtServe(): Promise<typeof import('../../../src/main/server.js').serve> {
  if (!existsSync(SERVER_JS)) {
    throw new Error(`${SERVER_JS} is missing: run npm run build:node first (npm test does)`);
  }
  const mod = (await import(pathToFileURL(SERVER_JS).href)) as typeof import('../../../src/main/server.js');
  return mod.serve;
}

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One raw request to the server; `host` overrides the Host header. */
export function raw(
  port: number,
  o: {
    method?: string;
    path: string;
    host?: string;
    headers?: Record<string, string>;
    body?: string | Buffer;
  },
): Promise<Reply> {
  return new Promise((ok, fail) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: o.method ?? 'GET',
        path: o.path,
        headers: { host: o.host ?? `127.0.0.1:${port}`, ...o.headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          ok({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      },
    );
    req.on('error', fail);
    req.end(o.body);
  });
}

export const errorOf = (r: Reply) =>
  (JSON.parse(r.body) as { error: { code: string; message: string } }).error;
