// The Diff view in real Chromium against the real server, on a private copy of the demo project, where the
// setup trains a tiny crosscoder over base, DPO and DecPO through the served API: the list; the per-model
// metrics, tag counts and every latent's Δ, cosine, ν and monosemanticity equal to the store's
// (`crosscoders.list`) through `data-value`; the form re-reading the same crosscoder as a job; sorting and
// the pair picker; the Δ histogram's CSV and SVG export (the CSV equal to `monoscope export figure`'s and
// to bins counted here); a latent's page equal to `crosscoder.latent`; and the activation-difference lens
// showing the job's norms and top tokens; the findings panel showing what `crosscoder.findings` returns,
// and after "Seed baseline" (the twin trained as a job) the seed numbers of the same op. Screenshots go to
// test-output/e2e/.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Locator, Page } from 'playwright-core';
import { SCREENSHOTS } from './harness.js';
import { openServedSuite, type ServedSuite } from './served-project.js';
import type { OpInput, OpResult } from '../../src/core/api.js';
import type { JobInfo, JobOp, MonoscopeClient } from '../../src/renderer/api/client.js';
import { cli } from '../integration/cli.js';
import { parseXml } from '../unit/figures/xml.js';

type Crosscoder = OpResult<'crosscoders.list'>[number];

/** The tiny crosscoder of the setup (the form sends the same settings). */
const TINY = {
  name: 'e2e-cc',
  checkpoints: ['base', 'dpo', 'decpo'],
  tap: 'blocks.1.mlp.post',
  latents: 64,
  k: 8,
  steps: 40,
} as const;

