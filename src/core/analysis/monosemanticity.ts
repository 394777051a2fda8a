/**
 * Monosemanticity of each neuron (column) of a tap against the per-token concept labels of a probe set,
 * four scores and a label:
 *
 * - **topKShare**: of the neuron's k highest activations, the share whose token carries the dominant
 *   concept (the most frequent non-null concept among those k). Tokens without a concept count against.
 * - **nmi**: normalised mutual information (arithmetic mean of the entropies, scikit-learn's default)
 *   between the activation, cut into `bins` equal-width bins over [min, max], and the concept label
 *   (null is its own class).
 * - **selectivity**: the class selectivity index of Morcos et al. (arXiv 1803.06959, §2.3),
 *   (mu1 - mu2) / (mu1 + mu2), mu1 = the largest per-concept mean activation, mu2 = the mean of the
 *   other concepts' means, computed on max(a, 0) so that it lies in [0, 1] (0 when mu1 + mu2 = 0).
 * - **memel**: the MEmeL scale of Wang et al. (arXiv 2312.11560, as given in Yan et al. Eq. 5),
 *   phi_t = (a_t - mean)^2 / S^2 against the neuron's own history (Welford mean and unbiased variance
 *   of all previous tokens, in probe-set order); summarised as mean phi, max phi and the share of phi > tau.
 *
 * Labels (all thresholds are options; defaults in {@link DEFAULT_MONO_THRESHOLDS}):
 *
 * | label | rule |
 * |---|---|
 * | `dead` | active (a > activeThreshold = 0) on at most deadMaxFraction = 0.1% of the tokens |
 * | `monosemantic` | not dead, topKShare >= 0.8 and selectivity >= 0.5 |
 * | `polysemantic` | every other neuron |
 */
import { checkMatrix, type Matrix } from './matrix.js';

export interface MonoThresholds {
  /** An activation above this counts as active (default 0: the positive side of ReLU/GELU). */
  activeThreshold: number;
  /** Dead when the share of active tokens is at most this (default 0.001). */
  deadMaxFraction: number;
  /** Monosemantic needs topKShare at least this (default 0.8). */
  minTopKShare: number;
  /** ... and selectivity at least this (default 0.5). */
  minSelectivity: number;
}

export const DEFAULT_MONO_THRESHOLDS: MonoThresholds = {
  activeThreshold: 0,
  deadMaxFraction: 0.001,
  minTopKShare: 0.8,
  minSelectivity: 0.5,
};

export type MonoLabel = 'monosemantic' | 'polysemantic' | 'dead';

export interface MonosemanticityOptions {
  /** How many top activations define the dominant concept (default 20). */
  topK?: number;
  /** Equal-width bins of the activation for the NMI (default 10). */
  bins?: number;
  /** MEmeL: phi above this counts as a spike (default 9, i.e. |z| > 3). */
  memelTau?: number;
  /** Token id per row, with `specialIds` (PAD/BOS) whose rows are left out of every score. */
  tokenIds?: ArrayLike<number>;
  specialIds?: readonly number[];
  thresholds?: Partial<MonoThresholds>;
}

/** The scores and label of one neuron; JSON-able. */
export interface NeuronMonosemanticity {
  neuron: number;
  label: MonoLabel;
  dominantConcept: string | null;
  topKShare: number;
  nmi: number;
  selectivity: number;
  /** The concept with the largest mean (max(a, 0)), the mu1 of the selectivity index. */
  selectiveConcept: string | null;
  fractionActive: number;
  memelMean: number;
  memelMax: number;
  memelSpikeShare: number;
}

export interface MonosemanticityResult {
  neurons: NeuronMonosemanticity[];
  /** Share of each label over the neurons of this tap. */
  shares: Record<MonoLabel, number>;
  /** Tokens used after masking, and the concepts seen (sorted). */
  n: number;
  concepts: string[];
  thresholds: MonoThresholds;
  topK: number;
  bins: number;
}

