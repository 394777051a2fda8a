// The Heatmap view in real Chromium against the real server (the demo project): the summary equals
// `correlation.matrix`, the canvas's pixels are the heatmap figure's colours, hover reports the cell's
// neurons and r (or Δr) as the API has them, zoom and pan move the view as the viewport math says, a click
// opens the row neuron's page, and the export is the heatmap figure. The viewport math and the image
// pyramid are checked on hand-computed cases first. Screenshots go to test-output/e2e/.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { SCREENSHOTS } from './harness.js';
import { openServedSuite, type ServedSuite } from './served-project.js';
import type { MonoscopeClient } from '../../src/renderer/api/client.js';
import { heatmapColourScale, heatmapRaster, themeOf } from '../../src/shared/figures/index.js';
import { dec3, num, signed } from '../../src/renderer/app/neurons/format.js';
import { blockReduce } from '../../src/shared/specs/pyramid.js';
import {
  cellAt,
  clampViewport,
  fitViewport,
  permuted,
  pyramidLevel,
  visibleRange,
  zoomAt,
} from '../../src/renderer/app/heatmap/viewport.js';

const REF = { checkpoint: 'dpo', tap: 'blocks.1.mlp.post' };

describe('heatmap viewport', () => {
  it('fits, zooms about a point, clamps, and finds cells', () => {
    // 4 cells in a 100 × 50 box: 12.5 px a cell, centred horizontally.
    const fit = fitViewport(4, 100, 50);
    expect(fit).toEqual({ scale: 12.5, x: 25, y: 0 });
    expect(cellAt(fit, 25, 0, 4)).toEqual({ row: 0, col: 0 });
    expect(cellAt(fit, 74.9, 49.9, 4)).toEqual({ row: 3, col: 3 });
    expect(cellAt(fit, 24.9, 10, 4)).toBeNull();
    // Zooming ×2 about (40, 20) keeps the matrix point under it: (40 − 25) / 12.5 = 1.2 cells from the left.
    const z = zoomAt(fit, 2, 40, 20);
    expect(z.scale).toBe(25);
    expect((40 - z.x) / z.scale).toBeCloseTo(1.2, 12);
    expect((20 - z.y) / z.scale).toBeCloseTo(1.6, 12);
    // A 10-cell matrix at 20 px a cell in a 100 × 100 box (side 200) cannot be dragged past its edges…
    expect(clampViewport({ scale: 20, x: 50, y: -150 }, 10, 100, 100)).toEqual({ scale: 20, x: 0, y: -100 });
    // …and below the fitting zoom it is fitted and centred; above 48 px a cell it stops.
    expect(clampViewport({ scale: 3, x: 0, y: 0 }, 10, 100, 100)).toEqual({ scale: 10, x: 0, y: 0 });
    expect(clampViewport({ scale: 100, x: 0, y: 0 }, 10, 100, 100).scale).toBe(48);
    expect(visibleRange({ scale: 20, x: -30, y: 0 }, 10, 100, 100)).toEqual({ rows: [0, 5], cols: [1, 7] });
  });

  it('builds the pyramid from 2 × 2 means in display order, and picks the level that skips no cell', () => {
    const m = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, NaN]);
    // Rows and columns 0..2 in the order [2, 0, 1]: out[i][j] = m[order[i]][order[j]].
    expect(Array.from(permuted(m, 3, [2, 0, 1]))).toEqual([NaN, 7, 8, 3, 1, 2, 6, 4, 5]);
    // 3 × 3 → 2 × 2: [1 2 4 5] → 3, [3 6] → 4.5, [7 8] → 7.5, [NaN] → NaN.
    const h = blockReduce({ values: m, rows: 3, cols: 3 }, 2, 'mean');
    expect([h.rows, h.cols]).toEqual([2, 2]);
    expect(Array.from(h.values)).toEqual([3, 4.5, 7.5, NaN]);
    // Max |r|: [1 2 4 5] → 5, [3 6] → 6, [7 8] → 8.
    expect(Array.from(blockReduce({ values: m, rows: 3, cols: 3 }, 2, 'maxabs').values)).toEqual([
      5,
      6,
      8,
      NaN,
    ]);
    expect(pyramidLevel(1, 5)).toBe(0);
    expect(pyramidLevel(0.5, 5)).toBe(1);
    expect(pyramidLevel(0.34, 5)).toBe(2); // 0.34 × 4 = 1.36 device px per drawn pixel
    expect(pyramidLevel(0.25, 5)).toBe(2);
    expect(pyramidLevel(0.2, 5)).toBe(3);
    expect(pyramidLevel(0.001, 3)).toBe(2);
  });
});

