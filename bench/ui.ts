// `npm run bench:ui`: the app's speed in headless Chromium over `monoscope serve`, on a project of
// 4 checkpoints × 4 taps × 2,048 neurons (made once under test-output/bench-ui-project), and at real widths
// on a random-weight GPT of 12 blocks × 3,072 neurons and a one-block GPT of 8,192 neurons
// (test-output/bench-ui-real-width, see test/e2e/real-width-project.ts). One section per measure, each a
// function in bench/ui/: the Project view's first paint (firstPaint.ts), the heatmap's frame time
// (heatmap.ts), the time to open a neuron page (neuronPage.ts), and the table of every layer
// (neuronTable.ts). Prints one JSON object.
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { REPO, buildRenderer, launchChromium, serveCompiled } from '../test/e2e/harness.js';
import { realWidthProject, type RealWidthShape } from '../test/e2e/real-width-project.js';
import { openProject } from '../src/core/store/project.js';
import { gptConfig, initParamArrays } from '../src/core/model/arch/gpt2.js';
import { saveCheckpoint } from '../src/core/model/checkpoint.js';
import { worldTokenizer } from '../src/core/data/world.js';
import { recordOp } from '../src/core/ops/record.js';
import { parseInput } from '../src/core/api.js';
import { silentReporter } from '../src/core/ops/progress.js';
import { Rng } from '../src/core/model/rng.js';
import { correlationOp } from '../src/core/ops/correlation.js';
import { firstPaintMs } from './ui/firstPaint.js';
import { heatmapFrameMs } from './ui/heatmap.js';
import { neuronPageMs } from './ui/neuronPage.js';
import { allLayersTableMs } from './ui/neuronTable.js';

const PROJECT = join(REPO, 'test-output', 'bench-ui-project');
const SHAPE = { checkpoints: 4, taps: 4, neurons: 2048 };
/** The checkpoint and tap the heatmap and neuron-page sections open. */
const TARGET = { checkpoint: 'dpo', tap: 'blocks.1.mlp.post' };
/**
 * The real-width project: GPT-2 small's and Pythia-160m's MLP width in 12 blocks, and one tap of 8,192
 * neurons (Llama-3.2-1B's width), d_model 128, recorded over 2,000 probe tokens (not 20,000: the 8,192²
 * correlation matrix over 20,000 tokens alone would take minutes on 2 cores).
 */
const REAL: RealWidthShape = { layers: 12, neurons: 3072, wide: 8192, tokens: 2000 };
const REAL_PROJECT = join(REPO, 'test-output', 'bench-ui-real-width');

/**
 * Synthetic training metrics of a preference run (TRL names, 1,000 steps, eval every 50): smooth curves
 * with seeded noise, so the Project view draws runs of a realistic length. Marked synthetic in the run's
 * config: this project is a benchmark fixture, its runs were not trained.
 */
function syntheticMetrics(step: number, rng: Rng, decpo: boolean): Record<string, number> {
  const t = step / 1000;
  const margin = 2.5 * (1 - Math.exp(-4 * t)) + 0.05 * rng.normal();
  const chosen = -0.4 * t + 0.03 * rng.normal();
  const m: Record<string, number> = {
    loss: Math.log1p(Math.exp(-margin)),
    'rewards/chosen': chosen,
    'rewards/rejected': chosen - margin,
    'rewards/margins': margin,
    'rewards/accuracies': Math.min(1, 0.5 + 0.45 * (1 - Math.exp(-5 * t)) + 0.03 * rng.normal()),
    'logps/chosen': -40 - 4 * t + rng.normal(),
    'logps/rejected': -38 - 25 * t + rng.normal(),
    grad_norm: 8 * Math.exp(-2 * t) + 0.5 * Math.abs(rng.normal()),
    learning_rate: 1e-4,
    epoch: (step * 16) / 2000,
    'decorr/mean_abs_corr': (decpo ? 0.3 - 0.1 * t : 0.3 + 0.02 * t) + 0.005 * rng.normal(),
  };
  if (decpo) m['decorr/penalty'] = 9000 * Math.exp(-2 * t) + 50 * rng.normal();
  return m;
}

/**
 * The bench project: a random-weight GPT (4 blocks, d_model 128, d_mlp 2,048, the built-in world's
 * vocabulary) as `base`, three small perturbations of it as `dpo`, `decpo` and `simpo`, every
 * `blocks.*.mlp.post` tap recorded over the built-in probe set (20,000 tokens), and one synthetic run per
 * fine-tuned checkpoint. Made once; a half-made project (no `.bench-complete`) is made again.
 */
