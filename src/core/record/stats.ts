/**
 * Per-neuron statistics of one tap, computed while the activations stream past, tile by tile (one
 * neuron's values over one batch's rows).
 *
 * Streaming, per neuron:
 * - mean and variance: each tile's mean and sum of squared deviations (one pass, shifted by the tile's first
 *   value: M2 = sum (x - K)^2 - (sum (x - K))^2 / n), merged into the running ones with
 *   Chan, Golub & LeVeque's pairwise update (1979): for counts a, b and means ma, mb, delta = mb - ma,
 *   mean = ma + delta b / (a + b), M2 = M2a + M2b + delta^2 a b / (a + b); std = sqrt(M2 / n) (population);
 * - min, max (NaN if the neuron produced a NaN), and density = #{x > threshold} / n;
 * - the top-k rows (a bounded min-heap; ties go to the earlier row) among eligible rows (not special tokens);
 * - a bottom-R sketch of the active eligible rows: the R rows with the smallest fixed hash(row), i.e. a
 *   uniform random sample that does not depend on batch boundaries; the quantile samples are cut from it;
 * - per-concept sums, for the mean activation per concept.
 * (The histogram needs [min, max], known only at the end; the store bins it from the neuron's vector on
 * read, which saves a second pass over every value here.)
 *
 * Every result is a deterministic function of the values in row order and the batch boundaries, so a
 * recording resumed from the store (replaying the committed tiles) ends with exactly the statistics of an
 * uninterrupted one.
 */
import type { RecordingSettings, TapStatistics } from '../store/activations.js';

export interface TapStatsInit {
  nNeurons: number;
  nRows: number;
  settings: RecordingSettings;
  /** 1 where a row may appear in top examples and quantile samples (not a special token). */
  eligible: Uint8Array;
  /** Concept index of each row, -1 for none. */
  concept: Int16Array;
  nConcepts: number;
}

/** A fixed 31-bit hash of a row number (murmur3's finaliser), the priority of the bottom-R sketch. */
export function rowHash(row: number): number {
  let h = (row ^ 0x9e3779b9) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 1; // 31 bits: small integers keep the JIT on its fast path
}

/** The streaming statistics of one tap's neurons (see the module comment). */
export class TapStatsAccumulator {
  readonly n: number;
  private readonly k: number;
  private readonly R: number;
  private readonly threshold: number;
  private readonly count: Float64Array;
  private readonly mean: Float64Array;
  private readonly m2: Float64Array;
  private readonly min: Float64Array;
  private readonly max: Float64Array;
  private readonly active: Float64Array;
  /** Per neuron, the sum over each concept's rows; slot C (after the C concepts) takes unlabelled rows. */
  private readonly conceptSums: Float64Array;
  /** Concept index of each row, with unlabelled rows mapped to slot C. */
  private readonly conceptSlot: Int16Array;
  private readonly conceptCounts: Float64Array;
  // top-k min-heaps, neuron i at [i * k, (i + 1) * k)
  private readonly topV: Float32Array;
  private readonly topR: Int32Array;
  private readonly topN: Int32Array;
  // bottom-R sketches as max-heaps on (hash, row), neuron i at [i * R, (i + 1) * R)
  private readonly resH: Int32Array;
  private readonly resR: Int32Array;
  private readonly resV: Float32Array;
  private readonly resN: Int32Array;
  private readonly hash: Int32Array;

  constructor(private readonly init: TapStatsInit) {
    const { nNeurons: n, nRows, settings } = init;
    this.n = n;
    this.k = settings.topK;
    this.R = settings.reservoirSize;
    this.threshold = settings.activeThreshold;
    this.count = new Float64Array(n);
    this.mean = new Float64Array(n);
    this.m2 = new Float64Array(n);
    this.min = new Float64Array(n).fill(Infinity);
    this.max = new Float64Array(n).fill(-Infinity);
    this.active = new Float64Array(n);
    this.conceptSums = new Float64Array(n * (init.nConcepts + 1));
    this.conceptSlot = Int16Array.from(init.concept, (c) => (c >= 0 ? c : init.nConcepts));
    this.conceptCounts = new Float64Array(init.nConcepts);
    this.topV = new Float32Array(n * this.k);
    this.topR = new Int32Array(n * this.k);
    this.topN = new Int32Array(n);
    this.resH = new Int32Array(n * this.R);
    this.resR = new Int32Array(n * this.R);
    this.resV = new Float32Array(n * this.R);
    this.resN = new Int32Array(n);
    this.hash = new Int32Array(nRows);
    for (let r = 0; r < nRows; r++) this.hash[r] = rowHash(r);
    for (let r = 0; r < nRows; r++) if (init.concept[r] >= 0) this.conceptCounts[init.concept[r]]++;
  }