describe('Heatmap view', () => {
  let suite: ServedSuite;
  let api: MonoscopeClient;
  let page: Page;
  const problems: string[] = [];

  const go = async (hash: string) => {
    await suite.go(hash);
    await page.locator('canvas.ms-hm-canvas[data-ready]').waitFor({ timeout: 60_000 });
  };
  const canvasBox = async () => (await page.locator('canvas.ms-hm-canvas').boundingBox())!;
  const tip = () => page.locator('.ms-hm-tip').innerText();
  const stat = (label: string) =>
    page
      .locator('.ms-hm-stats div', { has: page.locator('dt', { hasText: label }) })
      .locator('dd')
      .textContent();
  /** The screen point at the centre of display cell (row, col) of the fitted view. */
  const cellPoint = async (n: number, row: number, col: number) => {
    const b = await canvasBox();
    const v = fitViewport(n, b.width, b.height);
    return { x: b.x + v.x + (col + 0.5) * v.scale, y: b.y + v.y + (row + 0.5) * v.scale, v, b };
  };
  /** The canvas's RGB at a point (CSS px relative to the canvas). */
  const pixel = async (x: number, y: number) =>
    (await page.evaluate(
      `(() => { const c = document.querySelector('canvas.ms-hm-canvas'); const d = devicePixelRatio;
        return Array.from(c.getContext('2d').getImageData(Math.floor(${x} * d), Math.floor(${y} * d), 1, 1).data).slice(0, 3); })()`,
    )) as number[];

  beforeAll(async () => {
    // The demo project itself: this suite only reads.
    suite = await openServedSuite('heatmap', {
      copy: false,
      page: { viewport: { width: 1300, height: 950 }, colorScheme: 'light', acceptDownloads: true },
      problems,
    });
    ({ api, page } = suite);
  });
  afterAll(() => suite?.close());

  it('draws the matrix in the figure’s colours, with the summary and hover values of correlation.matrix', async () => {
    const m = await api.call('correlation.matrix', { ref: REF });
    const n = m.size;
    await go('#/heatmap/dpo/blocks.1.mlp.post');
    expect(await page.locator('canvas.ms-hm-canvas').getAttribute('data-size')).toBe(String(n));
    expect(await stat('Mean |r| off-diagonal')).toBe(dec3(m.summary.meanAbsOffDiagonal));
    expect(await stat('Feature decorrelation')).toBe(dec3(m.summary.featureDecorrelation));
    expect(await stat('Tokens')).toBe(m.summary.n.toLocaleString('en-US'));

    // Pixels: cells of the fitted view (at least 1 px a cell, so drawn without averaging) have the colour the
    // heatmap figure gives their value.
    const theme = themeOf('light');
    for (const [row, col] of [
      [3, 200],
      [100, 17],
      [250, 250],
    ]) {
      const { x, y, b, v } = await cellPoint(n, row, col);
      expect(v.scale).toBeGreaterThanOrEqual(1);
      const value = m.corr[m.order[row] * n + m.order[col]];
      const scale = heatmapColourScale([value], { domain: [-1, 1] }, theme);
      const want = Array.from(
        heatmapRaster({ rows: 1, cols: 1, values: [value] }, { domain: [-1, 1] }, scale, theme).slice(0, 3),
      );
      const got = await pixel(x - b.x, y - b.y);
      got.forEach((c, i) => expect(Math.abs(c - want[i])).toBeLessThanOrEqual(2));
    }

    // Hover: the cell's neurons (cluster order) and r.
    const { x, y } = await cellPoint(n, 10, 200);
    await page.mouse.move(x, y);
    const r = m.order[10];
    const c = m.order[200];
    await expect.poll(tip).toContain(`row neuron ${r} · column neuron ${c}`);
    expect(await tip()).toContain(`r = ${num(m.corr[r * n + c])}`);
    await page.screenshot({ path: join(SCREENSHOTS, 'heatmap-light.png') });
  });

  it('zooms and pans with the wheel, the keys and the mouse, and opens the row neuron on a click', async () => {
    const m = await api.call('correlation.matrix', { ref: REF });
    const n = m.size;
    const at = async () => {
      const text = await tip();
      const [, row, col] = /row neuron (\d+) · column neuron (\d+)/.exec(text)!.map(Number);
      // Every reading names a real cell and its value.
      expect(text).toContain(`r = ${num(m.corr[row * n + col])}`);
      return { row: m.order.indexOf(row), col: m.order.indexOf(col) };
    };
    const b = await canvasBox();
    // Wheel up about a point: the cell under it stays under it.
    const p = await cellPoint(n, 60, 90);
    await page.mouse.move(p.x, p.y);
    expect(await at()).toEqual({ row: 60, col: 90 });
    for (let i = 0; i < 6; i++) await page.mouse.wheel(0, -120);
    await page.waitForTimeout(100);
    await page.mouse.move(p.x + 0.5, p.y + 0.5);
    expect(await at()).toEqual({ row: 60, col: 90 });
    // …and its neighbour 6 px to the right is now the same or the next cell (the view is magnified).
    await page.mouse.move(p.x + 6, p.y);
    expect((await at()).col - 90).toBeLessThanOrEqual(1);

    // Drag 120 px left: the content moves left, the cell under the pointer is further right.
    await page.mouse.move(p.x, p.y);
    await page.mouse.down();
    await page.mouse.move(p.x - 120, p.y, { steps: 6 });
    await page.mouse.up();
    await page.mouse.move(p.x, p.y);
    expect((await at()).col).toBeGreaterThan(90);
    expect(new URL(page.url()).hash).toBe('#/heatmap/dpo/blocks.1.mlp.post'); // a drag is not a click

    // Keys: 0 fits, + zooms about the centre, arrows pan; the cell at the centre is announced.
    await page.locator('canvas.ms-hm-canvas').focus();
    await page.keyboard.press('0');
    await page.keyboard.press('+');
    await page.waitForTimeout(300);
    const centre = await at();
    await page.keyboard.press('ArrowDown');
    await page.waitForTimeout(50);
    expect((await at()).row).toBeGreaterThan(centre.row);
    expect(await page.locator('.ms-hm-canvas-wrap [aria-live]').textContent()).toContain('row neuron');
    await page.screenshot({ path: join(SCREENSHOTS, 'heatmap-zoomed.png') });

    // A click opens the row neuron's page.
    await page.mouse.move(b.x + b.width / 2, b.y + b.height / 2);
    const { row } = await at();
    await page.mouse.click(b.x + b.width / 2, b.y + b.height / 2);
    await expect.poll(() => new URL(page.url()).hash).toBe(`#/neurons/dpo/blocks.1.mlp.post/${m.order[row]}`);
    await page
      .locator(`article.ms-page[data-loaded="dpo/blocks.1.mlp.post/${m.order[row]}"]`)
      .waitFor({ timeout: 30_000 });
  });

  it('shows the difference to another checkpoint and the neuron order', async () => {
    const d = await api.call('correlation.matrix', { ref: REF, diffWith: 'base' });
    const n = d.size;
    await go('#/heatmap/dpo/blocks.1.mlp.post?diff=base');
    expect(await page.getByLabel('Show', { exact: true }).inputValue()).toBe('base');
    expect(await stat('Mean |Δr|')).toBe(dec3(d.meanAbsDiff!));
    const { x, y } = await cellPoint(n, 20, 30);
    await page.mouse.move(x, y);
    const [r, c] = [d.order[20], d.order[30]];
    await expect.poll(tip).toContain(`Δr = ${signed(d.diff![r * n + c])}`);
    expect(await tip()).toContain(`r base = ${num(d.corr[r * n + c] - d.diff![r * n + c])}`);
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.locator('canvas.ms-hm-canvas[data-ready]').waitFor();
    await page.screenshot({ path: join(SCREENSHOTS, 'heatmap-diff-dark.png') });
    await page.emulateMedia({ colorScheme: 'light' });

    await page.getByLabel('Order', { exact: true }).selectOption('neuron');
    await page.locator('canvas.ms-hm-canvas[data-ready]').waitFor();
    expect(new URL(page.url()).hash).toBe('#/heatmap/dpo/blocks.1.mlp.post?order=neuron&diff=base');
    const q = await cellPoint(n, 5, 9);
    await page.mouse.move(q.x, q.y);
    await expect.poll(tip).toContain('row neuron 5 · column neuron 9');
  });

  it('exports the heatmap figure: the whole matrix as SVG, the visible region as CSV', async () => {
    const m = await api.call('correlation.matrix', { ref: REF });
    const n = m.size;
    await go('#/heatmap/dpo/blocks.1.mlp.post');
    const whole = page.locator('details', { hasText: 'Export whole matrix' });
    await whole.locator('summary').click();
    const [svgFile] = await Promise.all([
      page.waitForEvent('download'),
      whole.getByRole('button', { name: 'Export SVG' }).click(),
    ]);
    expect(svgFile.suggestedFilename()).toBe('dpo-blocks.1.mlp.post-corr.svg');
    const svg = readFileSync((await svgFile.path())!, 'utf8');
    expect(svg).toMatch(/^<svg[^>]* width="640" height="\d+"/);
    expect(svg).toContain('data-figure="heatmap"');
    expect(svg).toMatch(/<image[^>]+href="data:image\/png;base64,/);

    // Zoom in, then the visible region: names are neuron ids in cluster order, values the API's.
    await page.locator('canvas.ms-hm-canvas').focus();
    for (let i = 0; i < 4; i++) await page.keyboard.press('+');
    await page.waitForTimeout(300);
    const region = page.locator('details', { hasText: 'Export visible region' });
    await region.locator('summary').click();
    const [csvFile] = await Promise.all([
      page.waitForEvent('download'),
      region.getByRole('button', { name: 'Export CSV' }).click(),
    ]);
    const lines = readFileSync((await csvFile.path())!, 'utf8')
      .trim()
      .split('\n');
    const header = lines[0].split(',');
    expect(header[0]).toBe('row');
    const cols = header.slice(1).map(Number);
    expect(cols.length).toBeLessThan(n);
    expect(lines.length - 1).toBeLessThan(n);
    const first = lines[1].split(',');
    const row = Number(first[0]);
    expect(m.order.indexOf(cols[1]) - m.order.indexOf(cols[0])).toBe(1); // consecutive in display order
    expect(Number(first[1])).toBeCloseTo(m.corr[row * n + cols[0]], 5);
    expect(problems).toEqual([]);
  });
});
