// The Study view in real Chromium against the real server, on a copy of the study suites' shared tiny study
// (run by the CLI: tiny model, 20 pretrain steps, 6 preference steps, 3 seeds, base, dpo and decpo): every cell of
// the grid done; every number of the verdicts, the summary and the judges equal to the store's (`study.get`)
// exactly, through `data-value`; the verdict words; a figure's CSV export holding the store's numbers; and
// a second study started from the form, followed live (cells move from pending through training to done)
// until its tables appear. Screenshots go to test-output/e2e/.
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Locator, Page } from 'playwright-core';
import type { RunningServer } from '../../src/main/server.js';
import { createHttpClient, type MonoscopeClient } from '../../src/renderer/api/client.js';
import type { OpResult } from '../../src/core/api.js';
import { VERDICTS } from '../../src/core/study/types.js';
import { REPO, SCREENSHOTS, buildRenderer, launchChromium, serveCompiled, watchedPage } from './harness.js';
import { STUDY_LIMIT, TINY_STUDY as TINY, copyTinyStudy } from '../helpers/study-project.js';
import { parseXml } from '../unit/figures/xml.js';

type Study = NonNullable<OpResult<'study.get'>>;

describe('Study view', () => {
  let dir: string;
  let project: string;
  let server: RunningServer;
  let api: MonoscopeClient;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];
  const main = () => page.locator('main');
  const stored = async (name: string) => (await api.call('study.get', { name }))!;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'monoscope-study-view-'));
    project = copyTinyStudy(join(dir, 'project'));
    const rendererDir = await buildRenderer(join(REPO, 'test-output', 'e2e-renderer-study'));
    server = await serveCompiled(project, rendererDir);
    api = createHttpClient({ baseUrl: new URL(server.url).origin, token: server.token });
    browser = await launchChromium();
    mkdirSync(SCREENSHOTS, { recursive: true });
    page = await watchedPage(
      browser,
      { viewport: { width: 1400, height: 1000 }, acceptDownloads: true },
      problems,
    );
  }, STUDY_LIMIT);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Every `[data-field]` of `row` has the exact value `expected[field]` (a dotted path) in `data-value`. */
  async function expectValues(row: Locator, expected: object) {
    const fields = await row
      .locator('[data-field][data-value]')
      .evaluateAll((els) =>
        els.map((e) => [e.getAttribute('data-field')!, e.getAttribute('data-value')!] as const),
      );
    expect(fields.length).toBeGreaterThan(0);
    for (const [field, value] of fields) {
      const want = field
        .split('.')
        .reduce<unknown>((o: unknown, k: string) => (o as Record<string, unknown>)[k], expected);
      // A number, or null where JSON carried NaN (an interval of one seed, an adjusted p of no family).
      expect(want === null || typeof want === 'number', `${field} of ${JSON.stringify(expected)}`).toBe(true);
      expect(value, field).toBe(String(want));
    }
    return fields.map(([f]) => f);
  }

  /** The summary, verdicts and judges shown equal the store's, number for number, with the verdict words. */
  async function expectTablesEqualStore(study: Study) {
    const blocks = main().getByRole('checkbox', { name: /Every block/ });
    if (await blocks.count()) await blocks.check();
    expect(study.summary.length).toBeGreaterThan(0);
    for (const r of study.summary) {
      const tr = main().locator(
        `tr[data-task="${r.task}"][data-metric="${r.metric}"][data-method="${r.method}"]`,
      );
      const fields = await expectValues(tr, r);
      const own = ['mean', 'ciLow', 'ciHigh', 'n'];
      const paired = ['diff', 'ciLow', 'ciHigh', 'p', 'pAdjusted', 'effectSize'].map((f) => `paired.${f}`);
      expect(fields).toEqual(r.paired ? [...own, ...paired] : own);
    }
    expect(await main().locator('table.study-summary tbody tr').count()).toBe(study.summary.length);

    expect(study.verdicts.length).toBeGreaterThan(0);
    for (const v of study.verdicts) {
      const tr = main().locator(`tr[data-verdict="${v.id}"]`);
      expect(await tr.locator('[data-field="verdict"]').textContent()).toBe(v.verdict);
      expect(VERDICTS).toContain(v.verdict);
      expect(await expectValues(tr, v)).toEqual([
        'diff',
        'ciLow',
        'ciHigh',
        'n',
        'p',
        'pAdjusted',
        'effectSize',
      ]);
    }
    expect(await main().locator('tr[data-verdict]').count()).toBe(study.verdicts.length);
    for (const j of study.judges)
      await expectValues(main().locator(`table[data-table="judges"] tr[data-task="${j.task}"]`), j);
  }

  it('shows the finished study: every cell done, tables equal to the store, the verdict words', async () => {
    await page.goto(new URL('#/study', server.url).href);
    await main().locator('[data-study="study"]').waitFor({ timeout: 30_000 });
    const study = await stored('study');
    expect(study.running).toBe(false);
    // 3 methods x 3 seeds of toxicity, all done.
    expect(study.cells).toHaveLength(9);
    const cells = main().locator('table[data-grid="toxicity"] td[data-status]');
    expect(await cells.count()).toBe(9);
    expect(new Set(await cells.evaluateAll((els) => els.map((e) => e.getAttribute('data-status'))))).toEqual(
      new Set(['done']),
    );
    await expectTablesEqualStore(study);
    // The exact spec, as the store holds it.
    expect(JSON.parse((await main().locator('[data-field="spec"]').textContent())!)).toEqual(study.spec);
    await page.setViewportSize({ width: 1400, height: 3600 });
    await page.evaluate('window.scrollTo(0, 0)');
    await page.screenshot({ path: join(SCREENSHOTS, 'study-light.png') });
    await page.setViewportSize({ width: 1400, height: 1000 });
    expect(problems).toEqual([]);
  });

  /** Clicks `button` and returns the download it starts: its suggested name and its text. */
  async function download(button: Locator) {
    const [file] = await Promise.all([page.waitForEvent('download'), button.click()]);
    return { name: file.suggestedFilename(), text: readFileSync((await file.path())!, 'utf8') };
  }

  it("exports the method figure as CSV and SVG, and saves the report, with the store's numbers", async () => {
    const study = await stored('study');
    const metric = 'reward_accuracy';
    const rows = study.summary.filter((r) => r.task === 'toxicity' && r.metric === metric);
    expect(rows.map((r) => r.method).sort()).toEqual(['decpo', 'dpo']);
    const panel = main().locator('[data-figure="study-methods"]');
    await panel.getByLabel('Metric').selectOption(metric);
    await panel.locator('summary', { hasText: 'Export' }).click();

    // One bar per method: its mean and 95% CI over seeds, exactly the summary's.
    const csv = await download(panel.getByRole('button', { name: 'Export CSV' }));
    expect(csv.name).toBe(`study-study-methods-toxicity-${metric}.csv`);
    const lines = csv.text.trim().split('\n');
    expect(lines[0]).toBe('group,series,value,error_lo,error_hi');
    const finite = (v: number | null) => (v === null || !Number.isFinite(v) ? '' : String(v));
    expect(lines.slice(1).sort()).toEqual(
      rows.map((r) => [metric, r.method, String(r.mean), finite(r.ciLow), finite(r.ciHigh)].join(',')).sort(),
    );

    const svg = await download(panel.getByRole('button', { name: 'Export SVG' }));
    expect(svg.name).toBe(`study-study-methods-toxicity-${metric}.svg`);
    expect(parseXml(svg.text).name).toBe('svg');
    for (const r of rows) expect(svg.text).toContain(`>${r.method}<`);

    // The report: every verdict's word and every summary mean at full precision.
    const report = await download(main().getByRole('button', { name: 'Save report (HTML)' }));
    expect(report.name).toBe('study-study.html');
    expect(report.text).toContain('<title>Study study');
    for (const v of study.verdicts) expect(report.text).toContain(v.verdict);
    for (const r of study.summary) expect(report.text).toContain(`data-value="${r.mean}"`);
    expect(problems).toEqual([]);
  });

  /** Fills the form with the tiny grid of base and DPO under `name` (`steps` preference steps) and starts it. */
  async function startFromForm(name: string, steps: number) {
    const form = main().getByRole('form', { name: 'Start a study' });
    await form.getByLabel('Name', { exact: true }).fill(name);
    for (const m of ['sft', 'decpo', 'simpo', 'l1'])
      await form.getByRole('checkbox', { name: m, exact: true }).uncheck();
    await form.getByLabel('Seeds', { exact: true }).fill(String(TINY.seeds));
    const advanced = form.locator('details.study-advanced');
    if ((await advanced.getAttribute('open')) === null) await advanced.locator('summary').click();
    await form.getByLabel('Preference steps').fill(String(steps));
    await form.getByLabel('Pretrain steps').fill(String(TINY.pretrainSteps));
    await form.getByLabel('Pretrain documents').fill(String(TINY.pretrainExamples));
    await form.getByLabel('Preference pairs').fill(String(TINY.examples));
    await form.getByLabel('Probe tokens').fill(String(TINY.probeTokens));
    await form.getByLabel('Workers').fill(String(TINY.workers));
    for (const [k, v] of Object.entries(TINY.modelShape))
      await form.getByLabel(k, { exact: true }).fill(String(v));
    await form.getByRole('button', { name: 'Start study' }).click();
    await main().locator(`[data-study="${name}"]`).waitFor({ timeout: 60_000 });
  }

  it('follows a study started from the form live, from pending through training to done, then its tables', async () => {
    // Every status each cell of the study `live` shows, sampled in the page 10 times a second (a string:
    // this file is typechecked without the DOM library).
    await page.evaluate(`window.seen = {}; window.watch = setInterval(() => {
      if (!document.querySelector('[data-study="live"]')) return;
      for (const td of document.querySelectorAll('table[data-grid] td[data-status]')) {
        const key = td.closest('tr').dataset.method + '|' + td.dataset.seed;
        const seen = (window.seen[key] ??= []);
        if (seen[seen.length - 1] !== td.dataset.status) seen.push(td.dataset.status);
      }
    }, 100)`);
    // The bases are the first study's (same seeds and sizes: cached); the dpo cells train anew.
    await startFromForm('live', 30);
    expect(await main().getByRole('button', { name: 'Start study' }).isDisabled()).toBe(true);
    // Until the sampler has seen every cell done (the table's count can run ahead of its last sample).
    const sampled = async () => (await page.evaluate('window.seen')) as Record<string, string[]>;
    await expect
      .poll(async () => Object.values(await sampled()).filter((s) => s.at(-1) === 'done').length, {
        timeout: 150_000,
        interval: 500,
      })
      .toBe(6);
    expect(await main().locator('table[data-grid] td[data-status="done"]').count()).toBe(6);
    const seen = await sampled();
    await page.evaluate('clearInterval(window.watch)');
    const order = ['pending', 'training', 'measuring', 'done'];
    for (let seed = 0; seed < TINY.seeds; seed++) {
      const statuses = seen[`dpo|${seed}`];
      expect(statuses, `dpo seed ${seed}`).toContain('training');
      expect(statuses.at(-1)).toBe('done');
      // Forward only: pending, training, measuring, done.
      const ranks = statuses.map((s) => order.indexOf(s));
      expect(
        ranks.every((r, i) => r >= 0 && (i === 0 || r > ranks[i - 1])),
        statuses.join(' → '),
      ).toBe(true);
    }
    // Two workers for three cells: one waited its turn.
    expect(Object.values(seen).some((s) => s.includes('pending') && s.includes('training'))).toBe(true);

    // When the job ends, the view reads the study once more: its tables appear, equal to the store's.
    const studyJobs = async () => (await api.listJobs()).filter((j) => j.op === 'study').map((j) => j.status);
    await expect.poll(studyJobs, { timeout: 30_000 }).toEqual(['completed']);
    await main()
      .locator('[data-study="live"] .badge', { hasText: 'not running' })
      .waitFor({ timeout: 10_000 });
    await main().locator('tr[data-verdict]').first().waitFor({ timeout: 10_000 });
    const study = await stored('live');
    expect(study.running).toBe(false);
    expect(study.cells.every((c) => c.status === 'done')).toBe(true);
    await expectTablesEqualStore(study);
    expect(problems).toEqual([]);
  });

  it('cancels a study job from the view', async () => {
    await startFromForm('cancelled', 400);
    await main().locator('table[data-grid] td[data-status="training"]').first().waitFor({ timeout: 60_000 });
    await main()
      .getByRole('button', { name: /^Cancel/ })
      .click();
    await main().getByText('The study was cancelled').waitFor({ timeout: 60_000 });
    const job = (await api.listJobs()).find(
      (j) => j.op === 'study' && (j.input as { name?: string }).name === 'cancelled',
    );
    expect(job?.status).toBe('cancelled');
    await expect.poll(async () => (await stored('cancelled')).running, { timeout: 30_000 }).toBe(false);
    expect(problems).toEqual([]);
  });
});
