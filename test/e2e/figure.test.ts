// The app's Figure component in real Chromium: it shows the SVG and exports SVG, CSV and a PNG drawn on a
// canvas at the chosen DPI, with the bundled fonts embedded. The test page is served by Vite's dev server.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decode } from 'fast-png';
import type { Browser, Page } from 'playwright-core';
import type { ViteDevServer } from 'vite';
import { REPO, SCREENSHOTS, launchChromium } from './harness.js';

describe('Figure component', () => {
  let browser: Browser;
  let server: ViteDevServer;

  beforeAll(async () => {
    const { createServer } = await import('vite');
    const react = (await import('@vitejs/plugin-react')).default;
    server = await createServer({
      configFile: false,
      root: REPO,
      plugins: [react()],
      logLevel: 'warn',
      server: { host: '127.0.0.1', port: 0, strictPort: false, hmr: false },
    });
    await server.listen();
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  async function download(page: Page, button: string): Promise<{ name: string; bytes: Buffer }> {
    const [file] = await Promise.all([
      page.waitForEvent('download'),
      page.locator('figure').first().getByRole('button', { name: button }).click(),
    ]);
    return { name: file.suggestedFilename(), bytes: readFileSync((await file.path())!) };
  }

  it('shows the figure and exports SVG, CSV and PNG at the chosen DPI', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const address = server.resolvedUrls!.local[0];
    await page.goto(new URL('test/e2e/pages/figure.html', address).href);
    await expect.poll(() => page.locator('figure svg[data-figure]').count(), { timeout: 20_000 }).toBe(3);
    // Ids (clip paths, gradients) are unique across the figures on the page.
    const ids = await page.locator('figure svg [id]').evaluateAll((nodes) => nodes.map((n) => n.id));
    expect(ids.length).toBeGreaterThanOrEqual(3);
    expect(new Set(ids).size).toBe(ids.length);
    const first = page.locator('figure').first();
    expect(await first.locator('svg').getAttribute('data-figure')).toBe('groupedBarChart');
    expect(await first.locator('svg title').textContent()).toBe('Monosemantic share per layer');

    await first.locator('summary').click();
    const svg = await download(page, 'Export SVG');
    expect(svg.name).toBe('bars.svg');
    expect(svg.bytes.toString('utf8')).toMatch(
      /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg" width="480" height="300"/,
    );

    const csv = await download(page, 'Export CSV');
    expect(csv.bytes.toString('utf8').split('\n')[0]).toBe('group,series,value,error_lo,error_hi');

    // 480 × 300 px at 150 dpi is 750 × 469 pixels (300 × 150 / 96 = 468.75).
    await first.getByLabel('DPI').selectOption('150');
    const png = await download(page, 'Export PNG');
    expect(png.name).toBe('bars-150dpi.png');
    mkdirSync(SCREENSHOTS, { recursive: true });
    writeFileSync(join(SCREENSHOTS, 'figure-export-150dpi.png'), png.bytes);
    const image = decode(png.bytes);
    expect([image.width, image.height]).toEqual([750, 469]);
    expect(image.resolution?.x).toBe(Math.round(150 / 0.0254));
    // Drawn, not blank: the white background, with bars and text on it.
    let ink = 0;
    for (let i = 0; i < image.width * image.height; i++) if (image.data[i * image.channels] < 200) ink++;
    expect(image.data[0]).toBe(255);
    expect(ink / (image.width * image.height)).toBeGreaterThan(0.05);

    // Embedding fonts makes the SVG self-contained.
    await first.getByLabel('Embed fonts in SVG').check();
    const embedded = await download(page, 'Export SVG');
    expect(embedded.bytes.toString('utf8')).toContain("@font-face{font-family:'Inter';font-weight:400");
    expect(embedded.bytes.length).toBeGreaterThan(900_000);
    await page.setViewportSize({ width: 900, height: 1500 });
    await page.screenshot({ path: join(SCREENSHOTS, 'figure-page.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });
});
