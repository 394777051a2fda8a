// What the bench:ui sections share: a page of a fresh browser context opened on a view of the served app,
// and the median of the samples they time.
import type { Browser, BrowserContext, BrowserContextOptions, Page } from 'playwright-core';

/**
 * A fresh browser context (no HTTP cache, no storage) with `options`, and a page of it opened at `hash` of
 * the app at `baseUrl` (the server's URL with its token); `init` runs in the page before its scripts.
 */
export async function openView(
  browser: Browser,
  baseUrl: string,
  hash: string,
  options: BrowserContextOptions,
  init?: string,
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext(options);
  try {
    const page = await context.newPage();
    if (init) await page.addInitScript({ content: init });
    const url = new URL(baseUrl);
    url.hash = hash;
    await page.goto(url.href);
    return { context, page };
  } catch (e) {
    await context.close();
    throw e;
  }
}

/** The median of `xs` (the mean of the two middle values for an even count). */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