  /**
   * Adds one neuron's values over rows [rowStart, rowStart + x.length): three tight loops over the tile
   * (moments, top-k, sketch). Tiles of a neuron come in row order.
   */
  addTile(i: number, rowStart: number, x: Float32Array): void {
    const len = x.length;
    if (len === 0) return;
    const { eligible } = this.init;
    const concept = this.conceptSlot;
    const thr = this.threshold;
    const sums = this.conceptSums;
    const cBase = i * (this.init.nConcepts + 1);
    const hash = this.hash;
    // Top-k heap (root = worst kept) and sketch heap (root = largest kept hash) of this neuron.
    const k = this.k;
    const tBase = i * k;
    const TV = this.topV;
    const TR = this.topR;
    let tSize = this.topN[i];
    const R = this.R;
    const rBase = i * R;
    const RH = this.resH;
    const RR = this.resR;
    const RV = this.resV;
    let rSize = this.resN[i];
    // Cut-offs that most values fail, so the loop rarely branches: the worst kept top value, and the
    // largest kept hash (every value passes while a heap is still filling).
    let topMin = tSize < k ? -Infinity : TV[tBase];
    let hashMax = rSize < R ? 0x7fffffff : RH[rBase];
    // The tile's moments with the shifted-data formula: M2 = sum (x - K)^2 - (sum (x - K))^2 / n, K = x[0].
    const shift = x[0];
    let s1 = 0;
    let s2 = 0;
    let lo = this.min[i];
    let hi = this.max[i];
    let act = 0;
    for (let j = 0; j < len; j++) {
      const v = x[j];
      const d = v - shift;
      s1 += d;
      s2 += d * d;
      lo = Math.min(lo, v); // branch-free forms: a data-dependent branch mispredicts half the time
      hi = Math.max(hi, v);
      act += +(v > thr);
      sums[cBase + concept[rowStart + j]] += v; // slot C collects the unlabelled rows
    }
    // Top-k: most values fail `v >= topMin` once the heap is full.
    for (let j = 0; k > 0 && j < len; j++) {
      const v = x[j];
      if (v < topMin || !(v === v)) continue;
      const row = rowStart + j;
      if (!eligible[row] || (v === topMin && tSize === k && row > TR[tBase])) continue;
      if (tSize < k) {
        TV[tBase + tSize] = v;
        TR[tBase + tSize] = row;
        heapSiftUp(TV, TR, null, 1, tBase, tSize++);
      } else {
        TV[tBase] = v;
        TR[tBase] = row;
        heapSiftDown(TV, TR, null, 1, tBase, k, 0);
      }
      topMin = tSize < k ? -Infinity : TV[tBase];
    }
    // Sketch: most rows fail `hash <= hashMax` once it is full.
    for (let j = 0; R > 0 && j < len; j++) {
      const row = rowStart + j;
      const h = hash[row];
      if (h > hashMax) continue;
      const v = x[j];
      if (!(v > thr) || !eligible[row]) continue;
      if (rSize < R) {
        RH[rBase + rSize] = h;
        RR[rBase + rSize] = row;
        RV[rBase + rSize] = v;
        heapSiftUp(RH, RR, RV, -1, rBase, rSize++);
      } else if (h < RH[rBase] || row < RR[rBase]) {
        RH[rBase] = h;
        RR[rBase] = row;
        RV[rBase] = v;
        heapSiftDown(RH, RR, RV, -1, rBase, R, 0);
      }
      hashMax = rSize < R ? 0x7fffffff : RH[rBase];
    }
    this.topN[i] = tSize;
    this.resN[i] = rSize;
    const mb = shift + s1 / len;
    const m2b = Math.max(0, s2 - (s1 * s1) / len);
    // Chan et al.: merge (count, mean, M2) of the tile into the running ones.
    const na = this.count[i];
    const nab = na + len;
    const delta = mb - this.mean[i];
    this.mean[i] += (delta * len) / nab;
    this.m2[i] += m2b + (delta * delta * na * len) / nab;
    this.count[i] = nab;
    this.min[i] = lo;
    this.max[i] = hi;
    this.active[i] += act;
  }