/** Scores every neuron of `x` ([tokens, neurons]) against `concepts` (one label per row); see the file comment. */
export function monosemanticity(
  x: Matrix,
  concepts: readonly (string | null)[],
  opts: MonosemanticityOptions = {},
): MonosemanticityResult {
  checkMatrix(x, 'monosemanticity activations');
  if (concepts.length !== x.rows) {
    throw new Error(
      `monosemanticity: ${concepts.length} concept labels for ${x.rows} activation rows; need one per row`,
    );
  }
  const thresholds = { ...DEFAULT_MONO_THRESHOLDS, ...opts.thresholds };
  const topK = opts.topK ?? 20;
  const bins = opts.bins ?? 10;
  const tau = opts.memelTau ?? 9;
  if (!Number.isInteger(topK) || topK < 1)
    throw new Error(`monosemanticity: topK must be a positive integer, got ${topK}`);
  if (!Number.isInteger(bins) || bins < 2)
    throw new Error(`monosemanticity: bins must be an integer >= 2, got ${bins}`);
  if (opts.tokenIds && opts.tokenIds.length !== x.rows) {
    throw new Error(`monosemanticity: ${opts.tokenIds.length} token ids for ${x.rows} rows`);
  }
  const special = new Set(opts.specialIds ?? []);
  const rows: number[] = [];
  for (let r = 0; r < x.rows; r++) if (!opts.tokenIds || !special.has(opts.tokenIds[r])) rows.push(r);
  const n = rows.length;
  if (n === 0) throw new Error('monosemanticity: no rows left after masking special tokens');

  // Concept index per kept row: 0 = no concept, 1.. = sorted concept names.
  const names = [...new Set(concepts.filter((c): c is string => c !== null))].sort();
  const index = new Map(names.map((c, i) => [c, i + 1]));
  const label = Int32Array.from(rows, (r) => (concepts[r] === null ? 0 : index.get(concepts[r]!)!));
  const C = names.length + 1;
  const classCount = new Float64Array(C);
  for (const l of label) classCount[l]++;

  const col = new Float64Array(n);
  const neurons: NeuronMonosemanticity[] = [];
  for (let j = 0; j < x.cols; j++) {
    for (let i = 0; i < n; i++) col[i] = x.data[rows[i] * x.cols + j];
    neurons.push(scoreNeuron(j, col, label, classCount, names, topK, bins, tau, thresholds));
  }
  const shares: Record<MonoLabel, number> = { monosemantic: 0, polysemantic: 0, dead: 0 };
  for (const s of neurons) shares[s.label] += 1 / Math.max(neurons.length, 1);
  return { neurons, shares, n, concepts: names, thresholds, topK, bins };
}

function scoreNeuron(
  neuron: number,
  a: Float64Array,
  label: Int32Array,
  classCount: Float64Array,
  names: string[],
  topK: number,
  bins: number,
  tau: number,
  t: MonoThresholds,
): NeuronMonosemanticity {
  const n = a.length;
  const C = classCount.length;
  let active = 0;
  let lo = Infinity;
  let hi = -Infinity;
  const posSum = new Float64Array(C);
  for (let i = 0; i < n; i++) {
    const v = a[i];
    if (v > t.activeThreshold) active++;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
    posSum[label[i]] += Math.max(v, 0);
  }
  const fractionActive = active / n;

  // Top-k rows by activation (ties: earlier row first), then the dominant non-null concept among them.
  const k = Math.min(topK, n);
  const top = topIndices(a, k);
  const hits = new Float64Array(C);
  for (const i of top) hits[label[i]]++;
  let dom = 0;
  for (let c = 1; c < C; c++) if (hits[c] > (dom ? hits[dom] : 0)) dom = c;
  const topKShare = dom ? hits[dom] / k : 0;

  // Selectivity over the concepts' means of max(a, 0).
  let selectivity = 0;
  let selective = 0;
  if (C > 2) {
    let sumMeans = 0;
    let m1 = -Infinity;
    let present = 0;
    for (let c = 1; c < C; c++) {
      if (classCount[c] === 0) continue;
      const m = posSum[c] / classCount[c];
      present++;
      sumMeans += m;
      if (m > m1) {
        m1 = m;
        selective = c;
      }
    }
    const m2 = present > 1 ? (sumMeans - m1) / (present - 1) : 0;
    selectivity = m1 + m2 > 0 ? (m1 - m2) / (m1 + m2) : 0;
  }

  const nmi = normalizedMutualInformation(binIndex(a, bins, lo, hi), label, bins, C);

  // MEmeL phi against the running (Welford) mean and unbiased variance of the previous activations.
  let mean = 0;
  let m2acc = 0;
  let phiSum = 0;
  let phiMax = 0;
  let phiCount = 0;
  let spikes = 0;
  for (let i = 0; i < n; i++) {
    const v = a[i];
    if (i >= 2) {
      const s2 = m2acc / (i - 1);
      if (s2 > 0) {
        const phi = ((v - mean) * (v - mean)) / s2;
        phiSum += phi;
        phiCount++;
        if (phi > phiMax) phiMax = phi;
        if (phi > tau) spikes++;
      }
    }
    const dlt = v - mean;
    mean += dlt / (i + 1);
    m2acc += dlt * (v - mean);
  }

  const dead = fractionActive <= t.deadMaxFraction;
  const mono = !dead && topKShare >= t.minTopKShare && selectivity >= t.minSelectivity;
  return {
    neuron,
    label: dead ? 'dead' : mono ? 'monosemantic' : 'polysemantic',
    dominantConcept: dom ? names[dom - 1] : null,
    topKShare,
    nmi,
    selectivity,
    selectiveConcept: selective ? names[selective - 1] : null,
    fractionActive,
    memelMean: phiCount ? phiSum / phiCount : 0,
    memelMax: phiMax,
    memelSpikeShare: phiCount ? spikes / phiCount : 0,
  };
}

