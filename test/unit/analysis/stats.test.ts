/**
 * The study's statistics against closed forms, hand-computed adjustments, and SciPy / numpy on fixed data
 * (test/python/study_stats.py: scipy.stats.t.interval, scipy.stats.ttest_rel's confidence interval, and
 * the sign-flip null enumerated or convolved from its definition). A machine without /usr/bin/python3 and
 * SciPy skips the SciPy part (and says so).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  benjaminiHochberg,
  effectSizeDz,
  holm,
  mean,
  pairedComparison,
  sampleSd,
  signFlipTest,
  SIGN_FLIP_SAMPLES,
  tInterval,
} from '../../../src/core/analysis/stats.js';
import { hasModule, hasScipy, studyStats } from '../study/reference.js';

if (!hasScipy)
  console.warn('stats: /usr/bin/python3 with numpy and scipy not found; skipping the SciPy checks');

/** Student t quantiles in closed form: df 1 (Cauchy), df 2, df 4 (Shaw 2006, "Sampling Student's T"). */
const tQuantile = {
  1: (p: number) => Math.tan(Math.PI * (p - 0.5)),
  2: (p: number) => (2 * p - 1) / Math.sqrt(2 * p * (1 - p)),
  4: (p: number) => {
    const a = 4 * p * (1 - p);
    const q = Math.cos(Math.acos(Math.sqrt(a)) / 3) / Math.sqrt(a);
    return Math.sign(p - 0.5) * 2 * Math.sqrt(q - 1);
  },
};

describe('mean, sd and the t-interval in closed form', () => {
  it('matches mean -/+ t sd / sqrt(n) with the closed-form quantiles of df 1, 2 and 4', () => {
    const cases: [number[], 1 | 2 | 4][] = [
      [[0.3, 0.7], 1],
      [[1, 2, 4], 2],
      [[0.12, -0.03, 0.25, 0.08, 0.19], 4],
    ];
    for (const [x, df] of cases)
      for (const level of [0.95, 0.99, 1 - 0.05 / 3]) {
        const m = x.reduce((s, v) => s + v, 0) / x.length;
        const sd = Math.sqrt(x.reduce((s, v) => s + (v - m) ** 2, 0) / (x.length - 1));
        const half = (tQuantile[df]((1 + level) / 2) * sd) / Math.sqrt(x.length);
        const ci = tInterval(x, level);
        expect(ci.n).toBe(x.length);
        expect(ci.mean).toBeCloseTo(m, 14);
        expect(ci.sd).toBeCloseTo(sd, 14);
        expect(ci.low).toBeCloseTo(m - half, 9);
        expect(ci.high).toBeCloseTo(m + half, 9);
      }
    expect(tQuantile[4](0.975)).toBeCloseTo(2.7764451051977987, 12);
  });

  it('gives NaN (not infinite) for the sd and interval of one value, and NaN for none', () => {
    expect(tInterval([3])).toEqual({ n: 1, mean: 3, sd: NaN, low: NaN, high: NaN });
    expect(Number.isNaN(tInterval([]).mean)).toBe(true);
    expect(sampleSd([1])).toBeNaN();
    expect(mean([2, 4, 9])).toBe(5);
  });

  it('d_z is mean / sd of the differences, infinite for equal nonzero ones', () => {
    expect(effectSizeDz([1, 2, 3])).toBeCloseTo(2, 14);
    expect(effectSizeDz([-0.5, -0.5])).toBe(-Infinity);
    expect(pairedComparison([3, 5, 4], [1, 2, 3]).effectSize).toBeCloseTo(2 / 1, 14);
    expect(() => pairedComparison([1, 2], [1])).toThrow(/2 values against 1/);
  });
});

