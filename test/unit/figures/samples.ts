// Sample figure specs for the tests and the gallery (test/unit/figures/gallery.ts): synthetic, seeded data
// shaped like what the analyses produce.
import { Rng } from '../../../src/core/model/rng.js';
import { histogramOf } from '../../../src/core/analysis/histogram.js';
import { histogramBins } from '../../../src/shared/specs/viewFigures.js';
import type { FigureSpec } from '../../../src/shared/figures/types.js';

/** A correlation-like symmetric n × n matrix: blocks of correlated neurons plus noise, 1 on the diagonal. */
export function blockCorrelation(n: number, blocks: number, seed = 1): Float32Array {
  const rng = new Rng(seed);
  const group = Array.from({ length: n }, (_, i) => Math.floor((i * blocks) / n));
  const m = new Float32Array(n * n);
  for (let i = 0; i < n; i++) {
    m[i * n + i] = 1;
    for (let j = i + 1; j < n; j++) {
      const base = group[i] === group[j] ? 0.55 : group[i] === group[j] - 1 ? -0.35 : 0;
      const v = Math.max(-1, Math.min(1, base + 0.15 * rng.normal()));
      m[i * n + j] = v;
      m[j * n + i] = v;
    }
  }
  return m;
}

/** Every kind of figure once, on seeded synthetic data. */
export function sampleSpecs(): Record<string, FigureSpec> {
  const rng = new Rng(7);
  const steps = Array.from({ length: 300 }, (_, i) => i * 5);
  const margins = (slope: number) => steps.map((s) => slope * Math.log1p(s / 60) + 0.25 * rng.normal());
  const evalSteps = steps.filter((s) => s % 150 === 0);
  const evalMargins = (slope: number) => evalSteps.map((s) => slope * Math.log1p(s / 60) * 0.92);

  const activations = Array.from({ length: 20000 }, () => {
    const z = rng.normal();
    return z > 0.4 ? Math.exp(0.9 * rng.normal()) * (z - 0.4) : 0.02 * rng.normal();
  });
  const sorted = activations.slice().sort((a, b) => a - b);
  const q = (p: number) => sorted[Math.floor(p * (sorted.length - 1))];
  const bins = histogramBins(
    histogramOf(
      activations.filter((v) => v >= q(0.5)),
      50,
    ),
  );

  const nullStats = Array.from({ length: 1000 }, () => 0.05 + 0.02 * rng.normal());
  const n = 64;
  const pairs = Array.from({ length: 400 }, () => {
    const a = Math.tanh(1.1 * rng.normal());
    return [a, Math.max(-1, Math.min(1, 0.8 * a + 0.25 * rng.normal()))];
  });

  return {
    line: {
      kind: 'line',
      data: {
        series: [
          { name: 'DPO', stage: 'dpo', x: steps, y: margins(1.1) },
          { name: 'DecPO (barlow)', stage: 'decpo', x: steps, y: margins(0.9) },
          { name: 'DPO eval', stage: 'dpo', group: 'DPO', kind: 'eval', x: evalSteps, y: evalMargins(1.1) },
          {
            name: 'DecPO eval',
            stage: 'decpo',
            group: 'DecPO (barlow)',
            kind: 'eval',
            x: evalSteps,
            y: evalMargins(0.9),
          },
        ],
      },
      options: {
        title: 'Reward margins during preference training',
        xLabel: 'step',
        yLabel: 'rewards/margins',
        smoothing: 0.9,
        caption: { runs: 'dpo-7f3a, decpo-91bc', beta: 0.1, regularizer: 'barlow', λ: 0.05, seed: 3 },
      },
    },
    lineLog: {
      kind: 'line',
      data: { series: [{ name: 'loss', x: steps, y: steps.map((s) => 0.7 * Math.exp(-s / 300) + 0.002) }] },
      options: { title: 'DPO loss', xLabel: 'step', yLabel: 'loss', logY: true, legend: 'none' },
    },
    groupedBar: {
      kind: 'groupedBar',
      data: {
        groups: ['L0', 'L1', 'L2', 'L3', 'L4', 'L5'],
        series: [
          {
            name: 'base',
            stage: 'base',
            values: [0.12, 0.18, 0.22, 0.25, 0.21, 0.15],
            errors: [0.01, 0.015, 0.02, 0.02, 0.018, 0.012],
          },
          {
            name: 'DPO',
            stage: 'dpo',
            values: [0.11, 0.15, 0.17, 0.18, 0.16, 0.12],
            errors: [0.01, 0.012, 0.02, 0.015, 0.02, 0.01],
          },
          {
            name: 'DecPO',
            stage: 'decpo',
            values: [0.13, 0.21, 0.27, 0.31, 0.26, 0.18],
            errors: [0.012, 0.016, 0.022, 0.025, 0.02, 0.014],
          },
        ],
      },
      options: {
        title: 'Monosemantic share per layer',
        xLabel: 'layer (blocks.{i}.mlp.post)',
        yLabel: 'monosemantic neurons',
        percent: true,
        caption:
          'Share of neurons with concept selectivity ≥ 0.8 on the built-in probe set · error bars: 95% bootstrap CI (1,000 resamples)',
      },
    },
    histogram: {
      kind: 'histogram',
      data: {
        ...bins,
        bands: [
          { from: q(0.5), to: q(0.9), label: '50–90%' },
          { from: q(0.9), to: q(0.99), label: '90–99%' },
          { from: q(0.99), to: q(0.999), label: '99–99.9%' },
          { from: q(0.999), to: q(1), label: 'top 0.1%' },
        ],
      },
      options: {
        title: 'blocks.3.mlp.post #127 — activations',
        subtitle: 'density 12.4% · upper half of the distribution, coloured by quantile band',
        xLabel: 'activation',
        yMode: 'log10-density',
      },
    },
    nullHistogram: {
      kind: 'nullHistogram',
      data: {
        null: histogramBins(histogramOf(nullStats, 40)),
        observed: 0.142,
        pValue: 1 / 1001,
        statistic: 'mean |r|',
      },
      options: {
        title: 'Cross-run similarity against a permutation null',
        caption: {
          'null N': 1000,
          'p-value': '(1 + #{null ≥ observed}) / (N + 1)',
          svcca: 'mode=mean, k=20',
        },
      },
    },
    heatmap: {
      kind: 'heatmap',
      data: { rows: n, cols: n, values: blockCorrelation(n, 4) },
      options: {
        title: 'Neuron correlations, blocks.2.mlp.post',
        xLabel: 'neuron',
        yLabel: 'neuron',
        domain: [-1, 1],
        colourbarLabel: 'Pearson r',
        caption: { run: 'decpo-91bc', checkpoint: 'step 1500', probe: 'builtin (a41f)' },
      },
    },
    scatter: {
      kind: 'scatter',
      data: {
        series: [{ name: 'matched neurons', x: pairs.map((p) => p[0]), y: pairs.map((p) => p[1]) }],
        thresholds: {
          x: [{ value: 0.5, label: 'r = 0.5' }],
          y: [{ value: 0.5, label: 'r = 0.5' }],
          diagonal: true,
        },
      },
      options: {
        title: 'Matched neurons: concept correlation before and after DecPO',
        xLabel: 'r (base)',
        yLabel: 'r (DecPO)',
        xDomain: [-1, 1],
        yDomain: [-1, 1],
      },
    },
    smallMultiples: {
      kind: 'smallMultiples',
      data: {
        panels: ['base', 'DPO', 'DecPO'].map((stage, i) => ({
          kind: 'heatmap' as const,
          data: { rows: 32, cols: 32, values: blockCorrelation(32, 2 + 2 * i, 11 + i) },
          options: { title: stage, domain: [-1, 1] as [number, number], colourbarLabel: 'r' },
        })),
      },
      options: {
        title: 'Neuron correlations per checkpoint, blocks.2.mlp.post',
        width: 960,
        height: 360,
        caption: { runs: 'base-0000, dpo-7f3a, decpo-91bc', probe: 'builtin (a41f)' },
      },
    },
    tokenContexts: {
      kind: 'tokenContexts',
      data: {
        contexts: [
          {
            tokens: ['The', ' sky', ' was', ' a', ' deep', ' blue', ' and', ' the', ' grass', ' green', '.'],
            values: [0, 0.1, 0, 0, 0.4, 3.2, 0.1, 0, 0.3, 2.1, 0],
          },
          {
            tokens: [' she', ' painted', ' the', ' door', ' red', ',', ' then', '\n', 'yellow'],
            values: [0, 0.6, 0, 0.2, 2.9, 0.1, 0, 0, 2.4],
          },
          {
            tokens: [' a', ' bright', ' orange', ' sunset', ' over', ' the', ' bay'],
            values: [0, 0.9, 2.7, 0.8, 0, 0, -0.4],
          },
          { tokens: [' colour', ' of', ' the', ' car', ':', ' silver'], values: [1.2, 0, 0, 0, 0.1, 2.2] },
        ],
      },
      options: {
        title: 'blocks.3.mlp.post #127 — top-activating contexts',
        caption: { probe: 'builtin', excluded: 'BOS, PAD' },
      },
    },
  };
}
