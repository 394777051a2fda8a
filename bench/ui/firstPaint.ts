// Time to the first meaningful paint of the Project view: from navigation start until the runs table, the
// checkpoints table and the first training-curve figure are in the page and a frame has been painted
// after them (two animation frames). Each load is a fresh browser context (no HTTP cache, no storage).
import type { Browser } from 'playwright-core';
import { median, openView } from './page.js';

export interface FirstPaintOptions {
  /** The server's URL, with its token. */
  baseUrl: string;
  browser: Browser;
  /** Checkpoints the project holds (the table must show them all). */
  checkpoints: number;
  /** Page loads to time; default 7. */
  loads?: number;
}

/** Runs in the page before its scripts: records performance.now() when the view is meaningfully painted. */
const PROBE = (checkpoints: number) => `
(() => {
  const ready = () =>
    document.querySelectorAll('[aria-label="Training runs"] tbody tr').length > 0 &&
    document.querySelectorAll('[aria-label="Checkpoints"] tbody tr').length >= ${checkpoints} &&
    document.querySelector('.curve-cell .figure-svg svg') !== null;
  const observer = new MutationObserver(() => {
    if (window.__firstPaint !== undefined || !ready()) return;
    window.__firstPaint = -1;
    observer.disconnect();
    requestAnimationFrame(() => requestAnimationFrame(() => { window.__firstPaint = performance.now(); }));
  });
  document.addEventListener('DOMContentLoaded', () => observer.observe(document.body, { childList: true, subtree: true }));
})();`;

/** The median and every sample (ms) of the Project view's first meaningful paint over `loads` page loads. */
export async function firstPaintMs(o: FirstPaintOptions): Promise<{ medianMs: number; samplesMs: number[] }> {
  const samples: number[] = [];
  for (let i = 0; i < (o.loads ?? 7); i++) {
    const { context, page } = await openView(
      o.browser,
      o.baseUrl,
      '#/project',
      { viewport: { width: 1400, height: 1000 } },
      PROBE(o.checkpoints),
    );
    // Functions, not strings: the app's CSP forbids eval.
    const paintedAt = () => (globalThis as { __firstPaint?: number }).__firstPaint ?? 0;
    await page.waitForFunction(() => (globalThis as { __firstPaint?: number }).__firstPaint! > 0, undefined, {
      timeout: 60_000,
    });
    samples.push(await page.evaluate(paintedAt));
    await context.close();
  }
  return {
    medianMs: Math.round(median(samples) * 10) / 10,
    samplesMs: samples.map((s) => Math.round(s * 10) / 10),
  };
}