  /** The statistics of every neuron, in the layout the store takes. */
  result(): TapStatistics {
    const n = this.n;
    const { topK: k, quantileGroups: G, quantileSamplesPerGroup: S } = this.init.settings;
    const C = this.init.nConcepts;
    const s: TapStatistics = {
      mean: Float64Array.from(this.mean),
      std: new Float64Array(n),
      min: Float64Array.from(this.min),
      max: Float64Array.from(this.max),
      density: new Float64Array(n),
      topRows: new Int32Array(n * k).fill(-1),
      topValues: new Float32Array(n * k),
      quantileRows: new Int32Array(n * G * S).fill(-1),
      quantileValues: new Float32Array(n * G * S),
      quantileLo: new Float32Array(n * G).fill(NaN),
      quantileHi: new Float32Array(n * G).fill(NaN),
      conceptMeans: new Float64Array(n * C),
    };
    for (let i = 0; i < n; i++) {
      s.std[i] = Math.sqrt(this.m2[i] / this.count[i]);
      s.density[i] = this.active[i] / this.count[i];

      // Top-k, best first (value descending, earlier row first on ties).
      const top: [number, number][] = [];
      for (let j = 0; j < this.topN[i]; j++) top.push([this.topV[i * k + j], this.topR[i * k + j]]);
      top.sort((a, b) => b[0] - a[0] || a[1] - b[1]);
      top.forEach(([v, r], j) => {
        s.topValues[i * k + j] = v;
        s.topRows[i * k + j] = r;
      });

      // Quantile groups of the sketch, sorted by value: group g = ranks [g m / G, (g + 1) m / G), from which
      // S evenly spaced samples are taken.
      const m = this.resN[i];
      const sample: [number, number][] = [];
      for (let j = 0; j < m; j++) sample.push([this.resV[i * this.R + j], this.resR[i * this.R + j]]);
      sample.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
      for (let g = 0; g < G; g++) {
        const a = Math.floor((g * m) / G);
        const b = Math.floor(((g + 1) * m) / G);
        const cnt = b - a;
        if (cnt <= 0) continue;
        s.quantileLo[i * G + g] = sample[a][0];
        s.quantileHi[i * G + g] = sample[b - 1][0];
        const take = Math.min(S, cnt);
        for (let j = 0; j < take; j++) {
          const [v, r] = sample[a + Math.floor(((j + 0.5) * cnt) / take)];
          s.quantileValues[(i * G + g) * S + j] = v;
          s.quantileRows[(i * G + g) * S + j] = r;
        }
      }

      for (let c = 0; c < C; c++) {
        s.conceptMeans[i * C + c] =
          this.conceptCounts[c] > 0 ? this.conceptSums[i * (C + 1) + c] / this.conceptCounts[c] : NaN;
      }
    }
    return s;
  }
}

// Binary heaps of (key, row) entries in the slots [base, base + size) of parallel arrays, with an optional
// payload array moved along. The root is the entry to drop first: the smallest key for `sign` 1 (top-k: the
// worst kept example), the largest for `sign` -1 (the sketch: the largest hash), and on equal keys the later
// row.
type HeapKeys = Float32Array | Int32Array;

function dropsFirst(K: HeapKeys, R: Int32Array, sign: 1 | -1, a: number, b: number): boolean {
  return sign * K[a] < sign * K[b] || (K[a] === K[b] && R[a] > R[b]);
}

function heapSwap(K: HeapKeys, R: Int32Array, P: Float32Array | null, a: number, b: number): void {
  const key = K[a];
  K[a] = K[b];
  K[b] = key;
  const r = R[a];
  R[a] = R[b];
  R[b] = r;
  if (P) {
    const p = P[a];
    P[a] = P[b];
    P[b] = p;
  }
}

function heapSiftUp(
  K: HeapKeys,
  R: Int32Array,
  P: Float32Array | null,
  sign: 1 | -1,
  base: number,
  pos: number,
): void {
  while (pos > 0) {
    const parent = (pos - 1) >> 1;
    if (!dropsFirst(K, R, sign, base + pos, base + parent)) break;
    heapSwap(K, R, P, base + pos, base + parent);
    pos = parent;
  }
}

function heapSiftDown(
  K: HeapKeys,
  R: Int32Array,
  P: Float32Array | null,
  sign: 1 | -1,
  base: number,
  size: number,
  pos: number,
): void {
  for (;;) {
    const l = 2 * pos + 1;
    if (l >= size) break;
    let m = l;
    if (l + 1 < size && dropsFirst(K, R, sign, base + l + 1, base + l)) m = l + 1;
    if (!dropsFirst(K, R, sign, base + m, base + pos)) break;
    heapSwap(K, R, P, base + m, base + pos);
    pos = m;
  }
}
