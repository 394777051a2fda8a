/**
 * The mean of a sample and its Student-t confidence interval, as pure float64 functions: the one definition
 * that the study's tables (src/core/study/summary.ts, through src/core/analysis/stats.ts) and its figures'
 * bands (src/shared/specs/study.ts) both use, so the two always agree.
 */
import tQuantile from '@stdlib/stats-base-dists-t-quantile';

/** The arithmetic mean (NaN for no values). */
export function mean(x: readonly number[]): number {
  let s = 0;
  for (const v of x) s += v;
  return s / x.length;
}

/** The sample standard deviation, sqrt(sum (x_i - mean)^2 / (n - 1)) (NaN for fewer than 2 values). */
export function sampleSd(x: readonly number[]): number {
  if (x.length < 2) return NaN;
  const m = mean(x);
  let ss = 0;
  for (const v of x) ss += (v - m) * (v - m);
  return Math.sqrt(ss / (x.length - 1));
}

/** A mean over a sample with its two-sided confidence interval. */
export interface MeanInterval {
  n: number;
  mean: number;
  sd: number;
  low: number;
  high: number;
}

/**
 * The Student-t confidence interval of the mean at `level` (default 0.95): mean -/+ t_{(1+level)/2, n-1} *
 * sd / sqrt(n), the one-sample t-interval (Student 1908; scipy.stats.t.interval with scale = sd / sqrt(n)).
 * With one value the sd and the interval are NaN (undefined, as scipy gives), not infinite; with none the
 * mean is NaN too. Constant values (sd = 0) give a NaN interval as well, not the zero-width [mean, mean]:
 * the t model says nothing about data without spread (scipy needs scale > 0; R's t.test stops with "data are
 * essentially constant"), and a zero-width interval would call a constant difference over 3 seeds certain.
 * Tables show such an interval as missing, and figures draw no band or error bar for it.
 */
export function tInterval(x: readonly number[], level = 0.95): MeanInterval {
  const n = x.length;
  const m = mean(x);
  const sd = sampleSd(x);
  if (!(sd > 0)) return { n, mean: m, sd, low: NaN, high: NaN };
  const half = tQuantile((1 + level) / 2, n - 1) * (sd / Math.sqrt(n));
  return { n, mean: m, sd, low: m - half, high: m + half };
}
