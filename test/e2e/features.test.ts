// The Features view in real Chromium against the real server, on a private copy of the demo project: an SAE
// trained from the form and listed with the metrics `saes.list` returns; matching (raw neurons and SAE
// latents, and with SAEs on both sides the seed baseline) with the filters' counts, the pairs' scatters and
// SVCCA/RSA equal to the job's result; a reload re-reads the stored result; direct SVCCA in paper-compat
// mode; semantic subspaces; tabs by keyboard.
// Job results are compared with what the server's job list holds. Screenshots go to test-output/e2e/.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { SCREENSHOTS } from './harness.js';
import { openServedSuite, type ServedSuite } from './served-project.js';
import type { OpResult } from '../../src/core/service.js';
import type { MonoscopeClient } from '../../src/renderer/api/client.js';
import { formatPValue } from '../../src/shared/figures/index.js';
import { dec3, int, num, pct } from '../../src/renderer/app/neurons/format.js';

describe('Features view', () => {
  let suite: ServedSuite;
  let api: MonoscopeClient;
  let page: Page;
  const problems: string[] = [];

  const go = async (tab: string) => {
    await suite.go(`#/features/${tab}`);
    await page.locator('.ms-form').first().waitFor();
  };
  /** The newest completed job of `op` on the server, with its result. */
  const lastJob = async <T>(op: string): Promise<T> => {
    const jobs = await api.listJobs();
    const j = jobs
      .filter((x) => x.op === op && x.status === 'completed')
      .sort((a, b) => (a.endedAt! < b.endedAt! ? 1 : -1))[0];
    expect(j, `a completed ${op} job`).toBeDefined();
    return j.result as T;
  };
  const kv = (scope: string, label: string) =>
    page
      .locator(`${scope} .ms-kv div`, { has: page.locator('dt', { hasText: new RegExp(`^${label}$`) }) })
      .locator('dd')
      .first()
      .innerText();

  beforeAll(async () => {
    // A private copy: SAEs and analyses are written to it.
    suite = await openServedSuite('features', {
      copy: true,
      page: { viewport: { width: 1400, height: 1000 }, colorScheme: 'light' },
      problems,
    });
    ({ api, page } = suite);
  });
  afterAll(() => suite?.close());

  it('trains an SAE from the form and lists it with the metrics saes.list returns', async () => {
    await go('saes');
    const before = await api.call('saes.list', {});
    const form = page.locator('form.ms-form');
    // A bad name is refused before anything is sent.
    await form.getByLabel('Name').fill('bad name!');
    expect(await form.locator('.ms-form-error').textContent()).toContain('letters, digits');
    expect(await form.getByRole('button', { name: 'Train SAE' }).isDisabled()).toBe(true);

    await form.getByLabel('Checkpoint').selectOption('base');
    await form.getByLabel('Tap').selectOption('blocks.0.mlp.post');
    await form.getByLabel('Name').fill('e2e-sae');
    await form.getByLabel('Latents').fill('64');
    await form.getByLabel('k', { exact: true }).fill('8');
    await form.getByLabel('Steps').fill('40');
    await form.getByRole('button', { name: 'Train SAE' }).click();
    await page.locator('.ms-done').waitFor({ timeout: 120_000 });

    const after = await api.call('saes.list', {});
    expect(after.length).toBe(before.length + 1);
    const sae = after.find((x) => x.name === 'e2e-sae')!;
    expect(sae.dSae).toBe(64);
    const row = page.locator('.ms-sae-table tbody tr', { hasText: 'e2e-sae' });
    await row.waitFor();
    const cells = await row.locator('td').allInnerTexts();
    expect(cells[3]).toBe(int(64));
    expect(cells[4]).toBe(num(sae.metrics.l0));
    expect(cells[5]).toBe(dec3(sae.metrics.explainedVariance));
    expect(await page.locator('.ms-done').textContent()).toContain(
      `explained variance ${dec3(sae.metrics.explainedVariance)}`,
    );
    // Its training curve and latent-density histogram.
    await row.getByRole('button', { name: 'e2e-sae' }).click();
    expect(await page.locator('.figure-svg svg[data-figure="lineChart"] title').first().textContent()).toBe(
      'SAE e2e-sae: training',
    );
    expect(await page.locator('.figure-svg svg[data-figure="histogram"]').count()).toBe(1);
    await page.setViewportSize({ width: 1400, height: 1500 });
    await page.screenshot({ path: join(SCREENSHOTS, 'features-saes-light.png') });
    await page.setViewportSize({ width: 1400, height: 1000 });
  });

  it('matches neurons across checkpoints: filter counts, scatters and SVCCA/RSA as the job returns them', async () => {
    // Tabs move with the arrow keys.
    await page.getByRole('tab', { name: 'SAEs' }).focus();
    await page.keyboard.press('ArrowRight');
    await expect.poll(() => new URL(page.url()).hash).toBe('#/features/match');
    // The hash changes first; the tabs follow on the hashchange event.
    await expect
      .poll(() => page.getByRole('tab', { name: 'Matching' }).getAttribute('aria-selected'))
      .toBe('true');

    const form = page.locator('form.ms-form');
    await form.getByLabel('A checkpoint').selectOption('base');
    await form.getByLabel('A tap').selectOption('blocks.0.mlp.post');
    await form.getByLabel('B checkpoint').selectOption('dpo');
    await form.getByLabel('B tap').selectOption('blocks.0.mlp.post');
    await form.getByLabel('Shuffles').fill('20');
    await form.getByRole('button', { name: 'Match' }).click();
    const result = page.locator('[data-result="match"]');
    await result.waitFor({ timeout: 120_000 });
    const r = await lastJob<OpResult<'match'>>('match');

    expect(await result.locator('h3').innerText()).toContain(`${int(r.kept)} pairs kept`);
    const rows = await result.getByRole('table', { name: 'Filters' }).locator('tbody tr').all();
    expect(rows.length).toBe(r.filters.length);
    for (const [i, f] of r.filters.entries()) {
      const t = await rows[i].locator('td').allInnerTexts();
      expect(t).toEqual([
        f.filter,
        f.applied ? 'yes' : 'no',
        int(f.before),
        int(f.after),
        int(f.before - f.after),
      ]);
    }
    expect(await result.locator('p').first().innerText()).toContain(dec3(r.meanCorrelationFiltered));
    // Two scatters (r per pair with the threshold line, A vs B) and two null histograms.
    expect(await result.locator('svg[data-figure="scatter"]').count()).toBe(2);
    expect(await result.locator('svg[data-figure="nullHistogram"]').count()).toBe(2);
    expect(await kv('[data-measure="SVCCA"]', 'Score')).toBe(dec3(r.similarity!.svcca.score));
    expect(await kv('[data-measure="RSA"]', 'p')).toContain(formatPValue(r.similarity!.rsa.pValue!));
    expect(await kv('[data-measure="RSA"]', 'p')).toContain('(1 + #{null >= observed}) / (1 + N)');
    expect(r.svccaNullHistogram!.counts.reduce((a, b) => a + b, 0)).toBe(20);
    await page.setViewportSize({ width: 1400, height: 2300 });
    await page.screenshot({ path: join(SCREENSHOTS, 'features-match-light.png') });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.screenshot({ path: join(SCREENSHOTS, 'features-match-dark.png') });
    await page.emulateMedia({ colorScheme: 'light' });
    await page.setViewportSize({ width: 1400, height: 1000 });

    // SAE latents on side A; no null asked for.
    await form.getByLabel('A features').selectOption('e2e-sae');
    await form.getByLabel('Shuffles').fill('0');
    await form.getByRole('button', { name: 'Match' }).click();
    await expect
      .poll(() => result.locator('h3').innerText(), { timeout: 120_000 })
      .not.toContain(`${int(r.kept)} pairs kept`);
    const withSae = await lastJob<OpResult<'match'>>('match');
    expect(withSae.filters[1].before).toBe(256); // each B neuron picks one of the SAE's 64 latents
    expect(await result.locator('h3').innerText()).toContain(`${int(withSae.kept)} pairs kept`);
    expect(await result.innerText()).toContain('no shuffles were asked for');

    // SAE latents on both sides: the seed baseline (A's SAE trained again with the next seed) beside it.
    await form.getByLabel('B features').selectOption('e2e-sae');
    await form.getByRole('button', { name: 'Match' }).click();
    const baseline = result.locator('[data-result="seed-baseline"]');
    await baseline.waitFor({ timeout: 120_000 });
    const b = (await lastJob<OpResult<'match'>>('match')).seedBaseline!;
    expect(await baseline.locator('p').first().innerText()).toBe(
      `A↔B share ${pct(b.share)} of features (seeds share ${pct(b.seedShare)})`,
    );
    const table = baseline.getByRole('table', { name: 'Seed baseline' });
    expect(await table.locator('tbody tr').first().locator('td').allInnerTexts()).toEqual([
      'Features kept',
      pct(b.share),
      pct(b.seedShare),
    ]);
    expect(await table.locator('tbody tr').nth(1).locator('td').allInnerTexts()).toEqual([
      'Latents shared (cosine > 0.7)',
      pct(b.sharedAB!.fraction),
      pct(b.sharedSeeds.fraction),
    ]);

    // A reload re-reads the last completed match from the store, with its settings in the form.
    await page.reload();
    await result.waitFor({ timeout: 60_000 });
    expect(await result.locator('h3').innerText()).toContain('(read from the store)');
    expect(await form.getByLabel('A features').inputValue()).toBe('e2e-sae');
  });

  it('computes SVCCA in paper-compat mode with its null and p-value', async () => {
    await go('similarity');
    const form = page.locator('form.ms-form');
    await form.getByLabel('A checkpoint').selectOption('base');
    await form.getByLabel('B checkpoint').selectOption('decpo');
    await form.getByLabel('A tap').selectOption('blocks.1.mlp.post');
    await form.getByLabel('B tap').selectOption('blocks.1.mlp.post');
    await form.getByLabel('Mode').selectOption('svcca-paper-compat');
    await form.getByLabel('Shuffles').fill('20');
    await form.getByRole('button', { name: 'Compute SVCCA' }).click();
    const result = page.locator('[data-result="similarity"]');
    await result.waitFor({ timeout: 120_000 });
    const r = await lastJob<OpResult<'similarity'>>('similarity');
    expect(r.mode).toBe('svcca-paper-compat');
    expect(await result.locator('.ms-what').first().innerText()).toBe(r.label);
    expect(await kv('[data-result="similarity"]', 'Score')).toBe(dec3(r.score));
    expect(await kv('[data-result="similarity"]', 'p')).toContain(formatPValue(r.pValue!));
    expect(await result.locator('svg[data-figure="nullHistogram"]').count()).toBe(1);
  });

  it('compares semantic subspaces per category', async () => {
    await go('subspaces');
    const form = page.locator('form.ms-form');
    await form.getByLabel('A checkpoint').selectOption('base');
    await form.getByLabel('B checkpoint').selectOption('dpo');
    await form.getByLabel('Shuffles').fill('10');
    await form.getByRole('button', { name: 'Compare subspaces' }).click();
    const result = page.locator('[data-result="subspaces"]');
    await result.waitFor({ timeout: 120_000 });
    const r = await lastJob<OpResult<'subspaces'>>('subspaces');
    const rows = result.getByRole('table', { name: 'Categories' }).locator('tbody tr');
    expect(await rows.count()).toBe(r.categories.length);
    for (const [i, c] of r.categories.entries()) {
      const t = await rows.nth(i).locator('td').allInnerTexts();
      expect(t[0]).toBe(c.category);
      expect(t[4]).toBe(dec3(c.similarity?.svcca.score));
      expect(t[8]).toBe(c.skipped ?? '');
    }
    const scored = r.categories.filter((c) => c.similarity).length;
    expect(await result.locator('h3').innerText()).toBe(
      `${scored} of ${r.categories.length} categories scored`,
    );
    if (scored > 0) expect(await result.locator('svg[data-figure="groupedBarChart"]').count()).toBe(1);
    await page.setViewportSize({ width: 1400, height: 1600 });
    await page.screenshot({ path: join(SCREENSHOTS, 'features-subspaces-light.png') });
    expect(problems).toEqual([]);
  });
});
