/**
 * The one histogram binner: equal-width bins over the range of the finite values, with NaN and infinities
 * counted apart. No imports, so that every room can run it (the store bins a neuron's activations on read,
 * the service bins permutation nulls, tests build figures from it).
 */

/** Equal-width bins of values (see {@link histogramOf}). */
export interface Histogram {
  /** Bin i covers [lo + i * (hi - lo) / bins, lo + (i + 1) * (hi - lo) / bins); the last bin includes hi. */
  lo: number;
  hi: number;
  counts: number[];
  /** Values left out of the bins, counted apart: NaN, +Infinity, -Infinity. */
  nan: number;
  posInf: number;
  negInf: number;
}

/**
 * `bins` equal-width bins over [lo, hi], the range of the finite values: bin i holds [lo + i w, lo + (i + 1) w)
 * with w = (hi - lo) / bins, and the last bin also holds hi; when every finite value is the same, bin 0 holds
 * them all. NaN, +Infinity and -Infinity are never binned: they are counted in `nan`, `posInf`, `negInf`.
 * With no finite value, lo = hi = 0 and every bin is empty.
 */
export function histogramOf(v: ArrayLike<number>, bins: number): Histogram {
  if (!Number.isInteger(bins) || bins < 1)
    throw new Error(`histogram: bins must be a positive integer, got ${bins}`);
  let lo = Infinity;
  let hi = -Infinity;
  let nan = 0;
  let posInf = 0;
  let negInf = 0;
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    if (x < lo && x !== -Infinity) lo = x;
    if (x > hi && x !== Infinity) hi = x;
    if (x !== x) nan++;
    else if (x === Infinity) posInf++;
    else if (x === -Infinity) negInf++;
  }
  const counts = new Array<number>(bins).fill(0);
  if (lo > hi) return { lo: 0, hi: 0, counts, nan, posInf, negInf };
  const scale = hi > lo ? bins / (hi - lo) : 0;
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    if (x >= lo && x <= hi) counts[Math.min(bins - 1, Math.floor((x - lo) * scale))]++;
  }
  return { lo, hi, counts, nan, posInf, negInf };
}
