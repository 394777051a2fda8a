/**
 * The study's statistics over seeds, as pure float64 functions: mean and sample standard deviation, the
 * Student-t confidence interval of a mean, paired differences, the sign-flip (paired permutation) test of a
 * mean difference, the effect size d_z, and Holm's and Benjamini-Hochberg's adjustments of p-values.
 *
 * Small samples: with n seeds the sign-flip test has 2^n equally likely sign patterns, so its smallest
 * two-sided p is 2 / 2^n (the observed pattern and its mirror): 0.25 with 3 seeds, 0.0625 with 5 seeds.
 * With 5 seeds or fewer no difference reaches p < 0.05 by this test, however large; the t-interval, which
 * assumes normal differences, can still exclude zero.
 */
import { mean, sampleSd, tInterval } from '../../shared/stats.js';
import { Rng } from '../model/rng.js';

// The mean, the sample sd and the t-interval live in src/shared, where the study's figures use them too.
export { mean, sampleSd, tInterval, type MeanInterval } from '../../shared/stats.js';

/** Paired differences a_i - b_i of two equally long samples (the same seeds in the same order). */
export function pairedDifferences(a: readonly number[], b: readonly number[]): number[] {
  if (a.length !== b.length) throw new Error(`pairedDifferences: ${a.length} values against ${b.length}`);
  return a.map((v, i) => v - b[i]);
}

/** Sign patterns the exact sign-flip test enumerates at most (2^20 = 1,048,576). */
export const SIGN_FLIP_EXACT_MAX_N = 20;
/** Random sign patterns the Monte Carlo sign-flip test draws above that. */
export const SIGN_FLIP_SAMPLES = 100_000;

/** The result of {@link signFlipTest}. */
export interface SignFlipResult {
  /** The two-sided p-value. */
  p: number;
  /** `exact`: all 2^n patterns; `monte-carlo`: `patterns` random ones (seeded). */
  method: 'exact' | 'monte-carlo';
  patterns: number;
}

/**
 * The sign-flip (paired permutation) test of H0: the differences are symmetric about zero, with the
 * statistic |sum d_i| (equivalently |mean d|). Under H0 every sign pattern s in {-1, +1}^n is equally
 * likely, so p = #{s : |sum s_i d_i| >= |sum d_i|} / 2^n, counting the observed pattern (Fisher 1935,
 * The Design of Experiments, on Darwin's paired Zea mays data). For n <= 20 every pattern is enumerated; above that `samples`
 * random patterns are drawn from a seeded generator and p = (1 + hits) / (samples + 1) (Phipson & Smyth
 * 2010). Ties are counted with a relative tolerance of 100 ulps, as scipy.stats.permutation_test does, so
 * that rounding in the sums does not decide them. All-zero differences give p = 1.
 */
export function signFlipTest(
  d: readonly number[],
  options: { samples?: number; seed?: number } = {},
): SignFlipResult {
  const n = d.length;
  if (n === 0) throw new Error('signFlipTest: no differences');
  let observed = 0;
  for (const v of d) observed += v;
  observed = Math.abs(observed);
  if (!Number.isFinite(observed)) throw new Error('signFlipTest: the differences must be finite');
  const threshold = observed - 100 * Number.EPSILON * observed;
  if (n <= SIGN_FLIP_EXACT_MAX_N) {
    const total = 2 ** n;
    let hits = 0;
    for (let pattern = 0; pattern < total; pattern++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += pattern & (1 << i) ? -d[i] : d[i];
      if (Math.abs(s) >= threshold) hits++;
    }
    return { p: hits / total, method: 'exact', patterns: total };
  }
  const samples = options.samples ?? SIGN_FLIP_SAMPLES;
  const rng = new Rng(options.seed ?? 0);
  let hits = 0;
  for (let k = 0; k < samples; k++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += rng.next() < 0.5 ? -d[i] : d[i];
    if (Math.abs(s) >= threshold) hits++;
  }
  return { p: (1 + hits) / (samples + 1), method: 'monte-carlo', patterns: samples };
}

/**
 * Cohen's d_z of paired differences: mean(d) / sd(d), sd with n - 1 (Cohen 1988, sec. 2.3; Lakens 2013,
 * Front. Psychol. 4:863). NaN for fewer than 2 differences or all-equal zero differences; +/-Infinity for equal nonzero
 * ones.
 */
export function effectSizeDz(d: readonly number[]): number {
  return mean(d) / sampleSd(d);
}

/** A paired comparison a - b over the same seeds: the differences' mean, its t-interval, the test, d_z. */
export interface PairedComparison {
  n: number;
  diff: number;
  sd: number;
  ciLow: number;
  ciHigh: number;
  p: number;
  test: SignFlipResult;
  effectSize: number;
}

/** {@link tInterval}, {@link signFlipTest} and {@link effectSizeDz} of the differences a_i - b_i. */
export function pairedComparison(a: readonly number[], b: readonly number[], level = 0.95): PairedComparison {
  const d = pairedDifferences(a, b);
  const ci = tInterval(d, level);
  const test = signFlipTest(d);
  return {
    n: ci.n,
    diff: ci.mean,
    sd: ci.sd,
    ciLow: ci.low,
    ciHigh: ci.high,
    p: test.p,
    test,
    effectSize: effectSizeDz(d),
  };
}

/** Indices of the finite p-values, smallest p first (ties in input order). */
function ascending(p: readonly number[]): number[] {
  return p
    .map((_, i) => i)
    .filter((i) => !Number.isNaN(p[i]))
    .sort((i, j) => p[i] - p[j] || i - j);
}

/**
 * Holm's step-down adjusted p-values (Holm 1979): with p_(1) <= ... <= p_(m),
 * adj_(i) = max_{j <= i} min(1, (m - j + 1) p_(j)), returned in the input order. Rejecting adj <= alpha
 * controls the family-wise error rate at alpha. NaN p-values stay NaN and do not count in m (as R's
 * p.adjust).
 */
export function holm(p: readonly number[]): number[] {
  const order = ascending(p);
  const m = order.length;
  const out = p.map(() => NaN);
  let running = 0;
  order.forEach((idx, k) => {
    running = Math.max(running, Math.min(1, (m - k) * p[idx]));
    out[idx] = running;
  });
  return out;
}

/**
 * Benjamini-Hochberg adjusted p-values (Benjamini & Hochberg 1995; the "BH" of R's p.adjust):
 * adj_(i) = min_{j >= i} min(1, m p_(j) / j), returned in the input order. Rejecting adj <= q controls the
 * false discovery rate at q for independent tests. NaN p-values stay NaN and do not count in m.
 */
export function benjaminiHochberg(p: readonly number[]): number[] {
  const order = ascending(p);
  const m = order.length;
  const out = p.map(() => NaN);
  let running = 1;
  for (let k = m - 1; k >= 0; k--) {
    running = Math.min(running, (m * p[order[k]]) / (k + 1));
    out[order[k]] = running;
  }
  return out;
}
