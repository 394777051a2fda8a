// The guards of `monoscope serve`, against the built server (dist/main/server.js) with raw HTTP requests, so
// that the Host header, the cookie and malformed bodies are ours to choose: the address it listens on, the
// token (query, cookie, header), the DNS-rebinding guard, the CSRF rule for POSTs, body validation, the
// static files' confinement to the renderer folder, and the security headers.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../../src/main/server.js';
import { openProject } from '../../../src/core/store/project.js';
import { builtServe, errorOf, raw } from './built-server.js';

const TOKEN = 'b'.repeat(64);
const INDEX = '<!doctype html><title>monoscope test page</title>';

describe('monoscope serve: guards', () => {
  let root: string;
  let server: RunningServer;
  let port: number;
  const json = (extra: Record<string, string> = {}) => ({
    'content-type': 'application/json',
    'x-monoscope-token': TOKEN,
    ...extra,
  });

  beforeAll(async () => {
    const serve = await builtServe();
    root = mkdtempSync(join(tmpdir(), 'monoscope-guards-'));
    const renderer = join(root, 'renderer');
    mkdirSync(renderer);
    writeFileSync(join(renderer, 'index.html'), INDEX);
    writeFileSync(join(renderer, 'app.js'), 'export {};');
    writeFileSync(join(root, 'secret.txt'), 'not for the browser');
    openProject(join(root, 'project'), { create: true }).close();
    server = await serve({ projectDir: join(root, 'project'), token: TOKEN, rendererDir: renderer });
    port = server.port;
  });
  afterAll(async () => {
    await server?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('listens on 127.0.0.1 only, and prints a URL there with its token', () => {
    expect((server.server.address() as { address: string }).address).toBe('127.0.0.1');
    expect(server.url).toBe(`http://127.0.0.1:${port}/?token=${TOKEN}`);
  });

  it('refuses requests without the token, or with a wrong one, before anything else', async () => {
    for (const path of ['/', '/app.js', '/api/ops', '/api/jobs', '/api/events']) {
      const r = await raw(port, { path });
      expect(r.status, path).toBe(401);
      expect(errorOf(r).code).toBe('unauthorized');
    }
    const wrongSameLength = 'c'.repeat(64);
    expect((await raw(port, { path: `/?token=${wrongSameLength}` })).status).toBe(401);
    expect((await raw(port, { path: '/?token=short' })).status).toBe(401);
    expect(
      (await raw(port, { path: '/api/ops', headers: { 'x-monoscope-token': wrongSameLength } })).status,
    ).toBe(401);
    expect(
      (await raw(port, { path: '/api/ops', headers: { cookie: 'monoscope_token=%E0%A4%A' } })).status,
    ).toBe(401);
  });

  it('refuses a foreign Host header even with the token (DNS rebinding)', async () => {
    for (const host of ['evil.example', `evil.example:${port}`, `127.0.0.1:${port + 1}`, `0.0.0.0:${port}`]) {
      const r = await raw(port, { path: `/?token=${TOKEN}`, host });
      expect(r.status, host).toBe(403);
      expect(errorOf(r).code).toBe('forbidden');
    }
    expect((await raw(port, { path: `/?token=${TOKEN}`, host: `localhost:${port}` })).status).toBe(200);
  });

  it('serves the page with the token, sets an HttpOnly SameSite=Strict cookie and strict headers', async () => {
    const r = await raw(port, { path: `/?token=${TOKEN}` });
    expect(r.status).toBe(200);
    expect(r.body).toBe(INDEX);
    expect(r.headers['content-type']).toMatch(/^text\/html/);
    expect(r.headers['set-cookie']).toEqual([`monoscope_token=${TOKEN}; HttpOnly; SameSite=Strict; Path=/`]);
    const csp = String(r.headers['content-security-policy']);
    for (const d of [
      "default-src 'self'",
      "script-src 'self'",
      "object-src 'none'",
      "frame-ancestors 'none'",
    ])
      expect(csp).toContain(d);
    expect(csp).not.toMatch(/script-src[^;]*unsafe/);
    expect(r.headers['x-content-type-options']).toBe('nosniff');
    expect(r.headers['referrer-policy']).toBe('no-referrer');
    // The cookie then carries the token for the page's assets and GET API calls.
    const cookie = { cookie: `monoscope_token=${TOKEN}` };
    expect((await raw(port, { path: '/app.js', headers: cookie })).status).toBe(200);
    const ops = await raw(port, { path: '/api/ops', headers: cookie });
    expect(ops.status).toBe(200);
    expect((JSON.parse(ops.body) as { name: string }[]).map((o) => o.name)).toContain('train');
  });

  it('needs the token header on every POST: the cookie alone (a cross-site form) changes nothing', async () => {
    const viaCookie = await raw(port, {
      method: 'POST',
      path: '/api/jobs/train',
      headers: { 'content-type': 'application/json', cookie: `monoscope_token=${TOKEN}` },
      body: JSON.stringify({ name: 'x', stage: 'pretrain', steps: 1 }),
    });
    expect(viaCookie.status).toBe(401);
    expect(errorOf(viaCookie).message).toMatch(/X-Monoscope-Token/);
    const viaQuery = await raw(port, {
      method: 'POST',
      path: `/api/call/runs.list?token=${TOKEN}`,
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(viaQuery.status).toBe(401);
    expect(server.host.listJobs()).toEqual([]);
  });

  it('validates every body: type, size, JSON, the operation and its fields', async () => {
    const post = (path: string, body: string | Buffer, headers = json()) =>
      raw(port, { method: 'POST', path, headers, body });
    const notJson = await post('/api/call/runs.list', '{}', json({ 'content-type': 'text/plain' }));
    expect([notJson.status, errorOf(notJson).message]).toEqual([400, 'the body must be application/json']);
    const huge = await post('/api/call/runs.list', Buffer.alloc((1 << 20) + 1, 0x20));
    expect(huge.status).toBe(400);
    expect(errorOf(huge).message).toMatch(/larger than 1048576 bytes/);
    const broken = await post('/api/call/runs.list', '{"a":');
    expect(broken.status).toBe(400);
    expect(errorOf(broken).message).toMatch(/not valid JSON/);
    const unknown = await post('/api/call/no.such.op', '{}');
    expect([unknown.status, errorOf(unknown).code]).toEqual([404, 'unknown-op']);
    const extra = await post('/api/call/runs.metrics', '{"runId":"r","extra":1}');
    expect(extra.status).toBe(400);
    expect(errorOf(extra).message).toMatch(/extra/);
    const wrongType = await post('/api/call/runs.metrics', '{"runId":5}');
    expect(wrongType.status).toBe(400);
    expect(errorOf(wrongType).message).toMatch(/runId/);
    const jobAsQuery = await post('/api/call/train', '{"name":"x","stage":"pretrain"}');
    expect(jobAsQuery.status).toBe(400);
    expect(server.host.listJobs()).toEqual([]);
  });

  it('answers other methods and routes with 405 and 404, and a bad job id with 404', async () => {
    expect((await raw(port, { method: 'PUT', path: '/api/call/runs.list', headers: json() })).status).toBe(
      405,
    );
    expect((await raw(port, { method: 'DELETE', path: '/', headers: json() })).status).toBe(405);
    expect(
      (await raw(port, { method: 'POST', path: '/api/nothing/here', headers: json(), body: '{}' })).status,
    ).toBe(404);
    const cancel = await raw(port, { method: 'POST', path: '/api/jobs/no-such-job/cancel', headers: json() });
    expect([cancel.status, errorOf(cancel).code]).toEqual([404, 'not-found']);
  });

  it('serves files of the renderer folder only: no traversal, and malformed escapes are a 400', async () => {
    const headers = { 'x-monoscope-token': TOKEN };
    for (const path of [
      '/..%2Fsecret.txt',
      '/%2E%2E/secret.txt',
      '/..%5Csecret.txt',
      '/%2F..%2F..%2Fsecret.txt',
    ]) {
      const r = await raw(port, { path, headers });
      expect(r.body, path).not.toContain('not for the browser');
      expect([200, 404], path).toContain(r.status);
      if (r.status === 200) expect(r.body, path).toBe(INDEX);
    }
    const bad = await raw(port, { path: '/%E0%A4%A', headers });
    expect([bad.status, errorOf(bad).code]).toEqual([400, 'invalid-input']);
  });
});