describe('Diff view', () => {
  let suite: ServedSuite;
  let api: MonoscopeClient;
  let page: Page;
  let tmp: string;
  const problems: string[] = [];
  const main = () => page.locator('main');
  const stored = async (): Promise<Crosscoder> =>
    (await api.call('crosscoders.list', {})).find((c) => c.name === TINY.name)!;

  /** The newest completed job of `op` on the server, with its result. */
  const lastJob = async <T>(op: string): Promise<T> => {
    const j = (await api.listJobs())
      .filter((x) => x.op === op && x.status === 'completed')
      .sort((a, b) => (a.endedAt! < b.endedAt! ? 1 : -1))[0];
    expect(j, `a completed ${op} job`).toBeDefined();
    return j.result as T;
  };

  /** Runs a job on the server to its end and returns its result. */
  async function runJob<N extends JobOp>(op: N, input: OpInput<N>): Promise<OpResult<N>> {
    const job = await (api.startJob as (op: JobOp, input: unknown) => Promise<JobInfo>)(op, input);
    for (const end = Date.now() + 240_000; ; await new Promise((r) => setTimeout(r, 500))) {
      const j = (await api.listJobs()).find((x) => x.id === job.id)!;
      if (j.status === 'completed') return j.result as OpResult<N>;
      if (j.status === 'failed' || j.status === 'cancelled') throw new Error(`${op} ${j.status}: ${j.error}`);
      if (Date.now() > end) throw new Error(`${op} did not finish in 240 s`);
    }
  }

  /** The `data-field` → `data-value` pairs inside `scope`. */
  const values = async (scope: Locator): Promise<Record<string, string>> =>
    Object.fromEntries(
      await scope
        .locator('[data-field][data-value]')
        .evaluateAll((els) => els.map((e) => [e.getAttribute('data-field')!, e.getAttribute('data-value')!])),
    );

  /** Clicks `button` and returns the download it starts: its suggested name and its text. */
  async function download(button: Locator) {
    const [file] = await Promise.all([page.waitForEvent('download'), button.click()]);
    return { name: file.suggestedFilename(), text: readFileSync((await file.path())!, 'utf8') };
  }

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'monoscope-diff-view-'));
    // A private copy: the crosscoder is written to it.
    suite = await openServedSuite('diff', {
      copy: true,
      page: { viewport: { width: 1400, height: 1000 }, colorScheme: 'light', acceptDownloads: true },
      problems,
    });
    ({ api, page } = suite);
    await runJob('crosscoder.train', { ...TINY, checkpoints: [...TINY.checkpoints] });
  });
  afterAll(async () => {
    await suite?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('lists the crosscoder; metrics, tag counts and every latent equal the store', async () => {
    // `g d` opens the view.
    await suite.go('#/project');
    await page.locator('main h1').waitFor();
    await page.keyboard.press('g');
    await page.keyboard.press('d');
    await expect.poll(() => page.locator('main h1').textContent()).toBe('Diff');
    expect(new URL(page.url()).hash).toBe('#/diff');

    const c = await stored();
    expect(c.checkpoints).toEqual(TINY.checkpoints);
    expect(c.dSae).toBe(TINY.latents);
    await main().locator(`tr[data-name="${TINY.name}"]`).waitFor({ timeout: 30_000 });
    const details = main().locator(`[data-crosscoder="${TINY.name}"]`);
    await details.waitFor();

    for (const [m, ck] of c.checkpoints.entries()) {
      const shown = await values(details.locator(`tr[data-model="${ck}"]`));
      const metrics = c.metrics[m];
      expect(shown).toEqual({
        explainedVariance: String(metrics.explainedVariance),
        l0: String(metrics.l0),
        mse: String(metrics.mse),
        deadFraction: String(metrics.deadFraction),
      });
    }

    // The first pair (base, dpo) is shown: its counts and all 64 latents, number for number.
    const pair = c.pairs[0];
    const counts = await values(details.getByRole('table', { name: 'Tag counts' }));
    expect(counts).toEqual(
      Object.fromEntries(Object.entries(pair.counts).map(([t, n]) => [`counts.${t}`, String(n)])),
    );
    const rows = details.locator('table[data-table="latents"] tbody tr');
    expect(await rows.count()).toBe(TINY.latents);
    for (let i = 0; i < TINY.latents; i++) {
      const row = details.locator(`tr[data-latent="${i}"]`);
      expect(await row.getAttribute('data-tag')).toBe(pair.tag[i]);
      expect(await values(row)).toEqual({
        delta: String(pair.delta[i]),
        cosine: String(pair.cosine[i]),
        nuError: String(pair.nuError[i]),
        nuRecon: String(pair.nuRecon[i]),
        score: String(c.concepts[i].score),
      });
    }
    // Sorted by Δ, largest first; a click on the header sorts ascending.
    const shownDeltas = async () =>
      (
        await rows
          .locator('[data-field="delta"]')
          .evaluateAll((els) => els.map((e) => e.getAttribute('data-value')))
      ).map(Number);
    expect(await shownDeltas()).toEqual([...pair.delta].sort((x, y) => y - x));
    await details.getByRole('columnheader', { name: /^Δ/ }).getByRole('button').click();
    expect(await shownDeltas()).toEqual([...pair.delta].sort((x, y) => x - y));

    // Another pair of models: its counts.
    await details.getByLabel('Pair of models').selectOption({ label: 'A = dpo, B = decpo' });
    const other = c.pairs.find((p) => c.checkpoints[p.a] === 'dpo' && c.checkpoints[p.b] === 'decpo')!;
    await expect
      .poll(async () => values(details.getByRole('table', { name: 'Tag counts' })))
      .toEqual(Object.fromEntries(Object.entries(other.counts).map(([t, n]) => [`counts.${t}`, String(n)])));
    expect(new URL(page.url()).hash).toBe(`#/diff/${TINY.name}?pair=dpo%2Cdecpo`);
    await page.setViewportSize({ width: 1400, height: 2400 });
    await page.locator('main h1').scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(SCREENSHOTS, 'diff-light.png') });
    await page.setViewportSize({ width: 1400, height: 1000 });
    expect(problems).toEqual([]);
  });

  it('re-reads the same crosscoder from the form, as a job', async () => {
    const form = main().locator('form.ms-form').first();
    for (const ck of TINY.checkpoints) await form.getByRole('checkbox', { name: ck, exact: true }).check();
    await form.getByLabel('Tap').selectOption(TINY.tap);
    await form.getByLabel('Name').fill(TINY.name);
    await form.getByLabel('Latents').fill(String(TINY.latents));
    await form.getByLabel('k', { exact: true }).fill(String(TINY.k));
    await form.getByLabel('Steps').fill(String(TINY.steps));
    expect(await main().getByText(`A crosscoder named ${TINY.name} exists`).count()).toBe(1);
    await form.getByRole('button', { name: 'Train crosscoder' }).click();
    await main().locator('.ms-done').waitFor({ timeout: 120_000 });
    const c = await stored();
    const result = await lastJob<Crosscoder>('crosscoder.train');
    expect(result.weightsHash).toBe(c.weightsHash);
    expect(await main().locator('.ms-done').textContent()).toContain(`Trained ${TINY.name}`);
    expect((await api.call('crosscoders.list', {})).length).toBe(1);
  });

  it('exports the Δ histogram: the CSV holds the store’s Δ binned, the same as `monoscope export figure`', async () => {
    await suite.go(`#/diff/${TINY.name}`);
    const c = await stored();
    const pair = c.pairs[0];
    const figure = main().locator('[data-figure="diff-delta"]');
    await figure.locator('.figure-svg svg').waitFor({ timeout: 30_000 });
    await figure.locator('summary', { hasText: 'Export' }).click();
    const csv = await download(figure.getByRole('button', { name: 'Export CSV' }));
    expect(csv.name).toBe(`crosscoder-${TINY.name}-base-dpo-delta.csv`);
    const lines = csv.text.trim().split('\n');
    expect(lines[0]).toBe('bin_lo,bin_hi,count,density,band');
    // 20 bins of width 0.05 over [0, 1], counted here from the store's Δ.
    const expected = new Array<number>(20).fill(0);
    for (const d of pair.delta) expected[Math.min(19, Math.floor(d * 20))]++;
    expect(lines.slice(1).map((l) => Number(l.split(',')[2]))).toEqual(expected);
    expect(lines.slice(1).map((l) => l.split(',')[4])).toEqual([
      'dpo-only (Δ < 0.1)',
      'dpo-only (Δ < 0.1)',
      ...new Array<string>(6).fill(''),
      ...new Array<string>(4).fill('shared (|Δ − 0.5| < 0.1)'),
      ...new Array<string>(6).fill(''),
      'base-only (Δ > 0.9)',
      'base-only (Δ > 0.9)',
    ]);

    const svg = await download(figure.getByRole('button', { name: 'Export SVG' }));
    expect(svg.name).toBe(`crosscoder-${TINY.name}-base-dpo-delta.svg`);
    expect(parseXml(svg.text).name).toBe('svg');
    expect(svg.text).toContain('Relative decoder norm Δ, base vs dpo');

    // The CLI draws the same figure from the store.
    const out = join(tmp, 'delta.csv');
    const r = cli([
      'export',
      'figure',
      '--project',
      suite.project,
      '--figure',
      'diff-delta',
      '--crosscoder',
      TINY.name,
      '--a',
      'base',
      '--b',
      'dpo',
      '--csv',
      out,
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(csv.text);
    expect(problems).toEqual([]);
  });

  it("opens a latent's page with the numbers of crosscoder.latent", async () => {
    const c = await stored();
    const latent = c.pairs[0].delta.indexOf(Math.max(...c.pairs[0].delta));
    await main()
      .locator(`tr[data-latent="${latent}"]`)
      .getByRole('button', { name: String(latent), exact: true })
      .click();
    const article = main().locator(`[data-latent-page="${TINY.name}/${latent}"]`);
    await article.waitFor({ timeout: 60_000 });
    expect(new URL(page.url()).hash).toBe(`#/diff/${TINY.name}/${latent}?pair=base%2Cdpo`);
    const p = await api.call('crosscoder.latent', { name: TINY.name, latent });
    for (const [m, ck] of p.checkpoints.entries())
      expect(
        await values(article.getByRole('table', { name: 'Decoder norms' }).locator(`tr[data-model="${ck}"]`)),
      ).toEqual({
        decoderNorm: String(p.decoderNorms[m]),
        density: String(p.concept.density[m]),
      });
    for (const q of p.pairs) {
      const names = `${p.checkpoints[q.a]}:${p.checkpoints[q.b]}`;
      const row = article.getByRole('table', { name: 'Pairs of models' }).locator(`tr[data-pair="${names}"]`);
      expect(await values(row)).toEqual({
        delta: String(q.delta),
        cosine: String(q.cosine),
        nuError: String(q.nuError),
        nuRecon: String(q.nuRecon),
      });
      // The page and the list agree.
      const listed = c.pairs.find((x) => x.a === q.a && x.b === q.b)!;
      expect(q.delta).toBe(listed.delta[latent]);
    }
    // Per model: the activation histogram and the top contexts, each activation as the page holds it.
    expect(await article.locator('svg[data-figure="histogram"]').count()).toBe(p.models.length);
    for (const model of p.models) {
      const shown = await article
        .locator(`[data-model="${model.checkpoint}"] .ms-example-value`)
        .evaluateAll((els) => els.map((e) => e.getAttribute('data-value')));
      expect(shown).toEqual(model.top.map((t) => String(t.activation)));
    }
    await page.setViewportSize({ width: 1400, height: 2000 });
    await page.locator('main h1').scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(SCREENSHOTS, 'diff-latent-light.png') });
    await page.setViewportSize({ width: 1400, height: 1000 });
    await article.getByRole('button', { name: '← All latents' }).click();
    await main().locator('table[data-table="latents"]').waitFor();
    expect(problems).toEqual([]);
  });

  it('runs the activation-difference lens and shows its norms and top tokens', async () => {
    const panel = main().locator('section.ms-panel', {
      has: page.getByRole('heading', { name: 'Activation-difference lens' }),
    });
    await panel.getByLabel('Lens A').selectOption('base');
    await panel.getByLabel('Lens B').selectOption('dpo');
    // One layer: the demo's other taps would be recorded first.
    await panel.getByLabel('Taps').fill('blocks.1.resid_post');
    await panel.getByRole('button', { name: 'Run lens' }).click();
    const result = panel.locator('[data-result="diff.lens"]');
    await result.waitFor({ timeout: 120_000 });
    const r = await lastJob<OpResult<'diff.lens'>>('diff.lens');
    expect(r.a).toBe('base');
    expect(r.b).toBe('dpo');
    expect(r.layers.map((l) => l.tap)).toEqual(['blocks.1.resid_post']);
    expect(await result.locator('svg[data-figure="groupedBarChart"]').count()).toBe(1);
    // The norms figure's CSV holds the job's norms, and `monoscope export figure` (the stored lens) writes
    // the same.
    await result.locator('summary', { hasText: 'Export' }).click();
    const csv = await download(result.getByRole('button', { name: 'Export CSV' }));
    expect(csv.name).toBe('lens-base-dpo.csv');
    const rows = csv.text
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.split(','));
    expect(rows.map((x) => Number(x[2]))).toEqual(r.layers.flatMap((l) => [l.norm, l.baseNorm]));
    const out = join(tmp, 'lens.csv');
    const fromCli = cli([
      'export',
      'figure',
      '--project',
      suite.project,
      '--figure',
      'diff-lens',
      '--a',
      'base',
      '--b',
      'dpo',
      '--taps',
      'blocks.1.resid_post',
      '--csv',
      out,
    ]);
    expect(fromCli.code, fromCli.stderr).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(csv.text);
    for (const l of r.layers) {
      const row = result.locator(`tr[data-layer="${l.layer}"]`);
      expect(await values(row)).toEqual({ norm: String(l.norm), baseNorm: String(l.baseNorm) });
      for (const side of ['promoted', 'suppressed'] as const) {
        const cells = row.locator(`[data-list="${side}"] tr`);
        expect(l[side]).toHaveLength(10);
        expect(await cells.locator('.ms-token').allTextContents()).toEqual(
          l[side].map((t) => JSON.stringify(t.token).slice(1, -1)),
        );
        expect(
          await cells
            .locator('td[data-value]')
            .evaluateAll((els) => els.map((e) => e.getAttribute('data-value'))),
        ).toEqual(l[side].map((t) => String(t.logit)));
      }
    }
    expect(problems).toEqual([]);
  });

  it('shows the findings of crosscoder.findings, and its seed baseline once run', async () => {
    // The demo's fine-tunes barely move the tiny crosscoder's decoder norms (every latent is shared at the
    // default thresholds): a crosscoder that tags B-only below Δ 0.499 has specific latents to show.
    const loose = {
      ...TINY,
      name: 'e2e-cc-loose',
      checkpoints: [...TINY.checkpoints],
      latents: 32,
      steps: 20,
    };
    await runJob('crosscoder.train', { ...loose, specific: 0.501 });
    await suite.go(`#/diff/${loose.name}`);
    const panel = main().locator(`[data-findings="${loose.name}"]`);
    /** The panel shows `f`: every model's row, the score difference and, with a baseline, the seed line. */
    const showsFindings = async (f: OpResult<'crosscoder.findings'>) => {
      expect(f.specific.map((s) => s.checkpoint)).toEqual(['dpo', 'decpo']);
      for (const [i, s] of f.specific.entries()) {
        const row = panel.locator(`tr[data-model="${s.checkpoint}"]`);
        expect(await values(row)).toEqual({
          shared: String(f.shared[i].count),
          count: String(s.count),
          firing: String(s.firing),
          monosemantic: String(s.monosemantic),
          meanScore: String(s.meanScore),
          meanNuError: String(s.meanNuError),
          meanNuRecon: String(s.meanNuRecon),
          ...(f.seed && {
            seedShared: String(s.seedShared),
            seedFound: String(s.seedFound),
            seedTwinCount: String(s.seedTwinCount),
          }),
        });
        const concepts = await row
          .locator('[data-concept]')
          .evaluateAll((els) =>
            els.map((e) => [e.getAttribute('data-concept'), e.getAttribute('data-latents')]),
          );
        expect(concepts).toEqual(s.concepts.slice(0, 4).map((c) => [c.concept, String(c.latents)]));
      }
      expect(await values(panel.locator('[data-result="score-difference"]'))).toEqual({
        scoreDifference: String(f.scoreDifference),
      });
    };
    // Without a baseline: what the op returns from the store (nothing trained).
    const plain = await runJob('crosscoder.findings', { name: loose.name });
    expect(plain.seed).toBeUndefined();
    expect(plain.specific.some((s) => s.firing > 0)).toBe(true);
    await panel.locator('tr[data-model="decpo"]').waitFor({ timeout: 60_000 });
    await showsFindings(plain);
    expect(await panel.locator('[data-result="seed"]').count()).toBe(0);

    // The button trains the twin as a job; then the op with the baseline answers from the stored twin.
    await panel.getByRole('button', { name: 'Seed baseline' }).click();
    await panel.locator('[data-result="seed"]').waitFor({ timeout: 240_000 });
    const seeded = await runJob('crosscoder.findings', { name: loose.name, seedBaseline: true });
    expect(seeded.seed?.name).toBe(`${loose.name}-seed1`);
    await showsFindings(seeded);
    expect(await values(panel.locator('[data-result="seed"]'))).toEqual({
      'seed.allShared': String(seeded.seed!.allShared),
      'seed.allFound': String(seeded.seed!.allFound),
    });
    // The jobs strip names the panel's jobs by what they read.
    await page.locator('.jobs-button').click();
    await page
      .locator('#jobs-panel li', { hasText: `findings of ${loose.name} (seed baseline)` })
      .first()
      .waitFor();
    await page.keyboard.press('Escape');
    expect((await api.call('crosscoders.list', {})).map((c) => c.name).sort()).toEqual([
      TINY.name,
      loose.name,
      `${loose.name}-seed1`,
    ]);
    await panel.scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(SCREENSHOTS, 'diff-findings-light.png') });
    expect(problems).toEqual([]);
  });
});
