// The Neurons view in real Chromium against the real server, on a private copy of the demo project: the
// table's rows equal `neurons.table`, sorting and filters, keyboard navigation, the neuron page's panels
// equal `neurons.page` (contexts, quantiles, logit effects, correlated neurons), counterparts and the live
// box equal their queries, a missing tap recorded from the view, and the error states. The table's sort and
// filter functions and the hash routes are checked on hand-made data first. Screenshots: test-output/e2e/.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { SCREENSHOTS } from './harness.js';
import { openServedSuite, type ServedSuite } from './served-project.js';
import type { MonoscopeClient } from '../../src/renderer/api/client.js';
import { displayToken } from '../../src/shared/figures/index.js';
import { dec3, num, pct } from '../../src/renderer/app/neurons/format.js';
import { formatHash, parseHash } from '../../src/renderer/app/neurons/hash.js';
import {
  NO_FILTER,
  cellText,
  columnsOf,
  filteredOrder,
  neuronRows,
  type NeuronTableData,
} from '../../src/renderer/app/neurons/table.js';

const REF = { checkpoint: 'dpo', tap: 'blocks.1.mlp.post' };

describe('neuron table functions', () => {
  // Four neurons, with values chosen so every order is known by hand.
  const t = {
    checkpoint: 'x',
    tap: 'blocks.0.mlp.post',
    neurons: 4,
    rows: 10,
    concepts: ['animal', 'food'],
    mean: Float32Array.from([0.1, 0.3, NaN, 0.2]),
    std: Float32Array.from([1, 1, 1, 1]),
    max: Float32Array.from([2, 5, 1, 5]),
    density: Float32Array.from([0.5, 0.0005, 0.9, 0.2]),
    label: ['polysemantic', 'dead', 'monosemantic', 'monosemantic'],
    dominantConcept: [null, null, 'food', 'animal'],
    topKShare: Float32Array.from([0.2, 0, 0.9, 0.85]),
    selectivity: Float32Array.from([0.1, 0, 0.8, 0.6]),
    nmi: Float32Array.from([0, 0, 0.5, 0.4]),
    memelMean: Float32Array.from([1, 1, 2, 1.5]),
    topToken: ['the', null, 'bread', 'Cat'],
  } as unknown as NeuronTableData;
  const rows = neuronRows(t.tap, [t]);

  it('sorts by any column, ties by index and NaN last, and filters by label, concept, density and score', () => {
    const order = (f = NO_FILTER, key: string = 'neuron', descending = false) =>
      Array.from(filteredOrder(rows, f, { key: key as 'neuron', descending }));
    expect(order()).toEqual([0, 1, 2, 3]);
    expect(order(NO_FILTER, 'max', true)).toEqual([1, 3, 0, 2]); // 5, 5 (tie: index), 2, 1
    expect(order(NO_FILTER, 'mean', false)).toEqual([0, 3, 1, 2]); // NaN last ascending…
    expect(order(NO_FILTER, 'mean', true)).toEqual([1, 3, 0, 2]); // …and descending
    expect(order(NO_FILTER, 'label')).toEqual([1, 2, 3, 0]); // dead < monosemantic < polysemantic
    expect(order({ ...NO_FILTER, label: 'monosemantic' })).toEqual([2, 3]);
    expect(order({ ...NO_FILTER, concept: 'none' })).toEqual([0, 1]);
    expect(order({ ...NO_FILTER, concept: 'food' })).toEqual([2]);
    expect(order({ ...NO_FILTER, densityMin: 0.2, densityMax: 0.6 })).toEqual([0, 3]);
    expect(order({ ...NO_FILTER, score: 'selectivity', scoreMin: 0.6 })).toEqual([2, 3]);
    expect(order({ ...NO_FILTER, score: 'mean', scoreMin: 0 })).toEqual([0, 1, 3]); // NaN fails a threshold
    expect(order({ ...NO_FILTER, search: 'CAT' })).toEqual([3]); // top token, any case
    expect(order({ ...NO_FILTER, search: 'oo' })).toEqual([2]); // concept "food"
    expect(order(NO_FILTER, 'topToken')).toEqual([1, 2, 3, 0]); // '' (none) < bread < Cat < the
  });

  it('joins the tables of several layers into one: rows by layer, then neuron, sortable and searchable', () => {
    const t3 = {
      ...t,
      ...Object.fromEntries(
        (['mean', 'std', 'topKShare', 'selectivity', 'nmi', 'memelMean'] as const).map((k) => [
          k,
          t[k].slice(0, 2),
        ]),
      ),
      tap: 'blocks.3.mlp.post',
      neurons: 2,
      max: Float32Array.from([9, 0]),
      density: Float32Array.from([0.3, 0.4]),
      label: ['monosemantic', 'polysemantic'],
      dominantConcept: ['animal', null],
      topToken: ['dog', 'of'],
    } as unknown as NeuronTableData;
    const all = neuronRows('blocks.*.mlp.post', [t, t3]);
    expect(all.neurons).toBe(6);
    expect(Array.from(all.layer)).toEqual([0, 0, 0, 0, 3, 3]);
    expect(Array.from(all.neuronOf)).toEqual([0, 1, 2, 3, 0, 1]);
    expect(all.shares.monosemantic).toBeCloseTo(3 / 6, 12);
    expect(columnsOf(all)[0].key).toBe('layer');
    expect(columnsOf(rows).some((c) => c.key === 'layer')).toBe(false);
    const order = (f = NO_FILTER, key: string = 'layer', descending = false) =>
      Array.from(filteredOrder(all, f, { key: key as 'layer', descending }));
    expect(order(NO_FILTER, 'max', true)).toEqual([4, 1, 3, 0, 2, 5]); // 9, 5, 5, 2, 1, 0
    expect(order(NO_FILTER, 'neuron')).toEqual([0, 4, 1, 5, 2, 3]); // neuron, then layer
    expect(order(NO_FILTER, 'layer', true)).toEqual([4, 5, 0, 1, 2, 3]); // ties in row order
    expect(order({ ...NO_FILTER, concept: 'animal' })).toEqual([3, 4]);
    expect(order({ ...NO_FILTER, search: 'do' })).toEqual([4]);
    const col = (k: string) => columnsOf(all).find((c) => c.key === k)!;
    expect([cellText(all, col('layer'), 5), cellText(all, col('neuron'), 5)]).toEqual(['3', '1']);
    expect(cellText(all, col('topToken'), 1)).toBe('—');
  });

  it('reads and writes the selection in the hash', () => {
    const h = formatHash('neurons', ['dpo', 'blocks.1.mlp.post', 42]);
    expect(h).toBe('#/neurons/dpo/blocks.1.mlp.post/42');
    expect(parseHash(h, 'neurons').parts).toEqual(['dpo', 'blocks.1.mlp.post', '42']);
    expect(parseHash(h, 'heatmap').parts).toEqual([]);
    const q = formatHash('heatmap', ['a b', 'blocks.0.mlp.pre'], { diff: 'base', order: undefined });
    expect(q).toBe('#/heatmap/a%20b/blocks.0.mlp.pre?diff=base');
    const back = parseHash(q, 'heatmap');
    expect(back.parts).toEqual(['a b', 'blocks.0.mlp.pre']);
    expect(back.params.get('diff')).toBe('base');
  });
});

