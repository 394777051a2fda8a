// The app's `app://monoscope/` scheme handler (src/main/app-protocol.ts), as Electron's protocol.handle calls
// it: fetch Requests in, Responses out. It serves the renderer folder's files with their MIME types and the
// CSP, and nothing else: no traversal (plain, %-encoded, backslashes, NUL), no sibling file, no other host.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP_INDEX_URL, appProtocolHandler } from '../../../src/main/app-protocol.js';

const CSP = "default-src 'self'; script-src 'self'";

describe('the app:// scheme', () => {
  let root: string;
  let handle: (r: Request) => Promise<Response>;

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'monoscope-scheme-'));
    const renderer = join(root, 'dist-renderer');
    mkdirSync(join(renderer, 'assets'), { recursive: true });
    writeFileSync(join(renderer, 'index.html'), '<!doctype html><title>app</title>');
    writeFileSync(join(renderer, 'assets', 'index-abc.js'), 'export {};');
    writeFileSync(join(renderer, 'assets', 'index-abc.css'), 'body{}');
    writeFileSync(join(renderer, 'assets', 'font.woff2'), 'w');
    writeFileSync(join(renderer, 'assets', 'tfjs.wasm'), 'w');
    writeFileSync(join(root, 'secret.txt'), 'not for the page');
    writeFileSync(join(root, 'dist-renderer-other.txt'), 'not for the page either');
    handle = appProtocolHandler(renderer, CSP);
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('serves the page and its assets with their MIME types, the CSP and nosniff', async () => {
    expect(APP_INDEX_URL).toBe('app://monoscope/index.html');
    const page = await handle(new Request(APP_INDEX_URL));
    expect(page.status).toBe(200);
    expect(await page.text()).toBe('<!doctype html><title>app</title>');
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toBe(CSP);
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect((await handle(new Request('app://monoscope/'))).status).toBe(200);
    for (const [path, type] of [
      ['assets/index-abc.js', 'text/javascript; charset=utf-8'],
      ['assets/index-abc.css', 'text/css; charset=utf-8'],
      ['assets/font.woff2', 'font/woff2'],
      ['assets/tfjs.wasm', 'application/wasm'],
    ]) {
      const r = await handle(new Request(`app://monoscope/${path}`));
      expect([r.status, r.headers.get('content-type')], path).toEqual([200, type]);
    }
    const head = await handle(new Request(APP_INDEX_URL, { method: 'HEAD' }));
    expect([head.status, await head.text()]).toEqual([200, '']);
  });

  it('refuses paths outside the renderer folder, however they are spelt', async () => {
    for (const path of [
      '../secret.txt',
      '..%2fsecret.txt',
      '..%2Fsecret.txt',
      '%2e%2e/secret.txt',
      '%2e%2e%2fsecret.txt',
      'assets/..%2f..%2fsecret.txt',
      '..%5csecret.txt',
      '%5c..%5csecret.txt',
      '..%252fsecret.txt',
      '%2fetc%2fpasswd',
      '..%2f..%2f..%2f..%2f..%2fetc%2fpasswd',
      '..%2fdist-renderer-other.txt',
      'index.html%00.png',
      'assets',
      'missing.js',
    ]) {
      const r = await handle(new Request(`app://monoscope/${path}`));
      const body = await r.text();
      expect(r.status, path).toBe(404);
      expect(body, path).not.toMatch(/not for the page/);
    }
    expect((await handle(new Request('app://monoscope/%E0%A4%A'))).status).toBe(400);
    expect((await handle(new Request('app://elsewhere/index.html'))).status).toBe(404);
    expect((await handle(new Request(APP_INDEX_URL, { method: 'POST', body: 'x' }))).status).toBe(405);
  });
});
