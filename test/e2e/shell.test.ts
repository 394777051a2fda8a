// Smoke test of the app shell in real Chromium: it renders, navigates with the keyboard, switches theme,
// keeps both across a reload, and breaks no CSP rule. Screenshots go to test-output/e2e/.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { RENDERER_DIST, SCREENSHOTS, buildRenderer, launchChromium, serveDir } from './harness.js';

describe('app shell', () => {
  let browser: Browser;
  let server: Awaited<ReturnType<typeof serveDir>>;

  beforeAll(async () => {
    await buildRenderer();
    server = await serveDir(RENDERER_DIST);
    browser = await launchChromium();
    mkdirSync(SCREENSHOTS, { recursive: true });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  const heading = (page: Page) => page.locator('main h1').textContent();
  const theme = (page: Page) => page.locator('html').getAttribute('data-theme');
  const focusedLabel = (page: Page) => page.locator('nav button:focus span').textContent({ timeout: 2000 });
  // Expressions run in the page (a string, since this file is typechecked without the DOM library).
  const background = (page: Page) => page.evaluate('getComputedStyle(document.body).backgroundColor');

  it('renders, navigates with the keyboard, switches theme, and keeps both on reload', async () => {
    const context = await browser.newContext({
      viewport: { width: 1100, height: 700 },
      colorScheme: 'light',
    });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
    });
    await page.goto(server.url);

    // The sidebar lists the seven views; Project opens first.
    await expect.poll(() => page.locator('nav[aria-label="Views"] button').count()).toBe(7);
    expect(await page.locator('nav[aria-label="Views"] button span').allTextContents()).toEqual([
      'Project',
      'Compare',
      'Neurons',
      'Heatmap',
      'Features',
      'Diff',
      'Study',
    ]);
    expect(await heading(page)).toBe('Project');
    expect(await page.locator('.state-empty h3').textContent()).toBe('No project open');

    // `g n` goes to Neurons and into the URL.
    await page.keyboard.press('g');
    await page.keyboard.press('n');
    await expect.poll(() => heading(page)).toBe('Neurons');
    expect(new URL(page.url()).hash).toBe('#/neurons');
    await page.keyboard.press('g');
    await page.keyboard.press('h');
    await expect.poll(() => heading(page)).toBe('Heatmap');

    // Arrow keys move along the sidebar, Enter opens.
    await page.locator('nav button[aria-current="page"]').focus();
    await page.keyboard.press('ArrowDown');
    expect(await focusedLabel(page)).toBe('Features');
    await page.keyboard.press('ArrowUp');
    await page.keyboard.press('ArrowUp');
    expect(await focusedLabel(page)).toBe('Neurons');
    await page.keyboard.press('Enter');
    await expect.poll(() => heading(page)).toBe('Neurons');
    // Opening a view moves focus to its heading; back in the sidebar, End jumps to the last view.
    expect(await page.locator('main h1:focus').count()).toBe(1);
    await page.locator('nav button[aria-current="page"]').focus();
    await page.keyboard.press('End');
    expect(await focusedLabel(page)).toBe('Study');

    // The theme follows the OS until chosen; the toggle cycles system → light → dark.
    expect(await theme(page)).toBe('light');
    await page.emulateMedia({ colorScheme: 'dark' });
    await expect.poll(() => theme(page)).toBe('dark');
    await page.screenshot({ path: join(SCREENSHOTS, 'shell-dark.png') });
    await page.locator('.theme-toggle').click();
    await expect.poll(() => theme(page)).toBe('light');
    expect(await background(page)).toBe('rgb(255, 255, 255)');
    await page.screenshot({ path: join(SCREENSHOTS, 'shell-light.png') });
    await page.keyboard.press('t');
    await expect.poll(() => theme(page)).toBe('dark');
    expect(await background(page)).toBe('rgb(21, 23, 28)');

    // `?` opens the shortcuts, Escape closes them.
    await page.keyboard.press('?');
    await expect.poll(() => page.locator('[role="dialog"]').count()).toBe(1);
    await page.keyboard.press('Escape');
    await expect.poll(() => page.locator('[role="dialog"]').count()).toBe(0);

    // A reload keeps the view (hash) and the chosen theme (localStorage), even against the OS.
    await page.emulateMedia({ colorScheme: 'light' });
    await page.reload();
    await expect.poll(() => heading(page)).toBe('Neurons');
    expect(await theme(page)).toBe('dark');

    // The bundled fonts load under the CSP.
    expect(
      await page.evaluate('document.fonts.load("16px Inter").then((faces) => faces.length)'),
    ).toBeGreaterThan(0);
    expect(problems).toEqual([]);
    await context.close();
  });
});