/** Indices of the k largest values, largest first; ties keep the earlier index first. O(n k) worst case. */
export function topIndices(a: ArrayLike<number>, k: number): number[] {
  const idx: number[] = [];
  const val: number[] = [];
  for (let i = 0; i < a.length; i++) {
    const v = a[i];
    if (idx.length === k && !(v > val[k - 1])) continue;
    let p = idx.length === k ? k - 1 : idx.length;
    while (p > 0 && val[p - 1] < v) {
      if (p < k) {
        val[p] = val[p - 1];
        idx[p] = idx[p - 1];
      }
      p--;
    }
    val[p] = v;
    idx[p] = i;
  }
  return idx;
}

/**
 * Equal-width bin of each value over [lo, hi]: floor((v - lo) / (hi - lo) * bins), the top edge in the
 * last bin; all values in bin 0 when hi = lo.
 */
export function binIndex(a: ArrayLike<number>, bins: number, lo: number, hi: number): Int32Array {
  const out = new Int32Array(a.length);
  const w = hi - lo;
  if (!(w > 0)) return out;
  for (let i = 0; i < a.length; i++) out[i] = Math.min(bins - 1, Math.floor(((a[i] - lo) / w) * bins));
  return out;
}

/**
 * NMI(U, V) = I(U; V) / ((H(U) + H(V)) / 2) with natural logs, from the contingency table of two integer
 * labellings (scikit-learn's `normalized_mutual_info_score`, average_method 'arithmetic': 1 when both are
 * constant, 0 when only one is).
 */
export function normalizedMutualInformation(u: Int32Array, v: Int32Array, nu: number, nv: number): number {
  const n = u.length;
  const table = new Float64Array(nu * nv);
  const pu = new Float64Array(nu);
  const pv = new Float64Array(nv);
  for (let i = 0; i < n; i++) {
    table[u[i] * nv + v[i]]++;
    pu[u[i]]++;
    pv[v[i]]++;
  }
  const entropy = (p: Float64Array): number => {
    let h = 0;
    for (const c of p) if (c > 0) h -= (c / n) * Math.log(c / n);
    return h;
  };
  const hu = entropy(pu);
  const hv = entropy(pv);
  const usedU = pu.filter((c) => c > 0).length;
  const usedV = pv.filter((c) => c > 0).length;
  if (usedU === 1 && usedV === 1) return 1;
  if (usedU === 1 || usedV === 1) return 0;
  let mi = 0;
  for (let i = 0; i < nu; i++) {
    for (let j = 0; j < nv; j++) {
      const c = table[i * nv + j];
      if (c > 0) mi += (c / n) * Math.log((c * n) / (pu[i] * pv[j]));
    }
  }
  const denom = (hu + hv) / 2;
  return denom > 0 ? Math.max(0, mi / denom) : 0;
}