describe('Neurons view', () => {
  let suite: ServedSuite;
  let api: MonoscopeClient;
  let page: Page;
  const problems: string[] = [];

  const go = (hash: string) => suite.go(hash);
  /** The neurons of the table's rows in the document, top to bottom (expressions run in the page). */
  const rowNeurons = async () =>
    (await page.evaluate(
      `[...document.querySelectorAll('.ms-row[data-neuron]')]
        .map((r) => ({ n: Number(r.getAttribute('data-neuron')), y: r.getBoundingClientRect().top }))
        .sort((a, b) => a.y - b.y)
        .map((r) => r.n)`,
    )) as number[];
  const cell = (neuron: number, column: number) =>
    page.locator(`.ms-row[data-neuron="${neuron}"] [role="gridcell"]`).nth(column).textContent();

  beforeAll(async () => {
    // A private copy: recording from the view writes to it.
    suite = await openServedSuite('neurons', {
      copy: true,
      page: { viewport: { width: 1400, height: 1000 }, colorScheme: 'light' },
      problems,
    });
    ({ api, page } = suite);
  });
  afterAll(() => suite?.close());

  it('shows every neuron of the tap as neurons.table returns it, sorted and filtered', async () => {
    const table = await api.call('neurons.table', REF);
    await go('#/neurons/dpo/blocks.1.mlp.post');
    await page.locator('.ms-row[data-neuron]').first().waitFor();
    expect(await page.locator('.ms-filter-count').textContent()).toContain(
      `${table.neurons} of ${table.neurons} neurons`,
    );
    // Virtualized: far fewer rows in the document than neurons.
    expect(await page.locator('.ms-row').count()).toBeLessThan(60);
    for (const n of [0, 2, 7]) {
      expect(await cell(n, 1)).toBe(table.label[n]);
      expect(await cell(n, 2)).toBe(table.dominantConcept[n] ?? '—');
      expect(await cell(n, 3)).toBe(table.topToken[n] ?? '—');
      expect(await cell(n, 6)).toBe(num(table.max[n]));
      expect(await cell(n, 7)).toBe(pct(table.density[n]));
      expect(await cell(n, 9)).toBe(dec3(table.selectivity[n]));
    }
    // The shares line names the label rule and the shares the API computed.
    expect(await page.locator('.ms-shares').textContent()).toContain(pct(table.shares.monosemantic));

    // Sort by Max, descending on the first click.
    await page.getByRole('columnheader', { name: 'Max' }).getByRole('button').click();
    expect(await page.getByRole('columnheader', { name: 'Max' }).getAttribute('aria-sort')).toBe(
      'descending',
    );
    const byMax = Array.from(table.max.keys()).sort((a, b) => table.max[b] - table.max[a] || a - b);
    expect((await rowNeurons()).slice(0, 5)).toEqual(byMax.slice(0, 5));

    // Filter: monosemantic neurons only.
    await page.getByLabel('Label').selectOption('monosemantic');
    const mono = table.label.filter((l) => l === 'monosemantic').length;
    expect(await page.locator('.ms-filter-count').textContent()).toContain(`${mono} of ${table.neurons}`);
    const shown = await rowNeurons();
    expect(shown.length).toBe(Math.min(mono, shown.length));
    for (const n of shown) expect(table.label[n]).toBe('monosemantic');
    // A threshold nothing passes: the empty state, with a way out.
    await page.getByLabel('at least').fill('5');
    await expect
      .poll(() => page.locator('.state-empty h3').textContent())
      .toBe('No neuron passes these filters');
    await page.locator('.state-empty').getByRole('button', { name: 'Clear filters' }).click();
    expect(await page.locator('.ms-filter-count').textContent()).toContain(
      `${table.neurons} of ${table.neurons} neurons`,
    );
    await page.setViewportSize({ width: 1400, height: 1100 });
    await page.screenshot({ path: join(SCREENSHOTS, 'neurons-table-light.png') });
    await page.setViewportSize({ width: 1400, height: 1000 });
  });

  it('moves with the arrow keys, opens with Enter and shows the page neurons.page returns', async () => {
    const order = await rowNeurons(); // still sorted by Max, descending
    await page.getByRole('grid').focus();
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    expect(await page.locator('.ms-row.active').getAttribute('data-neuron')).toBe(String(order[3]));
    await page.keyboard.press('Enter');
    const neuron = order[3];
    await expect.poll(() => new URL(page.url()).hash).toBe(`#/neurons/dpo/blocks.1.mlp.post/${neuron}`);
    await page.locator(`article.ms-page[data-loaded="dpo/blocks.1.mlp.post/${neuron}"]`).waitFor();
    const p = await api.call('neurons.page', { ref: REF, neuron });

    expect(await page.locator('.ms-page-head h2').textContent()).toBe(`Neuron ${neuron} of ${p.neurons}`);
    expect(await page.locator('.ms-page-head .ms-badge').textContent()).toBe(p.mono.label);
    const stat = (label: string) =>
      page
        .locator('.ms-stat', { has: page.locator('dt', { hasText: new RegExp(`^${label}$`) }) })
        .locator('dd')
        .textContent();
    expect(await stat('Density')).toBe(pct(p.stats.density));
    expect(await stat('Max')).toBe(num(p.stats.max));
    expect(await stat('NMI')).toBe(dec3(p.mono.nmi));
    // The mono score's definition with the thresholds in force.
    expect(await page.locator('.ms-page-head .ms-what').textContent()).toContain(
      `selectivity ≥ ${p.thresholds.minSelectivity}`,
    );

    // Top contexts: values, tokens and the ranked token's activation as the store has them.
    const first = page.locator('.ms-examples').first().locator('.ms-example').first();
    expect(await first.locator('.ms-example-value').textContent()).toBe(num(p.topExamples[0].value));
    expect(await first.locator('.ms-token').allTextContents()).toEqual(
      p.topExamples[0].text.map(displayToken),
    );
    const focus = first.locator('.ms-token.focus');
    expect(Number(await focus.getAttribute('data-value'))).toBeCloseTo(p.topExamples[0].value, 6);
    expect(await focus.getAttribute('data-tip')).toContain(num(p.topExamples[0].value));
    expect(await page.locator('.ms-example').count()).toBeGreaterThanOrEqual(
      Math.min(10, p.topExamples.length),
    );

    // Histogram, concept means and logit-effects figures are drawn; the quantile groups are listed.
    expect(await page.locator('.figure-svg svg[data-figure="histogram"]').count()).toBe(2);
    expect(await page.locator('.figure-svg svg[data-figure="groupedBarChart"]').count()).toBe(1);
    expect(await page.locator('.ms-quantile').count()).toBe(p.quantiles.length);
    const promoted = await page
      .getByRole('table', { name: 'Tokens promoted' })
      .locator('.ms-token')
      .allTextContents();
    expect(promoted).toEqual(p.logitEffects.positive.map((x) => JSON.stringify(x.token).slice(1, -1)));

    // Counterparts load when scrolled to, equal to the query.
    await page.locator('.ms-counterparts').scrollIntoViewIfNeeded();
    const cps = await api.call('neurons.counterparts', { ref: REF, neuron });
    await expect
      .poll(() => page.locator('.ms-counterparts tbody tr').count(), { timeout: 30_000 })
      .toBe(cps.length);
    for (const [i, c] of cps.entries()) {
      const row = page.locator('.ms-counterparts tbody tr').nth(i);
      expect(await row.locator('td').nth(0).textContent()).toBe(c.checkpoint);
      expect(await row.locator('td').nth(5).textContent()).toBe(dec3(c.sameIndexR));
      expect(await row.locator('td').nth(7).textContent()).toBe(dec3(c.bestMatch.r));
    }

    // The live box: typed text, debounced, tokens and values of neurons.live.
    const text = 'you jerk, i hate you!';
    await page.getByLabel(/Type text to see neuron/).fill(text);
    const live = await api.call('neurons.live', { ref: REF, neuron, text });
    const out = page.locator('.ms-live-out');
    await expect.poll(() => out.locator('.ms-token').count(), { timeout: 30_000 }).toBe(live.tokens.length);
    expect(await out.locator('.ms-token').allTextContents()).toEqual(live.tokens.map(displayToken));
    const values = (await page.evaluate(
      `[...document.querySelectorAll('.ms-live-out .ms-token')].map((e) => Number(e.getAttribute('data-value')))`,
    )) as number[];
    values.forEach((v, i) => expect(v).toBeCloseTo(live.values[i], 5));

    await page.setViewportSize({ width: 1400, height: 3600 });
    await page.evaluate(`document.querySelector('.content').scrollTo(0, 0)`);
    await page.screenshot({ path: join(SCREENSHOTS, 'neurons-page-light.png') });
    await page.emulateMedia({ colorScheme: 'dark' });
    await expect.poll(() => page.locator('html').getAttribute('data-theme')).toBe('dark');
    await page.screenshot({ path: join(SCREENSHOTS, 'neurons-page-dark.png') });
    await page.emulateMedia({ colorScheme: 'light' });
    await page.setViewportSize({ width: 1400, height: 1000 });

    // ] steps to the next neuron in the table's order; a correlated neuron's link opens it; Escape goes back.
    await page.locator('body').click({ position: { x: 5, y: 5 } });
    await page.keyboard.press(']');
    await page.locator(`article.ms-page[data-loaded="dpo/blocks.1.mlp.post/${order[4]}"]`).waitFor();
    const p2 = await api.call('neurons.page', { ref: REF, neuron: order[4] });
    await page
      .locator('.ms-panel', { hasText: 'Correlated neurons' })
      .getByRole('button', { name: `neuron ${p2.correlated[0].neuron}` })
      .click();
    await page
      .locator(`article.ms-page[data-loaded="dpo/blocks.1.mlp.post/${p2.correlated[0].neuron}"]`)
      .waitFor();
    await page.keyboard.press('Escape');
    await page.locator('.ms-table-area:not([hidden]) .ms-row').first().waitFor();
    expect(new URL(page.url()).hash).toBe('#/neurons/dpo/blocks.1.mlp.post');
    expect(await page.evaluate('document.activeElement.getAttribute("role")')).toBe('grid');
  });

  it('records a missing tap from the view, then lists its neurons', async () => {
    // A tap of the copy that nothing has recorded yet.
    const recorded = await api.call('recordings.list', {});
    const candidates = ['decpo', 'dpo', 'base'].flatMap((ck) =>
      ['blocks.1.resid_post', 'blocks.0.resid_post', 'blocks.1.mlp.pre', 'blocks.0.mlp.pre'].map((tap) => ({
        ck,
        tap,
      })),
    );
    const { ck, tap } = candidates.find(
      (c) => !recorded.some((r) => r.checkpoint === c.ck && r.tap === c.tap),
    )!;
    await go(`#/neurons/${ck}/${tap}`);
    await expect
      .poll(() => page.locator('.state-empty h3').textContent())
      .toBe(`${tap} of ${ck} is not recorded yet`);
    expect(await page.getByLabel('Tap').locator('option', { hasText: tap }).textContent()).toContain(
      '(not recorded)',
    );
    await page.getByRole('button', { name: `Record ${tap} of ${ck}` }).click();
    await page.locator('.ms-row[data-neuron]').first().waitFor({ timeout: 60_000 });
    const rec = (await api.call('recordings.list', {})).find((r) => r.checkpoint === ck && r.tap === tap);
    expect(rec?.status).toBe('complete');
    expect(await page.locator('.ms-filter-count').textContent()).toContain(
      `${rec!.cols} of ${rec!.cols} neurons`,
    );
  });

  it('says what went wrong: an unknown checkpoint, a neuron out of range', async () => {
    await go('#/neurons/nope/blocks.0.mlp.post');
    await expect.poll(() => page.locator('.state-error h3').textContent()).toBe("No checkpoint named 'nope'");
    await go('#/neurons/dpo/blocks.1.mlp.post/9999');
    await expect
      .poll(() => page.locator('.state-error h3').textContent(), { timeout: 30_000 })
      .toBe('Neuron 9999 could not be read');
    expect(await page.locator('.state-error .error-message').textContent()).toContain(
      'neuron 9999 does not exist in blocks.1.mlp.post',
    );
    expect(problems.filter((p) => !p.includes('404') && !p.includes('Failed to load resource'))).toEqual([]);
  });
});
