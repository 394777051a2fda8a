// A run trained elsewhere, in real Chromium against the real server: a TRL DPOTrainer trainer_state.json
// (test/fixtures/trl) and a checkpoint folder outside the project brought into a private copy of the demo
// project with `monoscope import run` (a child process, while the server serves), then the Project view
// lists the run beside the local ones and draws its curves (training and held-out points as logged), and a
// run imported through the API while it is open; the Compare view overlays its curves on the local DPO and
// DecPO runs once its checkpoint is compared.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { REPO, SCREENSHOTS } from './harness.js';
import { openServedSuite, type ServedSuite } from './served-project.js';
import { TRL_FIXTURE } from '../helpers/trainer-state.js';

describe('A run imported from TRL', () => {
  let suite: ServedSuite;
  let page: Page;
  let outside: string;
  const problems: string[] = [];
  const main = () => page.locator('main');
  const runsTable = () => page.getByRole('grid', { name: 'Training runs' });
  /** The points of a panel's curves: solid (training) and dashed (eval_), in drawing order. */
  const points = (panel: string, dashed: boolean) =>
    page
      .locator(
        `[data-panel="${panel}"] .figure-svg svg path[fill="none"]${dashed ? '[stroke-dasharray]' : ':not([stroke-dasharray])'}`,
      )
      .first()
      .getAttribute('d')
      .then((d) => (d ? (d.match(/[ML]/g) ?? []).length : 0))
      .catch(() => 0);

  beforeAll(async () => {
    // A private copy: the import and the comparison write to it.
    suite = await openServedSuite('imported', {
      copy: true,
      page: { viewport: { width: 1400, height: 1000 } },
      problems,
    });
    page = suite.page;
    // The cluster's output: its checkpoint (here the demo's DPO weights) in a folder of its own, in the
    // Hugging Face layout only (no monoscope.json: no run of this project claims it).
    outside = mkdtempSync(join(tmpdir(), 'monoscope-cluster-'));
    cpSync(join(suite.project, 'checkpoints', 'dpo'), join(outside, 'checkpoint-30'), {
      recursive: true,
      filter: (f) => basename(f) !== 'monoscope.json',
    });
    execFileSync(
      process.execPath,
      [
        join(REPO, 'bin', 'monoscope.js'),
        ...['import', 'run', '--project', suite.project, '--trainer-state', TRL_FIXTURE],
        ...['--name', 'cluster-dpo', '--checkpoint', join(outside, 'checkpoint-30')],
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
  });
  afterAll(async () => {
    await suite?.close();
    if (outside) rmSync(outside, { recursive: true, force: true });
  });

  it('lists the imported run beside the local ones and draws its curves as logged', async () => {
    await suite.go('#/project/cluster-dpo');
    await runsTable().waitFor();
    const rows = await runsTable().locator('tbody tr').all();
    expect(await Promise.all(rows.map((r) => r.getAttribute('data-key')))).toEqual([
      'base',
      'dpo',
      'decpo',
      'cluster-dpo',
    ]);
    const row = runsTable().locator('tr[data-key="cluster-dpo"]');
    expect(await row.locator('.badge').textContent()).toBe('completed');
    expect(await row.textContent()).toContain('imported');
    await expect.poll(() => page.locator('#curves-heading').textContent()).toContain('cluster-dpo');

    // As the file logged them: training every 10 steps (10, 20, 30), evaluation every 15 (15, 30).
    const stored = await suite.api.call('runs.metrics', { runId: 'cluster-dpo' });
    expect(stored['loss'].steps).toEqual([10, 20, 30]);
    expect(stored['eval_loss'].steps).toEqual([15, 30]);
    await expect.poll(() => points('loss', false)).toBe(3);
    await expect.poll(() => points('loss', true)).toBe(2);
    await expect.poll(() => points('rewards/margins', false)).toBe(3);
    // TRL's own series have their panels too, and the caption says where the run came from.
    expect(
      await page.locator('[data-panel="logits/chosen|logits/rejected"] .definitions').textContent(),
    ).toContain("policy's output logits");
    expect(await points('grad_norm', false)).toBe(3);
    expect(await page.locator('[data-panel="loss"] .figure-svg').textContent()).toContain(
      'trainer_state.json',
    );
    await page.setViewportSize({ width: 1400, height: 3400 });
    await page.screenshot({ path: join(SCREENSHOTS, 'imported-run-project.png') });
    await page.setViewportSize({ width: 1400, height: 1000 });
  });

  it('lists a run imported through the API while the view is open, without a reload', async () => {
    const sft = join(outside, 'sft-trainer_state.json');
    const history = [10, 20, 30].map((step, i) => ({ epoch: step / 10, loss: 2.5 - i / 4, step }));
    writeFileSync(sft, JSON.stringify({ global_step: 30, log_history: history }));
    await suite.api.startJob('runs.import', { name: 'cluster-sft', trainerState: sft });
    const row = runsTable().locator('tr[data-key="cluster-sft"]');
    await expect.poll(() => row.count(), { timeout: 30_000 }).toBe(1);
    expect(await row.locator('td').nth(2).textContent()).toBe('sft');
    await row.click();
    await expect.poll(() => points('loss', false)).toBe(3);
  });

  it("overlays the imported run's curves on the local DPO and DecPO runs in the Compare view", async () => {
    await suite.go('#/compare');
    const imported = main()
      .locator('.checkpoint-picker label', { hasText: 'checkpoint-30' })
      .locator('input');
    await imported.waitFor();
    await imported.check();
    await main().getByRole('button', { name: 'Compare', exact: true }).click();
    await main().locator('[data-metric="meanAbsCorr"] .figure-svg svg').waitFor({ timeout: 120_000 });
    const margins = main().locator('[data-curve="rewards/margins"] .figure-svg');
    await margins.locator('svg').waitFor();
    await expect.poll(() => main().locator('#compare-curves-heading').textContent()).toContain('cluster-dpo');
    const text = await margins.textContent();
    for (const run of ['dpo', 'decpo', 'cluster-dpo', 'cluster-dpo (eval)']) expect(text).toContain(run);
    await page.setViewportSize({ width: 1400, height: 4400 });
    await page.screenshot({ path: join(SCREENSHOTS, 'imported-run-compare.png') });
    expect(problems).toEqual([]);
  });
});