describe('the sign-flip test in closed form', () => {
  it('has smallest two-sided p 2 / 2^n: 0.25 with 3 seeds, 0.0625 with 5', () => {
    expect(signFlipTest([0.1, 0.2, 0.3])).toEqual({ p: 0.25, method: 'exact', patterns: 8 });
    expect(signFlipTest([-1, -2, -3, -4, -5]).p).toBe(2 / 32);
    expect(signFlipTest([-1, -2, -3, -4, -5]).p).toBe(0.0625);
  });

  it('counts ties up to rounding and gives p = 1 for zero differences', () => {
    // |sum s_i d_i| >= 0.4 for 10 of the 16 patterns: 0.4 (observed, 0.4000000000000001 in float64), 0.6,
    // 0.8, 1, their mirrors, and -0.1 - 0.2 + 0.3 + 0.4 = 0.39999999999999997 and its mirror, which equal
    // the observed sum but for rounding (without the tolerance, p would be 8/16).
    expect(signFlipTest([0.1, 0.2, -0.3, 0.4]).p).toBe(10 / 16);
    expect(signFlipTest([0, 0, 0]).p).toBe(1);
  });

  it('enumerates up to 20 differences and samples above that, seeded, with (1 + hits) / (B + 1)', () => {
    expect(signFlipTest(Array.from({ length: 20 }, () => 1))).toEqual({
      p: 2 / 2 ** 20,
      method: 'exact',
      patterns: 2 ** 20,
    });
    const far = signFlipTest(Array.from({ length: 25 }, () => 1));
    expect(far).toEqual({
      p: 1 / (SIGN_FLIP_SAMPLES + 1),
      method: 'monte-carlo',
      patterns: SIGN_FLIP_SAMPLES,
    });
    const d = Array.from({ length: 24 }, (_, i) => (i % 3) - 0.9);
    expect(signFlipTest(d, { seed: 7 })).toEqual(signFlipTest(d, { seed: 7 }));
    expect(signFlipTest(d, { seed: 7, samples: 1000 }).patterns).toBe(1000);
  });
});

describe('Holm and Benjamini-Hochberg by hand', () => {
  // Sorted: 0.005, 0.01, 0.03, 0.04 (m = 4).
  // Holm: 4(0.005) = 0.02, 3(0.01) = 0.03, 2(0.03) = 0.06, max(0.06, 1(0.04)) = 0.06.
  // BH: 4(0.005)/1 = 0.02, 4(0.01)/2 = 0.02, 4(0.03)/3 = 0.04, 4(0.04)/4 = 0.04; running minima from the top.
  const p = [0.01, 0.04, 0.03, 0.005];

  it('Holm steps down, stays monotone and caps at 1', () => {
    const adj = holm(p);
    [0.03, 0.06, 0.06, 0.02].forEach((v, i) => expect(adj[i]).toBeCloseTo(v, 15));
    expect(holm([0.5, 0.6, 0.9])).toEqual([1, 1, 1]);
    expect(holm([0.01, 0.01])).toEqual([0.02, 0.02]);
    expect(holm([])).toEqual([]);
  });

  it('BH steps up, stays monotone and caps at 1', () => {
    const adj = benjaminiHochberg(p);
    [0.02, 0.04, 0.04, 0.02].forEach((v, i) => expect(adj[i]).toBeCloseTo(v, 15));
    // 0.5(3)/1 = 1.5, 0.6(3)/2 = 0.9, 0.9(3)/3 = 0.9: the minimum from the top is 0.9 for all three.
    benjaminiHochberg([0.5, 0.6, 0.9]).forEach((v) => expect(v).toBeCloseTo(0.9, 15));
    expect(benjaminiHochberg([0.9, 0.95])).toEqual([0.95, 0.95]);
  });

  it('leaves NaN p-values NaN and out of m', () => {
    expect(holm([0.02, NaN, 0.04])).toEqual([0.04, NaN, 0.04]);
    expect(benjaminiHochberg([0.02, NaN, 0.04])).toEqual([0.04, NaN, 0.04]);
  });
});