async function benchProject(): Promise<string> {
  const done = join(PROJECT, '.bench-complete');
  if (existsSync(done)) return PROJECT;
  rmSync(PROJECT, { recursive: true, force: true });
  const project = openProject(PROJECT, { create: true });
  try {
    const tokenizer = worldTokenizer();
    const config = gptConfig({
      vocabSize: tokenizer.vocabSize,
      nLayer: SHAPE.taps,
      nEmbd: 128,
      nHead: 4,
      nInner: SHAPE.neurons,
      nCtx: 64,
      bosTokenId: tokenizer.eosId,
      eosTokenId: tokenizer.eosId,
    });
    const base = initParamArrays(config, 1);
    const stages = [
      ['base', 'base'],
      ['dpo', 'dpo'],
      ['decpo', 'decpo'],
      ['simpo', 'simpo'],
    ] as const;
    for (const [k, [name, stage]] of stages.entries()) {
      const rng = new Rng(100 + k);
      const arrays = new Map(
        [...base].map(([n, a]) => [
          n,
          { ...a, data: k === 0 ? a.data : Float32Array.from(a.data, (v) => v + 0.002 * rng.normal()) },
        ]),
      );
      saveCheckpoint(project.checkpointDir(name), config, arrays, tokenizer, {
        stage,
        ...(k > 0 && { parent: 'base', runId: name }),
      });
      process.stderr.write(`bench:ui: recording ${name} (${SHAPE.taps} taps × ${SHAPE.neurons} neurons)\n`);
      await recordOp(
        project,
        parseInput('record', { checkpoint: name, probe: 'builtin', taps: 'blocks.*.mlp.post' }),
        silentReporter,
      );
      if (k === 0) continue;
      project.store.runs.create({
        id: name,
        stage,
        task: 'toxicity',
        config: {
          synthetic: true,
          note: 'bench fixture: metrics generated, not trained',
          spec: { steps: 1000 },
        },
        backend: { backend: 'none' },
        seed: k,
        parentCheckpoint: 'base',
      });
      for (let step = 1; step <= 1000; step++) {
        const m = syntheticMetrics(step, rng, stage === 'decpo');
        project.store.runs.appendMetrics(name, step, m);
        if (step % 50 === 0) {
          const e = syntheticMetrics(step, rng, stage === 'decpo');
          project.store.runs.appendMetrics(name, step, {
            eval_loss: e.loss,
            'eval_rewards/margins': e['rewards/margins'],
            'eval_rewards/accuracies': e['rewards/accuracies'],
            'eval_rewards/chosen': e['rewards/chosen'],
            'eval_rewards/rejected': e['rewards/rejected'],
          });
        }
      }
      project.store.runs.setStatus(name, 'completed');
    }
    writeFileSync(done, new Date().toISOString());
  } finally {
    project.close();
  }
  return PROJECT;
}

/**
 * The real-width project, with the wide tap's correlation matrix computed (and stored) ahead, as a
 * researcher's first Heatmap visit would: the bench times the views, not that computation.
 */
async function realProject(): Promise<string> {
  await realWidthProject(REAL_PROJECT, REAL);
  const project = openProject(REAL_PROJECT);
  try {
    const rec = project.store.activations.list({ checkpoint: 'wide' })[0];
    await correlationOp(project, { checkpoint: 'wide', tap: rec.tap, probe: rec.probeHash }, silentReporter);
  } finally {
    project.close();
  }
  return REAL_PROJECT;
}

/** The real-width measures over a server of the real-width project. */
async function realWidth(browser: Browser, rendererDir: string) {
  const t = Date.now();
  const dir = await realProject();
  const setupSeconds = Math.round((Date.now() - t) / 100) / 10;
  const server = await serveCompiled(dir, rendererDir);
  try {
    const baseUrl = server.url;
    const table = await allLayersTableMs({
      baseUrl,
      browser,
      checkpoint: 'model',
      pattern: 'blocks.*.mlp.post',
    });
    const page = await neuronPageMs({ baseUrl, browser, checkpoint: 'model', tap: 'blocks.5.mlp.post' });
    const heatmap = await heatmapFrameMs({ baseUrl, browser, checkpoint: 'wide', tap: 'blocks.0.mlp.post' });
    return {
      project: { ...REAL, dModel: 128, note: 'random weights; probe: the built-in world text, 2,000 tokens' },
      projectSetupSeconds: setupSeconds,
      allLayersTable: table,
      neuronPageMs: page,
      heatmap8192: heatmap,
    };
  } finally {
    await server.close();
  }
}

const t0 = Date.now();
const projectDir = await benchProject();
const madeSeconds = (Date.now() - t0) / 1000;
// A renderer of its own, built for production: test runs rebuild dist-renderer/ at any time. The compiled
// server, as `monoscope serve` runs it (`npm run build:node` first).
const rendererDir = await buildRenderer(join(REPO, 'test-output', 'bench-ui-renderer'));
const server = await serveCompiled(projectDir, rendererDir);
const browser = await launchChromium();
try {
  const paint = await firstPaintMs({ baseUrl: server.url, browser, checkpoints: SHAPE.checkpoints });
  const args = { baseUrl: server.url, browser, ...TARGET };
  const heatmap = await heatmapFrameMs(args);
  const pageMs = await neuronPageMs(args);
  const real = await realWidth(browser, rendererDir);
  console.log(
    JSON.stringify({
      bench: 'ui',
      project: SHAPE,
      projectSetupSeconds: Math.round(madeSeconds * 10) / 10,
      firstPaintMs: paint.medianMs,
      firstPaintSamplesMs: paint.samplesMs,
      heatmapFrameMs: heatmap.medianMs,
      heatmapFrameP95Ms: heatmap.p95Ms,
      neuronPageMs: pageMs,
      realWidth: real,
    }),
  );
} finally {
  await browser.close();
  await server.close();
}
