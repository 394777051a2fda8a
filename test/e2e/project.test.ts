// The Project view in real Chromium against the real server, on a private copy of the demo project: the
// runs and checkpoints the API returns, keyboard selection, a short DPO run started from the form whose
// curves grow while it trains and end equal to the stored metrics, cancel and the resume hint, the
// client-side checks and the engine's refusal. Screenshots go to test-output/e2e/.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { SCREENSHOTS } from './harness.js';
import { openServedSuite, type ServedSuite } from './served-project.js';
import type { MonoscopeClient } from '../../src/renderer/api/client.js';
import { parseInput } from '../../src/core/api.js';
import {
  defaultValues,
  validateTrainForm,
  type TrainFormValues,
} from '../../src/renderer/app/project/trainForm.js';

describe('Project view', () => {
  let suite: ServedSuite;
  let api: MonoscopeClient;
  let page: Page;
  const problems: string[] = [];

  const runsTable = () => page.getByRole('grid', { name: 'Training runs' });
  const statusOf = (run: string) => runsTable().locator(`tr[data-key="${run}"] .badge`).textContent();
  /** Points of the solid (training) curve in a panel's figure. */
  const trainPoints = (panel: string) =>
    page
      .locator(`[data-panel="${panel}"] .figure-svg svg path[fill="none"]:not([stroke-dasharray])`)
      .first()
      .getAttribute('d')
      .then((d) => (d ? (d.match(/[ML]/g) ?? []).length : 0))
      .catch(() => 0);

  beforeAll(async () => {
    // A private copy: training writes runs and checkpoints to it.
    suite = await openServedSuite('project', {
      copy: true,
      page: { viewport: { width: 1400, height: 1000 }, colorScheme: 'light' },
      problems,
    });
    ({ api, page } = suite);
  });
  afterAll(() => suite?.close());

  it('lists the runs and checkpoints the API returns, and moves through them with the keyboard', async () => {
    await suite.go('');
    await runsTable().waitFor();
    const runs = await api.call('runs.list', {});
    expect(runs.map((r) => r.id)).toEqual(['base', 'dpo', 'decpo']);
    const rows = await runsTable().locator('tbody tr').all();
    expect(await Promise.all(rows.map((r) => r.getAttribute('data-key')))).toEqual(['base', 'dpo', 'decpo']);
    for (const r of runs) expect(await statusOf(r.id)).toBe(r.status);
    const checkpoints = await api.call('checkpoints.list', {});
    const grid = page.getByRole('grid', { name: 'Checkpoints' });
    for (const c of checkpoints)
      expect(await grid.locator(`tr[data-key="${c.name}"] td:nth-child(4)`).textContent()).toBe(
        c.hash.slice(0, 12),
      );

    // The newest run is shown first; arrow keys move, Enter picks, and the URL keeps the pick.
    await expect.poll(() => page.locator('#curves-heading').textContent()).toContain('decpo');
    await runsTable().locator('tr[data-key="base"]').focus();
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('#curves-heading').textContent()).toContain('dpo');
    expect(new URL(page.url()).hash).toBe('#/project/dpo');
    expect(await runsTable().locator('tr[aria-selected="true"]').getAttribute('data-key')).toBe('dpo');
    // Its curves are the stored ones: as many points as logged steps, and the glossary explains the names.
    const stored = await api.call('runs.metrics', { runId: 'dpo' });
    await expect.poll(() => trainPoints('loss')).toBe(stored['loss'].steps.length);
    expect(
      await page.locator('[data-panel="rewards/chosen|rewards/rejected"] .definitions').textContent(),
    ).toContain('Falling is normal');
    // The whole view (the app scrolls inside its content pane, so the window is made as tall as the view).
    await page.setViewportSize({ width: 1400, height: 3400 });
    await page.screenshot({ path: join(SCREENSHOTS, 'project-light.png') });
    await page.emulateMedia({ colorScheme: 'dark' });
    await expect.poll(() => page.locator('html').getAttribute('data-theme')).toBe('dark');
    await page.screenshot({ path: join(SCREENSHOTS, 'project-dark.png') });
    await page.emulateMedia({ colorScheme: 'light' });
    await page.setViewportSize({ width: 1400, height: 1000 });
  });

  it('checks the form as typed and shows the engine’s refusal', async () => {
    const form = page.getByRole('form', { name: 'New training run' });
    await form.getByLabel('Run name').fill('bad name!');
    await form.getByLabel('Learning rate').fill('2');
    await form.getByRole('button', { name: 'Start training' }).click();
    expect(await form.locator('.field-name .field-error').textContent()).toContain('letters, digits');
    expect(await form.locator('.field-lr .field-error').textContent()).toBe(
      'A number above 0 and at most 1.',
    );
    expect(await form.getByLabel('Run name').getAttribute('aria-invalid')).toBe('true');
    // Nothing was sent.
    expect(await api.listJobs()).toEqual([]);

    // A name that is already a completed run: the engine refuses it, and the form says why.
    await form.getByLabel('Run name').fill('dpo');
    await form.getByLabel('Learning rate').fill('');
    await form.getByRole('button', { name: 'Start training' }).click();
    await expect
      .poll(() => form.locator('.server-error .error-message').textContent(), { timeout: 30_000 })
      .toContain("run 'dpo' already completed");
  });

  it('starts a short DPO run from the form and draws its curves as it trains', async () => {
    const form = page.getByRole('form', { name: 'New training run' });
    await form.getByLabel('Run name').fill('e2e-dpo');
    await form.getByLabel('Stage').selectOption('dpo');
    await form.getByLabel('Init checkpoint').selectOption('base');
    await form.getByLabel('Steps').fill('40');
    await form.getByLabel('Batch size').fill('8');
    await form.getByLabel('β (beta)').fill('0.2');
    await form.getByLabel('Layer').fill('1');
    await form.getByRole('button', { name: 'Start training' }).click();
    await expect.poll(() => form.getByRole('status').textContent()).toBe("Started run 'e2e-dpo'.");

    // The new run is picked; its loss curve grows while the job runs (live from the job's events).
    await expect.poll(() => page.locator('#curves-heading').textContent()).toContain('e2e-dpo');
    const seen = new Set<number>();
    const t0 = Date.now();
    while (Date.now() - t0 < 60_000) {
      const n = await trainPoints('loss');
      if (n > 0) seen.add(n);
      if ((await statusOf('e2e-dpo').catch(() => '')) === 'completed') break;
      if (n > 0 && n < 40 && seen.size === 2) {
        await page.locator('#curves-heading').scrollIntoViewIfNeeded();
        await page.screenshot({ path: join(SCREENSHOTS, 'project-training.png') });
      }
      await page.waitForTimeout(100);
    }
    const partial = [...seen].filter((n) => n < 40);
    expect(partial.length).toBeGreaterThanOrEqual(2);
    // At the end: 40 points, equal in number to what the store holds, eval dashed, and a new checkpoint.
    await expect.poll(() => statusOf('e2e-dpo'), { timeout: 30_000 }).toBe('completed');
    const stored = await api.call('runs.metrics', { runId: 'e2e-dpo' });
    expect(stored['loss'].steps).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    await expect.poll(() => trainPoints('loss')).toBe(40);
    expect(
      await page.locator('[data-panel="loss"] .figure-svg svg path[stroke-dasharray]').count(),
    ).toBeGreaterThan(0);
    await expect
      .poll(() => page.getByRole('grid', { name: 'Checkpoints' }).locator('tr[data-key="e2e-dpo"]').count())
      .toBe(1);
    const run = (await api.call('runs.list', {})).find((r) => r.id === 'e2e-dpo')!;
    expect((run.config as { spec: { objective: { beta: number } } }).spec.objective.beta).toBe(0.2);
  });

  it('cancels a running job and offers to resume it', async () => {
    const form = page.getByRole('form', { name: 'New training run' });
    await form.getByLabel('Run name').fill('e2e-cancel');
    await form.getByLabel('Steps').fill('5000');
    await form.getByRole('button', { name: 'Start training' }).click();
    await expect.poll(() => page.locator('#curves-heading').textContent()).toContain('e2e-cancel');
    await expect.poll(() => trainPoints('loss'), { timeout: 30_000 }).toBeGreaterThan(2);
    // The jobs strip shows the job from every view.
    expect(await page.locator('.jobs-strip .job-label').first().textContent()).toBe('train e2e-cancel');
    await page.locator('.run-status').getByRole('button', { name: 'Cancel train e2e-cancel' }).click();
    await expect.poll(() => statusOf('e2e-cancel'), { timeout: 30_000 }).toBe('cancelled');
    await expect.poll(() => page.locator('.resume-hint').textContent()).toContain('resumes it');
    expect(await page.locator('.resume-hint button').textContent()).toBe('Resume e2e-cancel');
    expect(problems).toEqual([]);
  });
});

