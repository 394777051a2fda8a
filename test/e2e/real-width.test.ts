// The Neurons and Heatmap views at a real width, in real Chromium against the real server: a random-weight
// GPT of 2 blocks × 3,072 neurons (GPT-2 small's MLP width) recorded over about 2,000 tokens of the built-in
// world's text (test/e2e/real-width-project.ts). The table of every layer holds both layers' neurons as
// `neurons.table` has them, searches and sorts across them and opens a neuron's page over itself; the
// 3,072² heatmap zooms about the pointer and pans as the viewport math says, and hover reports the cell's
// neurons and r as `correlation.matrix` stores them. Screenshots go to test-output/e2e/.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { RunningServer } from '../../src/main/server.js';
import { createHttpClient, type MonoscopeClient } from '../../src/renderer/api/client.js';
import { num } from '../../src/renderer/app/neurons/format.js';
import {
  cellAt,
  clampViewport,
  fitViewport,
  zoomAt,
  type Viewport,
} from '../../src/renderer/app/heatmap/viewport.js';
import { REPO, SCREENSHOTS, buildRenderer, launchChromium, serveCompiled, watchedPage } from './harness.js';
import { realWidthProject } from './real-width-project.js';

const SHAPE = { layers: 2, neurons: 3072, tokens: 2000 };
const TAPS = ['blocks.0.mlp.post', 'blocks.1.mlp.post'];

