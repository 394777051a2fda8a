// E2E helpers: build the renderer, serve it (as static files, or with a project by the compiled
// `monoscope serve` server) from 127.0.0.1, and drive Debian's Chromium with playwright-core.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type BrowserContextOptions, type Page } from 'playwright-core';
import type { RunningServer, ServeOptions } from '../../src/main/server.js';

export const REPO = resolve(import.meta.dirname, '../..');
export const RENDERER_DIST = join(REPO, 'dist-renderer');
/** Where the e2e suites save their screenshots and exported files. */
export const SCREENSHOTS = join(REPO, 'test-output', 'e2e');

/** Path of the Chromium binary: $CHROMIUM_PATH, else `chromium` (or `chromium-browser`) on PATH. */
export function findChromium(): string {
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`CHROMIUM_PATH=${fromEnv} does not exist`);
    return fromEnv;
  }
  for (const name of ['chromium', 'chromium-browser']) {
    try {
      const path = execFileSync('which', [name], { encoding: 'utf8' }).trim();
      if (path) return path;
    } catch {
      // not on PATH; try the next name
    }
  }
  throw new Error('No Chromium found: install it (`apt-get install -y chromium`) or set CHROMIUM_PATH');
}

/**
 * Headless Chromium for tests: no sandbox (tests run as root), and no traffic of its own (this machine is
 * offline; Chromium would otherwise try component updates, safe browsing, sync and the like).
 */
export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: findChromium(),
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-dev-shm-usage',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-domain-reliability',
      '--disable-sync',
      '--disable-breakpad',
      '--metrics-recording-only',
      '--no-default-browser-check',
      '--no-first-run',
      '--no-pings',
      '--disable-features=OptimizationHints,MediaRouter,Translate,AutofillServerCommunication,CertificateTransparencyComponentUpdater',
    ],
  });
}

/**
 * A page of `browser` in a context of its own (`options` as Playwright's), whose page errors and console
 * errors are added to `problems` (the suites expect none).
 */
export async function watchedPage(
  browser: Browser,
  options: BrowserContextOptions,
  problems: string[],
): Promise<Page> {
  const page = await browser.newPage(options);
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  return page;
}

/**
 * Builds the renderer with the project's Vite config into `outDir` (default dist-renderer/; about a
 * second), as users run it: React's production build.
 */
export async function buildRenderer(outDir = RENDERER_DIST): Promise<string> {
  const { build } = await import('vite');
  // Vitest sets NODE_ENV=test, which would give React's development build; test what users run.
  const env = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  try {
    await build({
      configFile: join(REPO, 'electron.config.ts'),
      logLevel: 'warn',
      mode: 'production',
      build: { outDir, emptyOutDir: true },
    });
  } finally {
    process.env.NODE_ENV = env;
  }
  if (!existsSync(join(outDir, 'index.html'))) throw new Error(`vite build produced no ${outDir}/index.html`);
  return outDir;
}

/**
 * `projectDir` and the renderer in `rendererDir` served as `monoscope serve` serves them: by the compiled
 * server (`npm run build:node` first), whose engine runs in worker threads loaded from dist/. Its `url`
 * carries the token.
 */
export async function serveCompiled(projectDir: string, rendererDir: string): Promise<RunningServer> {
  const { serve } = (await import(pathToFileURL(join(REPO, 'dist', 'main', 'server.js')).href)) as {
    serve: (o: ServeOptions) => Promise<RunningServer>;
  };
  return serve({ projectDir, rendererDir });
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ttf': 'font/ttf',
  '.woff2': 'font/woff2',
};

/** Serves the files under `root` on 127.0.0.1 at a free port; GET only, nothing outside `root`. */
export async function serveDir(root: string): Promise<{ url: string; close: () => Promise<void> }> {
  const base = resolve(root);
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://127.0.0.1').pathname);
    const file = normalize(join(base, path.endsWith('/') ? path + 'index.html' : path));
    if (
      req.method !== 'GET' ||
      (file !== base && !file.startsWith(base + sep)) ||
      !existsSync(file) ||
      !statSync(file).isFile()
    ) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, {
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      'cache-control': 'no-store',
    });
    res.end(readFileSync(file));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}
