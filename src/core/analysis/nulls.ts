/**
 * Permutation nulls and multiple-comparison control.
 *
 * The null of Lan et al. (arXiv 2410.06981, §3) keeps A and permutes B's rows; we report the p-value of
 * Phipson & Smyth (arXiv 1603.05766), p = (1 + #{null >= observed}) / (1 + N), which is never 0 and
 * is exact for a one-sided test of "more similar than chance".
 */
import { Rng } from '../model/rng.js';

export const P_VALUE_FORMULA = '(1 + #{null >= observed}) / (1 + N)';

/** A permutation test's outcome; JSON-able apart from the null distribution (a Float64Array). */
export interface PermutationNull {
  observed: number;
  pValue: number;
  nullMean: number;
  nullSd: number;
  /** The N null statistics in the order drawn, for plotting. */
  null: Float64Array;
  shuffles: number;
  seed: number;
  formula: string;
}

/** Fills `perm` with the next uniform permutation of 0..n-1 drawn from `rng` (Fisher-Yates). */
export function drawPermutation(rng: Rng, perm: Int32Array): void {
  const n = perm.length;
  for (let i = 0; i < n; i++) perm[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
}

/** Checks a null's settings; returns the number of shuffles and the seed, with their defaults. */
export function nullSettings(observed: number, opts: { shuffles?: number; seed?: number }): [number, number] {
  const N = opts.shuffles ?? 1000;
  const seed = opts.seed ?? 0;
  if (!Number.isInteger(N) || N < 1)
    throw new Error(`permutationNull: shuffles must be a positive integer, got ${N}`);
  if (!Number.isFinite(observed)) throw new Error(`permutationNull: observed statistic is ${observed}`);
  return [N, seed];
}

/** The test's outcome from the null statistics (p as in the file comment; sd with N - 1). */
export function summarizeNull(observed: number, values: Float64Array, seed: number): PermutationNull {
  const N = values.length;
  let atLeast = 0;
  let mean = 0;
  for (const v of values) {
    if (v >= observed) atLeast++;
    mean += v;
  }
  mean /= N;
  let ss = 0;
  for (const v of values) ss += (v - mean) ** 2;
  return {
    observed,
    pValue: (1 + atLeast) / (1 + N),
    nullMean: mean,
    nullSd: N > 1 ? Math.sqrt(ss / (N - 1)) : 0,
    null: values,
    shuffles: N,
    seed,
    formula: P_VALUE_FORMULA,
  };
}

/**
 * Draws `shuffles` uniform permutations of 0..n-1 (seeded Fisher-Yates, `Rng`), evaluates
 * `statistic(perm)` on each, and compares with `observed`. `permutationNullThreaded` (null-threads.ts)
 * gives the same result on several threads.
 */
export function permutationNull(
  observed: number,
  statistic: (perm: Int32Array) => number,
  n: number,
  opts: { shuffles?: number; seed?: number } = {},
): PermutationNull {
  const [N, seed] = nullSettings(observed, opts);
  const rng = new Rng(seed);
  const perm = new Int32Array(n);
  const values = new Float64Array(N);
  for (let s = 0; s < N; s++) {
    drawPermutation(rng, perm);
    values[s] = statistic(perm);
  }
  return summarizeNull(observed, values, seed);
}

/**
 * Benjamini-Hochberg adjusted p-values (q-values; Benjamini & Hochberg 1995, step-up):
 * q_(i) = min_{j >= i} min(1, m p_(j) / j) over the ascending p-values, returned in the input order.
 * Reject at FDR level alpha where q <= alpha.
 */
export function benjaminiHochberg(pValues: readonly number[]): number[] {
  const m = pValues.length;
  for (const [i, p] of pValues.entries()) {
    if (!(p >= 0 && p <= 1)) throw new Error(`benjaminiHochberg: p-value ${i} is ${p}, not in [0, 1]`);
  }
  const order = pValues.map((_, i) => i).sort((a, b) => pValues[a] - pValues[b]);
  const q = new Array<number>(m);
  let running = 1;
  for (let r = m - 1; r >= 0; r--) {
    const i = order[r];
    running = Math.min(running, (pValues[i] * m) / (r + 1));
    q[i] = running;
  }
  return q;
}