describe.skipIf(!hasScipy)('against SciPy and numpy on fixed data', () => {
  const dir = mkdtempSync(join(tmpdir(), 'monoscope-stats-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const levels = [0.95, 0.9, 0.99, 1 - 0.05 / 6];
  const samples = [
    [0.41, 0.38, 0.45],
    [0.12, -0.03, 0.25, 0.08, 0.19],
    [3.2, 1.1, -0.4, 2.2, 5.9, 0.3, 1.7, 2.8, -1.2, 0.9, 4.4],
    [7],
  ];
  const pairs = [
    { a: [0.31, 0.28, 0.35], b: [0.41, 0.38, 0.45] },
    { a: [0.3, 0.22, 0.41, 0.27, 0.33], b: [0.4, 0.3, 0.39, 0.35, 0.45] },
    { a: [1.5, 0.2, 0.9, -0.3, 1.1, 0.8, 0.4], b: [0.7, 0.6, 0.1, -0.2, 0.4, 0.9, -0.1] },
    {
      a: [2.1, 0.3, -1.4, 0.8, 1.9, -0.6, 0.05, 1.2, 0.7, -0.2, 1.6, 0.9, 0.4],
      b: [1.0, 0.5, -1.1, 0.1, 1.2, -0.2, 0.3, 0.2, 0.9, -0.5, 0.6, 0.1, 0.3],
    },
  ];
  // Integer differences: the exact null by convolution, for n beyond enumeration too (22 and 30).
  const integers = [
    [3, -1, 4, 1, -5, 9, 2, 6, -5, 3, 5, 8],
    Array.from({ length: 20 }, (_, i) => ((i * 7) % 11) - 4),
    Array.from({ length: 22 }, (_, i) => ((i * 5) % 9) - 3),
    Array.from({ length: 30 }, (_, i) => ((i * 13) % 17) - 7),
  ];
  const file = join(dir, 'in.json');
  const quantiles = [
    [0.975, 1],
    [0.975, 2],
    [0.975, 4],
    [0.995, 2],
    [1 - 0.025 / 6, 4],
    [0.95, 12],
    [0.6, 30],
  ];
  const hasMpmath = hasScipy && hasModule('mpmath');
  writeFileSync(
    file,
    JSON.stringify({ samples, levels, pairs, integers, quantiles: hasMpmath ? quantiles : [] }),
  );
  type Ref = {
    samples: { mean: number; sd: number | null; ci: Record<string, [number | null, number | null]> }[];
    pairs: { diff: number; ci: Record<string, [number, number]>; p: number; dz: number }[];
    integers: number[];
    quantiles: number[];
  };
  const ref = studyStats<Ref>('stats', file);
  const nan = (v: number | null) => (v === null ? NaN : v);
  // SciPy 1.10's t.ppf is accurate to about 1e-9 (relative) only: at p = 0.975, df 1 it gives
  // 12.706204736432 where tan(0.475 pi) = 12.706204736175. So the bounds are compared to 1e-8 of the
  // interval's width (plus 1e-12 of the value), and the quantiles to 1e-13 against mpmath (30 digits).
  const expectBound = (got: number, want: number, width: number) =>
    expect(Math.abs(got - want)).toBeLessThan(1e-8 * width + 1e-12 * Math.abs(want));

  it('the t-interval of a mean equals scipy.stats.t.interval at every level', () => {
    samples.forEach((x, i) => {
      for (const level of levels) {
        const ci = tInterval(x, level);
        const [low, high] = ref.samples[i].ci[String(level)].map(nan);
        expect(ci.mean).toBeCloseTo(ref.samples[i].mean, 13);
        if (x.length < 2) {
          expect([ci.low, ci.high, low, high].every(Number.isNaN)).toBe(true);
          continue;
        }
        expect(ci.sd).toBeCloseTo(nan(ref.samples[i].sd), 13);
        expectBound(ci.low, low, high - low);
        expectBound(ci.high, high, high - low);
      }
    });
  });

  it.skipIf(!hasMpmath)('the t quantile equals a 30-digit mpmath root of the incomplete beta tail', () => {
    quantiles.forEach(([p, df], i) => {
      // The half-width of [-1, 1, ..., -1, 1] scaled to sd / sqrt(n) = 1 is the quantile itself.
      const x = Array.from({ length: df + 1 }, (_, k) => (k % 2 ? 1 : -1));
      const ci = tInterval(x, 2 * p - 1);
      const quantile = (ci.high - ci.mean) / (ci.sd / Math.sqrt(df + 1));
      expect(Math.abs(quantile - ref.quantiles[i])).toBeLessThan(1e-13 * ref.quantiles[i]);
    });
  });

  it("paired comparisons equal ttest_rel's interval, the enumerated sign-flip p and numpy's d_z", () => {
    pairs.forEach(({ a, b }, i) => {
      for (const level of levels) {
        const cmp = pairedComparison(a, b, level);
        const [low, high] = ref.pairs[i].ci[String(level)];
        expect(cmp.diff).toBeCloseTo(ref.pairs[i].diff, 13);
        expectBound(cmp.ciLow, low, high - low);
        expectBound(cmp.ciHigh, high, high - low);
        expect(cmp.p).toBe(ref.pairs[i].p);
        expect(cmp.effectSize).toBeCloseTo(ref.pairs[i].dz, 12);
        expect(cmp.test.method).toBe('exact');
      }
    });
    expect(ref.pairs[1].p).toBe(0.125);
  });

  it('the sign-flip p equals the convolved exact null: exactly up to 20, within 4 standard errors above', () => {
    integers.forEach((d, i) => {
      const exact = ref.integers[i];
      const got = signFlipTest(d);
      if (d.length <= 20) expect(got.p).toBe(exact);
      else {
        const se = Math.sqrt((exact * (1 - exact)) / got.patterns);
        expect(got.method).toBe('monte-carlo');
        expect(Math.abs(got.p - exact)).toBeLessThan(4 * se + 1 / got.patterns);
      }
    });
    expect(ref.integers.slice(2).every((p) => p > 0.1 && p < 0.9)).toBe(true);
  });
});
