// The one histogram binner (core/analysis/histogram.ts), against hand-computed bins, and the neuron page's
// logit-effect histogram, which once sent a NaN effect to a 'NaN' bin.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { histogramOf } from '../../../src/core/analysis/histogram.js';
import { loadCheckpoint } from '../../../src/core/model/checkpoint.js';
import { logitEffects } from '../../../src/core/ops/neurons.js';
import { Rng } from '../../../src/core/model/rng.js';
import { makeCheckpoint } from '../record/fixtures.js';
import { nullSpec, unbinned } from '../../../src/shared/specs/viewFigures.js';

const root = mkdtempSync(join(tmpdir(), 'monoscope-histogram-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('histogramOf', () => {
  it('bins values into equal bins over [min, max], the max in the last bin (by hand)', () => {
    // 8 bins over [1, 4]: width 0.375 -> 1 in bin 0, 2 in bin 2 (2 = 1 + 2.67 widths), 3 in bin 5, 4 in bin 7.
    expect(histogramOf(Float32Array.from([1, 2, 3, 4]), 8)).toEqual({
      lo: 1,
      hi: 4,
      counts: [1, 0, 1, 0, 0, 1, 0, 1],
      nan: 0,
      posInf: 0,
      negInf: 0,
    });
    // Equal values all go to bin 0.
    expect(histogramOf([2, 2], 3)).toEqual({ lo: 2, hi: 2, counts: [2, 0, 0], nan: 0, posInf: 0, negInf: 0 });
  });

  it('counts NaN, +Infinity and -Infinity apart, never in a bin, and bins the finite values by hand', () => {
    // Finite values 0, 1, 1, 2, 4 over [0, 4] in 4 bins of width 1: [0,1) 1, [1,2) 2, [2,3) 1, [3,4] 1.
    const h = histogramOf([NaN, 0, Infinity, 1, 1, -Infinity, 2, NaN, 4, Infinity], 4);
    expect(h).toEqual({ lo: 0, hi: 4, counts: [1, 2, 1, 1], nan: 2, posInf: 2, negInf: 1 });
    expect(Object.keys(h.counts)).toEqual(['0', '1', '2', '3']);
  });

  it('has empty bins over [0, 0] when no value is finite', () => {
    expect(histogramOf([NaN, Infinity], 2)).toEqual({
      lo: 0,
      hi: 0,
      counts: [0, 0],
      nan: 1,
      posInf: 1,
      negInf: 0,
    });
    expect(histogramOf([], 2)).toEqual({ lo: 0, hi: 0, counts: [0, 0], nan: 0, posInf: 0, negInf: 0 });
  });

  it('matches the definition on random data', () => {
    const rng = new Rng(3);
    const v = Array.from({ length: 300 }, () => rng.normal());
    const lo = Math.min(...v);
    const hi = Math.max(...v);
    const counts = new Array(8).fill(0);
    for (const x of v) counts[Math.min(7, Math.floor(((x - lo) / (hi - lo)) * 8))]++;
    expect(histogramOf(v, 8)).toEqual({ lo, hi, counts, nan: 0, posInf: 0, negInf: 0 });
  });
});

describe('the logit-effect histogram of a neuron page', () => {
  it('counts a NaN effect apart instead of in a NaN bin', () => {
    const dir = join(root, 'ck');
    const { cfg } = makeCheckpoint(dir, { seed: 4 });
    const ck = loadCheckpoint(dir);
    ck.arrays.get('wte.weight')!.data[5 * cfg.nEmbd] = NaN; // token 5's effect is NaN for every neuron
    const h = logitEffects(ck, 'blocks.0.mlp.post', 0).histogram;
    expect(Object.keys(h.counts)).toHaveLength(40);
    expect(h.nan).toBe(1);
    expect(h.counts.reduce((a, b) => a + b, 0)).toBe(cfg.vocabSize - 1);
  });
});

describe('figures from the core bins', () => {
  it('a permutation null figure draws the core bins and counts every null value in its caption', () => {
    const h = histogramOf([0, 1, 1, 3, NaN], 3);
    const spec = nullSpec(
      {
        score: 0.5,
        pValue: 1 / 6,
        pFormula: '(1 + #{null >= observed}) / (1 + N)',
        label: 'SVCCA',
        shuffles: 5,
        n: 9,
      },
      h,
      'SVCCA',
      {},
    );
    expect(spec.kind).toBe('nullHistogram');
    if (spec.kind !== 'nullHistogram') return;
    // 3 bins over [0, 3] of width 1: 0 | 1, 1 | 3 (the last bin holds the maximum); NaN apart.
    expect(spec.data.null.counts).toEqual([1, 2, 1]);
    expect(spec.data.null.edges).toEqual([0, 1, 2, 3]);
    expect((spec.options?.caption as Record<string, unknown>)['null N']).toBe(5);
    expect(unbinned(h)).toBe(1);
  });
});