describe('views at a real width (2 × 3,072 neurons)', () => {
  let server: RunningServer;
  let browser: Browser;
  let page: Page;
  let api: MonoscopeClient;
  let probe: string;
  const problems: string[] = [];

  const go = async (hash: string) => {
    const url = new URL(server.url);
    url.hash = hash;
    await page.goto(url.href);
  };
  const tip = () => page.locator('.ms-hm-tip').innerText();

  beforeAll(async () => {
    const dir = await realWidthProject(join(REPO, 'test-output', 'e2e-real-width'), SHAPE);
    const rendererDir = await buildRenderer(join(REPO, 'test-output', 'e2e-renderer-real-width'));
    server = await serveCompiled(dir, rendererDir);
    api = createHttpClient({ baseUrl: new URL(server.url).origin, token: server.token });
    browser = await launchChromium();
    mkdirSync(SCREENSHOTS, { recursive: true });
    page = await watchedPage(
      browser,
      { viewport: { width: 1300, height: 950 }, colorScheme: 'light', deviceScaleFactor: 1 },
      problems,
    );
    probe = (await api.call('recordings.list')).find((r) => r.checkpoint === 'model')!.probeHash;
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('searches and sorts the neurons of every layer in one table, and opens a neuron’s page over it', async () => {
    const tables = await Promise.all(
      TAPS.map((tap) => api.call('neurons.table', { checkpoint: 'model', tap, probe })),
    );
    const total = tables.reduce((s, t) => s + t.neurons, 0);
    expect(total).toBe(2 * 3072);
    await go('#/neurons/model/blocks.*.mlp.post');
    const grid = page.locator('[role="grid"]');
    await grid.waitFor({ timeout: 120_000 });
    expect(await grid.getAttribute('aria-rowcount')).toBe(String(total + 1));
    await expect.poll(() => page.locator('.ms-filter-count').innerText()).toContain('6,144 of 6,144');

    // Search a top token of layer 1: the rows shown are those of either layer whose concept, top token or
    // label contains it, as the API's tables have them.
    const word = tables[1].topToken.find((w) => w && w.trim().length >= 3)!.trim();
    const want: string[] = [];
    tables.forEach((t, k) => {
      for (let i = 0; i < t.neurons; i++) {
        const hit = [t.dominantConcept[i], t.topToken[i], t.label[i]].some(
          (s) => s !== null && s.toLowerCase().includes(word.toLowerCase()),
        );
        if (hit) want.push(`${TAPS[k]}/${i}`);
      }
    });
    expect(want.some((w) => w.startsWith(TAPS[0]))).toBe(true);
    await page.getByLabel('Search').fill(word);
    await expect
      .poll(() => page.locator('.ms-filter-count').innerText())
      .toContain(`${want.length.toLocaleString('en-US')} of 6,144`);

    // Layer descending: the first rows are layer 1's, in neuron order.
    await page.getByRole('columnheader', { name: 'Layer' }).getByRole('button').click();
    const first = page.locator('.ms-row').first();
    await expect.poll(() => first.getAttribute('data-tap')).toBe(TAPS[1]);
    const neuron = Number(await first.getAttribute('data-neuron'));
    expect(`${TAPS[1]}/${neuron}`).toBe(want.find((w) => w.startsWith(TAPS[1])));
    const cells = await first.locator('[role="gridcell"]').allInnerTexts();
    expect(cells.slice(0, 2)).toEqual(['1', String(neuron)]);

    // A click opens the neuron's page over the table; Escape comes back to it, search kept.
    const t0 = Date.now();
    await first.click();
    await page
      .locator(`article.ms-page[data-loaded="model/${TAPS[1]}/${neuron}"]`)
      .waitFor({ timeout: 60_000 });
    const openedMs = Date.now() - t0;
    expect(new URL(page.url()).hash).toBe(`#/neurons/model/blocks.*.mlp.post/${TAPS[1]}/${neuron}`);
    await page.screenshot({ path: join(SCREENSHOTS, 'real-width-neuron-page.png') });
    await page.keyboard.press('Escape');
    await expect.poll(() => new URL(page.url()).hash).toBe('#/neurons/model/blocks.*.mlp.post');
    expect(await page.getByLabel('Search').inputValue()).toBe(word);
    await page.screenshot({ path: join(SCREENSHOTS, 'real-width-all-layers.png') });
    process.stderr.write(`real-width e2e: neuron page opened in ${openedMs} ms (click to content)\n`);
    expect(problems).toEqual([]);
  });

  it('zooms about the pointer and pans the 3,072² heatmap, and hover reports (i, j, r) as stored', async () => {
    const m = await api.call('correlation.matrix', { ref: { checkpoint: 'model', tap: TAPS[0], probe } });
    const n = m.size;
    expect(n).toBe(3072);
    await go(`#/heatmap/model/${TAPS[0]}?order=neuron`);
    const canvas = page.locator('canvas.ms-hm-canvas[data-ready]');
    await canvas.waitFor({ timeout: 300_000 });
    const b = (await canvas.boundingBox())!;
    /**
     * The cell the viewport math puts at a point, hovered at its centre (pointer events may round the
     * position to a pixel), checked against the neurons and r the tip names.
     */
    const hover = async (v: Viewport, x: number, y: number) => {
      const want = cellAt(v, x, y, n)!;
      const at = (pos: number, i: number, raw: number) => (v.scale > 2 ? pos + (i + 0.5) * v.scale : raw);
      await page.mouse.move(b.x + at(v.x, want.col, x), b.y + at(v.y, want.row, y));
      await expect.poll(tip).toContain(`row neuron ${want.row} · column neuron ${want.col}`);
      expect(await tip()).toContain(`r = ${num(m.corr[want.row * n + want.col])}`);
      return want;
    };
    // Fitted, a cell is under a CSS pixel: a coarse level of the pyramid is drawn.
    let v = fitViewport(n, b.width, b.height);
    expect(v.scale).toBeLessThan(1);
    expect(Number(await canvas.getAttribute('data-level'))).toBeGreaterThan(0);
    const p = { x: v.x + 0.37 * n * v.scale, y: v.y + 0.61 * n * v.scale };
    const before = await hover(v, p.x, p.y);

    // Wheel up 14 times (Chromium: deltaY −120 in pixels, a zoom of e^(0.0015 · 120) each) about p: the
    // cell under p stays, the view magnifies past two pixels a cell, and level 0 is drawn.
    for (let i = 0; i < 14; i++) {
      await page.mouse.wheel(0, -120);
      v = clampViewport(zoomAt(v, Math.exp(120 * 0.0015), p.x, p.y), n, b.width, b.height);
    }
    await expect.poll(() => canvas.getAttribute('data-level')).toBe('0');
    expect(v.scale).toBeGreaterThan(2);
    expect(await hover(v, p.x, p.y)).toEqual(before);
    expect((await hover(v, p.x + 40, p.y)).col).toBeGreaterThan(before.col);

    // Drag 300 px left and 200 px up: the window moves right and down over the matrix.
    await page.mouse.move(b.x + p.x, b.y + p.y);
    await page.mouse.down();
    await page.mouse.move(b.x + p.x - 300, b.y + p.y - 200, { steps: 8 });
    await page.mouse.up();
    v = clampViewport({ scale: v.scale, x: v.x - 300, y: v.y - 200 }, n, b.width, b.height);
    const moved = await hover(v, p.x, p.y);
    expect(moved.col).toBeGreaterThan(before.col);
    expect(moved.row).toBeGreaterThan(before.row);
    expect(new URL(page.url()).hash).toBe(`#/heatmap/model/${TAPS[0]}?order=neuron`); // a drag opens nothing
    await page.screenshot({ path: join(SCREENSHOTS, 'real-width-heatmap-zoomed.png') });

    // Zoomed-out cells as block max |r|: the same matrix, coloured again.
    await page.getByLabel('Zoomed out').selectOption('maxabs');
    await page.locator('canvas.ms-hm-canvas[data-ready]').waitFor({ timeout: 300_000 });
    expect(new URL(page.url()).hash).toBe(`#/heatmap/model/${TAPS[0]}?order=neuron&blocks=maxabs`);
    expect(problems).toEqual([]);
  });
});
