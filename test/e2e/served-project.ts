// E2E fixture: a project made by the demo pipeline (`monoscope demo --quick`), served by the real
// `monoscope serve` server (token, API, events), and a suite's session on it in a real Chromium.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContextOptions, Page } from 'playwright-core';
import type { RunningServer } from '../../src/main/server.js';
import { createHttpClient, type MonoscopeClient } from '../../src/renderer/api/client.js';
import { REPO, SCREENSHOTS, buildRenderer, launchChromium, serveCompiled, watchedPage } from './harness.js';
import { madeOnce } from '../helpers/made-once.js';

/**
 * The e2e project: made once by `monoscope demo --quick` (about a minute on 2 cores) into
 * `test-output/e2e-project` and reused by every e2e file; `MONOSCOPE_E2E_PROJECT` points elsewhere.
 */
export function demoProject(): string {
  const dir = process.env.MONOSCOPE_E2E_PROJECT ?? join(REPO, 'test-output', 'e2e-project');
  return madeOnce(dir, () =>
    execFileSync(process.execPath, [join(REPO, 'bin', 'monoscope.js'), 'demo', '--quick', '--project', dir], {
      stdio: ['ignore', 'ignore', 'inherit'],
      timeout: 600_000,
    }),
  );
}

/** A suite's session: the served project, its API, and a page of Chromium on it. */
export interface ServedSuite {
  /** The server; its `url` carries the token. */
  server: RunningServer;
  /** The project served: the demo project itself, or a private copy of it. */
  project: string;
  /** The API over HTTP with the server's token, as the page calls it. */
  api: MonoscopeClient;
  browser: Browser;
  page: Page;
  /** Opens the app at `hash` (`#/neurons/dpo`; '' for the first view). */
  go(hash: string): Promise<void>;
  /** Closes the browser and the server, and removes the private copy. */
  close(): Promise<void>;
}

/**
 * Serves the demo project with the compiled server and a renderer build of the suite's own
 * (test-output/e2e-renderer-SUITE: other suites rebuild dist-renderer/ while one runs), launches Chromium
 * and opens a page (`page`: Playwright's context options) whose errors are added to `problems`. With
 * `copy` the project is a private copy in the temp folder, for suites that write to it. Screenshots go to
 * {@link SCREENSHOTS}, made here.
 */
export async function openServedSuite(
  suite: string,
  o: { copy: boolean; page: BrowserContextOptions; problems: string[] },
): Promise<ServedSuite> {
  const project = o.copy ? mkdtempSync(join(tmpdir(), `monoscope-${suite}-view-`)) : demoProject();
  const opened: { server?: RunningServer; browser?: Browser } = {};
  const close = async () => {
    await opened.browser?.close();
    await opened.server?.close();
    if (o.copy) rmSync(project, { recursive: true, force: true });
  };
  try {
    if (o.copy) cpSync(demoProject(), project, { recursive: true });
    const rendererDir = await buildRenderer(join(REPO, 'test-output', `e2e-renderer-${suite}`));
    const server = (opened.server = await serveCompiled(project, rendererDir));
    const browser = (opened.browser = await launchChromium());
    mkdirSync(SCREENSHOTS, { recursive: true });
    const page = await watchedPage(browser, o.page, o.problems);
    return {
      server,
      project,
      api: createHttpClient({ baseUrl: new URL(server.url).origin, token: server.token }),
      browser,
      page,
      go: async (hash) => {
        const url = new URL(server.url);
        url.hash = hash;
        await page.goto(url.href);
      },
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}
