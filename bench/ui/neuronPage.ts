// The time to open a neuron page: in the Neurons view's table, a click on a row until the page's content
// (header, histogram, contexts, every panel filled from `neurons.page`) is in the document and a frame has
// been painted after it (two animation frames). Rows are opened once each, every other row, so none was
// asked for ahead of time (the view prefetches the neighbours of an open neuron). Returns the median (ms).
import type { Browser } from 'playwright-core';
import { median, openView } from './page.js';

export interface NeuronPageBenchOptions {
  /** The server's URL, with its token. */
  baseUrl: string;
  checkpoint: string;
  tap: string;
  browser: Browser;
  /** Pages to open; default 9. */
  opens?: number;
}

/** Runs in the page: clicks the row of `neuron`, resolves with ms until its page is painted. */
const OPEN = `(neuron) => new Promise((resolve, reject) => {
  const row = document.querySelector('[data-neuron="' + neuron + '"][role="row"]');
  if (!row) return reject(new Error('no table row for neuron ' + neuron));
  const done = () => document.querySelector('article.ms-page[data-loaded$="/' + neuron + '"]');
  const t0 = performance.now();
  const finish = () => requestAnimationFrame(() => requestAnimationFrame(() => resolve(performance.now() - t0)));
  const observer = new MutationObserver(() => {
    if (!done()) return;
    observer.disconnect();
    finish();
  });
  observer.observe(document.body, { childList: true, subtree: true, attributes: true, attributeFilter: ['data-loaded'] });
  row.click();
  if (done()) { observer.disconnect(); finish(); }
  setTimeout(() => { observer.disconnect(); reject(new Error('neuron ' + neuron + ' did not open in 60 s')); }, 60000);
})`;

/** Median ms from a click in the neuron table to the neuron's page painted. */
export async function neuronPageMs(o: NeuronPageBenchOptions): Promise<number> {
  const { context, page } = await openView(
    o.browser,
    o.baseUrl,
    `#/neurons/${encodeURIComponent(o.checkpoint)}/${encodeURIComponent(o.tap)}`,
    { viewport: { width: 1400, height: 1000 } },
  );
  try {
    await page.waitForSelector('.ms-row[data-neuron]', { timeout: 600_000 });
    // A first page warms the engine's caches (the tap's scores and correlations), as any session's first click does.
    const samples: number[] = [];
    const opens = o.opens ?? 9;
    for (let k = 0; k <= opens; k++) {
      const neuron = 2 * k;
      const ms = (await page.evaluate(`(${OPEN})(${neuron})`)) as number;
      if (k > 0) samples.push(ms);
      await page.keyboard.press('Escape');
      await page.waitForSelector('.ms-table-area:not([hidden]) .ms-row[data-neuron]', { timeout: 30_000 });
    }
    return Math.round(median(samples) * 10) / 10;
  } finally {
    await context.close();
  }
}
