// The Compare view in real Chromium against the real server, on a private copy of the demo project: the
// default checkpoints with the demo's comparison shown at once, charts and tables whose numbers are the ones
// the store holds, the stored result read back without recomputing, keyboard selection, the compare job
// for a selection the demo did not compare, and the export of a
// chart to SVG and PNG (valid, at the chosen DPI, not blank). Screenshots go to test-output/e2e/.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decode } from 'fast-png';
import type { Page } from 'playwright-core';
import { SCREENSHOTS } from './harness.js';
import { openServedSuite, type ServedSuite } from './served-project.js';
import { COMPARE_METRICS, HELD_OUT_MEASURES } from '../../src/shared/specs/compare.js';
import { fmtNumber, fmtPercent } from '../../src/renderer/app/components/format.js';
import { parseXml } from '../unit/figures/xml.js';

interface Stored {
  result: {
    base: string;
    taps: string[];
    rows: Record<string, string | number>[];
    scores: Record<string, string | number>[];
  };
}

describe('Compare view', () => {
  let suite: ServedSuite;
  let page: Page;
  const problems: string[] = [];
  const main = () => page.locator('main');

  const jobs = () => suite.api.listJobs();
  const stored = async (checkpoints: string[]): Promise<Stored | null> =>
    (await suite.api.call('analyses.get', {
      kind: 'compare',
      inputs: { checkpoints, task: 'toxicity' },
    })) as unknown as Stored | null;

  beforeAll(async () => {
    // A private copy: the comparison is written into the store.
    suite = await openServedSuite('compare', {
      copy: true,
      page: { viewport: { width: 1400, height: 1000 }, acceptDownloads: true },
      problems,
    });
    page = suite.page;
  });
  afterAll(() => suite?.close());

  it("opens on the demo's comparison of base, DPO and DecPO, as charts and tables, without a job", async () => {
    const before = (await jobs()).length;
    await suite.go('#/compare');
    // The defaults: base, dpo and decpo, base first, which the demo compared and stored.
    const boxes = main().locator('.checkpoint-picker input[type="checkbox"]');
    await expect.poll(() => boxes.count()).toBe(3);
    expect(
      await boxes.evaluateAll((els) => els.map((e) => (e as unknown as { checked: boolean }).checked)),
    ).toEqual([true, true, true]);
    await main().locator('[data-metric="meanAbsCorr"] .figure-svg svg').waitFor({ timeout: 30_000 });
    expect(await main().locator('.state-empty').count()).toBe(0);
    expect((await jobs()).length).toBe(before);
    const r = (await stored(['base', 'dpo', 'decpo']))!.result;
    expect(r.base).toBe('base');

    // One chart per metric, and every number in the tables is the stored one, formatted.
    expect(await main().locator('.compare-cell[data-metric]').count()).toBe(COMPARE_METRICS.length);
    for (const row of r.rows) {
      const tr = main().locator(`table[data-table="${row.tap}"] tr[data-checkpoint="${row.checkpoint}"]`);
      for (const m of COMPARE_METRICS) {
        const td = tr.locator(`td[data-field="${m.key}"]`);
        expect(Number(await td.getAttribute('data-value'))).toBe(row[m.key]);
        const v = row[m.key] as number;
        expect(await td.textContent()).toBe(m.percent ? fmtPercent(v) : fmtNumber(v));
      }
    }
    expect(r.scores).toHaveLength(3);
    for (const sc of r.scores) {
      const tr = main().locator(`table[data-table="heldout"] tr[data-checkpoint="${sc.checkpoint}"]`);
      for (const m of HELD_OUT_MEASURES)
        expect(Number(await tr.locator(`td[data-field="${m.key}"]`).getAttribute('data-value'))).toBe(
          sc[m.key],
        );
    }
    // The chart draws the same values: bars per layer per checkpoint, stage-coloured, captioned.
    const svg = await main().locator('[data-metric="meanAbsCorr"] .figure-svg').innerHTML();
    expect(svg).toContain('probe: ');
    expect(svg).toContain('SVCCA mode');
    expect((svg.match(/<rect /g) ?? []).length).toBeGreaterThanOrEqual(r.rows.length);

    // The preference runs' training curves, overlaid: dpo and decpo each with their own curve.
    const margins = main().locator('[data-curve="rewards/margins"] .figure-svg');
    await margins.locator('svg').waitFor();
    expect(await margins.textContent()).toContain('decpo (eval)');
    await page.setViewportSize({ width: 1400, height: 4400 });
    await page.screenshot({ path: join(SCREENSHOTS, 'compare-light.png') });
    await page.emulateMedia({ colorScheme: 'dark' });
    await expect.poll(() => page.locator('html').getAttribute('data-theme')).toBe('dark');
    await page.screenshot({ path: join(SCREENSHOTS, 'compare-dark.png') });
    await page.emulateMedia({ colorScheme: 'light' });
    await page.setViewportSize({ width: 1400, height: 1000 });
  });

  it('reads a stored comparison back without a job, and picks checkpoints with the keyboard', async () => {
    const before = (await jobs()).length;
    await page.reload();
    await main().locator('[data-metric="meanAbsCorr"] .figure-svg svg').waitFor();
    expect(await main().getByRole('button', { name: 'Recompute' }).count()).toBe(1);
    expect((await jobs()).length).toBe(before);

    // Space on a checkbox drops decpo: base and dpo have no stored comparison yet; the job computes it.
    const decpo = main().locator('.checkpoint-picker input').nth(2);
    await decpo.focus();
    await page.keyboard.press('Space');
    await expect.poll(() => main().locator('.state-empty h3').textContent()).toBe('Not compared yet');
    expect(await stored(['base', 'dpo'])).toBeNull();
    await main().getByRole('button', { name: 'Compare', exact: true }).click();
    await main().locator('[data-metric="meanAbsCorr"] .figure-svg svg').waitFor({ timeout: 90_000 });
    expect((await jobs()).filter((j) => j.op === 'compare').map((j) => j.status)).toEqual(['completed']);
    expect((await stored(['base', 'dpo']))!.result.base).toBe('base');
    await decpo.focus();
    await page.keyboard.press('Space');
    await main().locator('[data-metric="meanAbsCorr"] .figure-svg svg').waitFor();
  });

  it('exports a chart as SVG and PNG at the chosen DPI', async () => {
    const cell = main().locator('[data-metric="meanAbsCorr"]');
    await cell.locator('summary', { hasText: 'Export' }).click();
    await cell.getByLabel('DPI').selectOption('150');
    const download = async (button: string) => {
      const [file] = await Promise.all([
        page.waitForEvent('download'),
        cell.getByRole('button', { name: button }).click(),
      ]);
      return { name: file.suggestedFilename(), bytes: readFileSync((await file.path())!) };
    };
    const svg = await download('Export SVG');
    expect(svg.name).toBe('compare-meanAbsCorr-base-dpo-decpo.svg');
    const root = parseXml(svg.bytes.toString('utf8'));
    expect(root.name).toBe('svg');
    expect(svg.bytes.toString('utf8')).toContain('mean |corr|');

    const png = await download('Export PNG');
    expect(png.name).toBe('compare-meanAbsCorr-base-dpo-decpo-150dpi.png');
    const img = decode(png.bytes);
    // 460 × 300 px at 150 dpi.
    expect([img.width, img.height]).toEqual([Math.round((460 * 150) / 96), Math.round((300 * 150) / 96)]);
    expect(img.resolution?.x).toBe(Math.round(150 / 0.0254));
    let ink = 0;
    for (let i = 0; i < img.width * img.height; i++) {
      const o = i * img.channels;
      if ([0, 1, 2].some((c) => Math.abs(img.data[o + c] - img.data[c]) > 24)) ink++;
    }
    expect(ink / (img.width * img.height)).toBeGreaterThan(0.03);
    writeFileSync(join(SCREENSHOTS, 'compare-export.png'), png.bytes);
    expect(problems).toEqual([]);
  });
});