describe('training form checks', () => {
  const checkpoints = [{ name: 'base', nLayer: 2 }];
  const form = (over: Partial<TrainFormValues>): TrainFormValues => ({
    ...defaultValues(['base']),
    name: 'r1',
    ...over,
  });

  it('builds requests the schema accepts, with only the fields of the stage', () => {
    const cases: Partial<TrainFormValues>[] = [
      {},
      {
        stage: 'decpo',
        regularizer: 'rowcos',
        lambda: '1e-3',
        layer: '1',
        steps: '5',
        lr: '0.5',
        beta: '100',
      },
      { stage: 'pretrain', init: '', steps: '1000000', batchSize: '4096', backend: 'cpu' },
      { stage: 'l1', lambda: '0', logpAgg: 'mean', lossType: 'ipo' },
      { stage: 'decpo', method: 'lora', loraR: '4', loraAlpha: '8', loraDropout: '0', tap: 'mlp.pre' },
      { stage: 'sft', method: 'lora', loraTargets: 'c_attn, c_fc', microBatch: '4' },
    ];
    for (const c of cases) {
      const v = validateTrainForm(form(c), checkpoints);
      expect(v.errors).toEqual({});
      expect(() => parseInput('train', v.input)).not.toThrow();
    }
    // LoRA's fields are sent only with the LoRA method; its targets as a list.
    expect(
      validateTrainForm(form({ method: 'lora', loraR: '4', loraTargets: ' q_proj ,v_proj,' }), checkpoints)
        .input,
    ).toEqual({
      name: 'r1',
      stage: 'dpo',
      init: 'base',
      task: 'toxicity',
      lossType: 'sigmoid',
      logpAgg: 'sum',
      lora: true,
      loraR: 4,
      loraTargets: ['q_proj', 'v_proj'],
    });
    expect(validateTrainForm(form({ loraR: '4' }), checkpoints).input).not.toHaveProperty('loraR');
    expect(validateTrainForm(form({ stage: 'pretrain', lambda: '3', beta: '7' }), checkpoints).input).toEqual(
      {
        name: 'r1',
        stage: 'pretrain',
      },
    );
  });

  it('refuses what the schema refuses, naming the field', () => {
    const bad: [Partial<TrainFormValues>, keyof TrainFormValues, Record<string, unknown>][] = [
      [{ name: '-x' }, 'name', { name: '-x' }],
      [{ name: 'a'.repeat(65) }, 'name', { name: 'a'.repeat(65) }],
      [{ steps: '0' }, 'steps', { steps: 0 }],
      [{ steps: '2.5' }, 'steps', { steps: 2.5 }],
      [{ batchSize: '4097' }, 'batchSize', { batchSize: 4097 }],
      [{ lr: '0' }, 'lr', { lr: 0 }],
      [{ lr: '1.5' }, 'lr', { lr: 1.5 }],
      [{ beta: '101' }, 'beta', { beta: 101 }],
      [{ stage: 'decpo', lambda: '-1' }, 'lambda', { stage: 'decpo', lambda: -1 }],
      [{ layer: '-1' }, 'layer', { layer: -1 }],
      [{ method: 'lora', loraR: '0' }, 'loraR', { lora: true, loraR: 0 }],
      [{ method: 'lora', loraDropout: '0.95' }, 'loraDropout', { lora: true, loraDropout: 0.95 }],
      [{ method: 'lora', loraAlpha: '-2' }, 'loraAlpha', { lora: true, loraAlpha: -2 }],
      [{ microBatch: '0' }, 'microBatch', { microBatch: 0 }],
    ];
    for (const [values, field, request] of bad) {
      const v = validateTrainForm(form(values), checkpoints);
      expect(Object.keys(v.errors)).toEqual([field]);
      // The server's schema refuses the same value.
      expect(() => parseInput('train', { name: 'r1', stage: 'dpo', ...request })).toThrow();
    }
    // Beyond the schema: what the run itself needs.
    expect(validateTrainForm(form({ layer: '2' }), checkpoints).errors.layer).toBe(
      'A block index from 0 to 1 (base has 2 blocks).',
    );
    expect(validateTrainForm(form({ init: '' }), []).errors.init).toBe(
      'Stage dpo fine-tunes a checkpoint: pick one.',
    );
    expect(validateTrainForm(form({ microBatch: '3' }), checkpoints).errors.microBatch).toBe(
      'Must divide the batch size (16).',
    );
    const gpt2 = [{ name: 'base', nLayer: 2, tapKinds: ['mlp.pre', 'mlp.post'] }];
    expect(validateTrainForm(form({ tap: 'mlp.pre_linear' }), gpt2).errors.tap).toBe(
      'base has no mlp.pre_linear tap; its blocks have mlp.pre, mlp.post.',
    );
    expect(validateTrainForm(form({ lr: 'abc' }), checkpoints).errors.lr).toBe(
      'A number above 0 and at most 1.',
    );
  });
});
