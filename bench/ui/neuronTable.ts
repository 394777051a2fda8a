// The neuron table of every layer (`#/neurons/CHECKPOINT/blocks.*.mlp.post`): the time from navigation to its
// first rows painted (the layers' `neurons.table` read and joined), then the time a sort by a column and a
// search take until the grid shows their result and a frame is painted after it. The first load may compute
// the layers' scores (then kept in the store): it is timed apart, as `coldMs`.
import type { Browser } from 'playwright-core';
import { median, openView } from './page.js';

export interface NeuronTableBenchOptions {
  baseUrl: string;
  browser: Browser;
  checkpoint: string;
  /** The layers' pattern, e.g. `blocks.*.mlp.post`. */
  pattern: string;
  /** Warm loads to time; default 3. */
  loads?: number;
}

/** Runs in the page: resolves with performance.now() two frames after the grid first has rows. */
const ROWS_PAINTED = `new Promise((resolve) => {
  const check = () => {
    if (!document.querySelector('.ms-row[data-neuron]')) return requestAnimationFrame(check);
    requestAnimationFrame(() => requestAnimationFrame(() => resolve(performance.now())));
  };
  check();
})`;

/**
 * Runs in the page: does `act`, then resolves with the ms until `changed` (an expression over `before`,
 * the value of `probe` before `act`) holds, and two frames more.
 */
const TIMED = (probe: string, act: string, changed: string) => `new Promise((resolve) => {
  const before = ${probe};
  const t0 = performance.now();
  const check = () => {
    if (!(${changed})) return requestAnimationFrame(check);
    requestAnimationFrame(() => requestAnimationFrame(() => resolve(performance.now() - t0)));
  };
  ${act};
  check();
})`;

/** Sorts by the Max column (descending): done when another row is first. */
const SORT = TIMED(
  `document.querySelector('.ms-row').id`,
  `[...document.querySelectorAll('[role="columnheader"] button')].find((b) => b.textContent.startsWith('Max')).click()`,
  `document.querySelector('.ms-row') && document.querySelector('.ms-row').id !== before`,
);

/** Types a search (as React sees an input event): done when the count of shown rows changed. */
const SEARCH = TIMED(
  `document.querySelector('.ms-filter-count').textContent`,
  `(() => { const box = document.querySelector('input[type="search"]');
     Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set.call(box, 'the');
     box.dispatchEvent(new Event('input', { bubbles: true })); })()`,
  `document.querySelector('.ms-filter-count').textContent !== before`,
);

/** The table of every layer: rows, cold and median warm ms to first rows, and ms to sort and to search. */
export async function allLayersTableMs(o: NeuronTableBenchOptions) {
  const hash = `#/neurons/${encodeURIComponent(o.checkpoint)}/${o.pattern}`;
  const load = async () => {
    const { context, page } = await openView(o.browser, o.baseUrl, hash, {
      viewport: { width: 1400, height: 1000 },
    });
    await page.waitForSelector('.ms-row[data-neuron]', { timeout: 600_000 });
    return { context, page, ms: (await page.evaluate(ROWS_PAINTED)) as number };
  };
  const cold = await load();
  await cold.context.close();
  const samples: number[] = [];
  let sortMs = NaN;
  let searchMs = NaN;
  let rows = 0;
  for (let i = 0; i < (o.loads ?? 3); i++) {
    const { context, page, ms } = await load();
    samples.push(ms);
    if (i === 0) {
      rows = Number(await page.locator('[role="grid"]').getAttribute('aria-rowcount')) - 1;
      sortMs = (await page.evaluate(SORT)) as number;
      searchMs = (await page.evaluate(SEARCH)) as number;
    }
    await context.close();
  }
  return {
    rows,
    coldMs: Math.round(cold.ms),
    medianMs: Math.round(median(samples)),
    sortMs: Math.round(sortMs),
    searchMs: Math.round(searchMs),
  };
}
