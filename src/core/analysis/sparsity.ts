/**
 * Sparsity and diversity of a tap's activations ([tokens, neurons]), the activation variance of Yan et
 * al., and their weight-based monosemanticity proxy for GPT-2-family checkpoints.
 */
import { activeBackend } from '../backend/index.js';
import { accumulateGram, columnScale } from './gram.js';
import { symmetricEigenvaluesTwoStage, twoStageAvailable } from './eigenvalues.js';
import { symmetricEigen } from './linalg.js';
import { checkMatrix, type Matrix } from './matrix.js';

/** Per neuron, the fraction of tokens on which its activation exceeds `threshold` (default 0). */
export function fractionActive(x: Matrix, threshold = 0): Float64Array {
  checkMatrix(x, 'fractionActive input');
  const out = new Float64Array(x.cols);
  for (let r = 0; r < x.rows; r++) {
    const o = r * x.cols;
    for (let c = 0; c < x.cols; c++) if (x.data[o + c] > threshold) out[c]++;
  }
  for (let c = 0; c < x.cols; c++) out[c] /= Math.max(x.rows, 1);
  return out;
}

/**
 * Hoyer's sparsity (Hoyer 2004, "Non-negative matrix factorization with sparseness constraints", eq. 1)
 * of each token's activation vector over the d neurons: (sqrt(d) - ||a||_1 / ||a||_2) / (sqrt(d) - 1),
 * 1 for one active neuron, 0 for all equal. All-zero rows count as 1 (maximally sparse). Returns the
 * per-token values and their mean.
 */
export function hoyerSparsity(x: Matrix): { perToken: Float64Array; mean: number } {
  checkMatrix(x, 'hoyerSparsity input');
  if (x.cols < 2) throw new Error(`hoyerSparsity: need at least 2 neurons, got ${x.cols}`);
  const sd = Math.sqrt(x.cols);
  const perToken = new Float64Array(x.rows);
  let sum = 0;
  for (let r = 0; r < x.rows; r++) {
    const o = r * x.cols;
    let l1 = 0;
    let l2 = 0;
    for (let c = 0; c < x.cols; c++) {
      const v = x.data[o + c];
      l1 += Math.abs(v);
      l2 += v * v;
    }
    const h = l2 === 0 ? 1 : (sd - l1 / Math.sqrt(l2)) / (sd - 1);
    perToken[r] = h;
    sum += h;
  }
  return { perToken, mean: x.rows ? sum / x.rows : NaN };
}

/**
 * The covariance matrix Xc^T Xc / (n - 1) of the columns (float32 Gram via TF.js; call initBackend()
 * first), as float64 for the eigen-solver.
 */
export function covarianceMatrix(x: Matrix): Float64Array {
  if (!activeBackend())
    throw new Error('covarianceMatrix: call initBackend() (src/core/backend) before using TF.js');
  checkMatrix(x, 'covarianceMatrix input');
  if (x.rows < 2) throw new Error(`covarianceMatrix: need at least 2 rows (tokens), got ${x.rows}`);
  const { mean } = columnScale(x.data, x.rows, x.cols);
  const invNorm = new Float64Array(x.cols).fill(1 / Math.sqrt(x.rows - 1));
  const g = accumulateGram({ x: x.data, cols: x.cols, scale: { mean, invNorm } }, null, 0, x.rows);
  return Float64Array.from(g);
}

/** From this many columns on, {@link effectiveRank} takes the two-stage eigenvalue solver (wasm backend). */
export const TWO_STAGE_MIN_COLS = 192;

/**
 * The effective rank of Roy & Vetterli (EUSIPCO 2007): exp(H(p)), p_i = lambda_i / sum_j lambda_j over
 * the eigenvalues of the covariance of the columns (negative round-off clamped to 0). Between 1 (one
 * direction) and d (isotropic). Returns the eigenvalues (descending) too. From
 * {@link TWO_STAGE_MIN_COLS} columns on, with the wasm backend, the eigenvalues come from the two-stage
 * solver of `eigenvalues.ts` (float32 products, absolute error ~1e-6 x the largest, the size of the
 * float32 covariance's own rounding); otherwise from the float64 {@link symmetricEigen}.
 */
export function effectiveRank(x: Matrix): { effectiveRank: number; eigenvalues: Float64Array } {
  const cov = covarianceMatrix(x);
  const values =
    x.cols >= TWO_STAGE_MIN_COLS && twoStageAvailable()
      ? symmetricEigenvaluesTwoStage(cov, x.cols)
      : symmetricEigen(cov, x.cols).values;
  return { effectiveRank: effectiveRankOfSpectrum(values), eigenvalues: values.reverse() };
}

/** exp of the Shannon entropy (natural log) of the normalised non-negative spectrum. */
export function effectiveRankOfSpectrum(eigenvalues: ArrayLike<number>): number {
  let total = 0;
  for (let i = 0; i < eigenvalues.length; i++) total += Math.max(eigenvalues[i], 0);
  if (total <= 0) return 0;
  let h = 0;
  for (let i = 0; i < eigenvalues.length; i++) {
    const p = Math.max(eigenvalues[i], 0) / total;
    if (p > 0) h -= p * Math.log(p);
  }
  return Math.exp(h);
}

/**
 * The activation variance of Yan et al. (arXiv 2406.17969, v1 §4.2, Fig. 5), in our reading: for each
 * example (row) the population variance of its activations across the d dimensions, averaged over rows.
 */
export function activationVariance(x: Matrix): { mean: number; perExample: Float64Array } {
  checkMatrix(x, 'activationVariance input');
  const perExample = new Float64Array(x.rows);
  let sum = 0;
  for (let r = 0; r < x.rows; r++) {
    const o = r * x.cols;
    let m = 0;
    for (let c = 0; c < x.cols; c++) m += x.data[o + c];
    m /= x.cols;
    let v = 0;
    for (let c = 0; c < x.cols; c++) v += (x.data[o + c] - m) ** 2;
    perExample[r] = v / x.cols;
    sum += perExample[r];
  }
  return { mean: x.rows ? sum / x.rows : NaN, perExample };
}

/** One MLP input layer of a GPT-2-family model: c_fc weight [d_model, d_mlp] (Conv1D layout) and bias [d_mlp]. */
export interface MlpInputLayer {
  weight: Float32Array;
  bias: Float32Array;
  dModel: number;
  dMlp: number;
}

/** The weight proxy per layer: the raw medians and the normalised scores s_l. */
export interface WeightProxy {
  /** median_j ||w_in,j||_2 * b_in,j per layer. */
  median: number[];
  /** median / max over layers of |median|: the curve of the paper's Fig. 2. */
  normalized: number[];
  /** l / (L - 1), the x axis of that figure. */
  relativeDepth: number[];
}

/**
 * The weight-based monosemanticity proxy of Yan et al. (arXiv 2406.17969, §3.1, Eq. 4, after Gurnee et
 * al. 2023), as their code computes it (`Figure2/weight_stats.py`): per neuron p_j = ||w_in,j||_2 * b_in,j
 * (not squared), per layer the median over neurons, normalised by the largest |median| over layers.
 */
export function weightProxy(layers: MlpInputLayer[]): WeightProxy {
  if (layers.length === 0) throw new Error('weightProxy: no layers given');
  const median = layers.map((l, i) => {
    if (l.weight.length !== l.dModel * l.dMlp) {
      throw new Error(
        `weightProxy: layer ${i} c_fc.weight has ${l.weight.length} values, expected ${l.dModel} x ${l.dMlp}`,
      );
    }
    if (l.bias.length !== l.dMlp)
      throw new Error(`weightProxy: layer ${i} c_fc.bias has ${l.bias.length} values, expected ${l.dMlp}`);
    const norm2 = new Float64Array(l.dMlp);
    for (let r = 0; r < l.dModel; r++) {
      const o = r * l.dMlp;
      for (let j = 0; j < l.dMlp; j++) norm2[j] += l.weight[o + j] * l.weight[o + j];
    }
    const p = Array.from(norm2, (n2, j) => Math.sqrt(n2) * l.bias[j]);
    return medianOf(p);
  });
  const maxAbs = Math.max(...median.map(Math.abs));
  const L = layers.length;
  return {
    median,
    normalized: median.map((m) => (maxAbs > 0 ? m / maxAbs : 0)),
    relativeDepth: median.map((_, l) => (L > 1 ? l / (L - 1) : 0)),
  };
}

/** The MLP input layers of a checkpoint's named arrays (HF GPT-2 names `h.{i}.mlp.c_fc.weight|bias`). */
export function mlpInputLayers(
  tensors: Map<string, { shape: number[]; data: Float32Array | Int32Array }>,
): MlpInputLayer[] {
  const out: MlpInputLayer[] = [];
  for (let i = 0; ; i++) {
    const w = tensors.get(`h.${i}.mlp.c_fc.weight`) ?? tensors.get(`transformer.h.${i}.mlp.c_fc.weight`);
    const b = tensors.get(`h.${i}.mlp.c_fc.bias`) ?? tensors.get(`transformer.h.${i}.mlp.c_fc.bias`);
    if (!w && !b) break;
    if (!w || !b)
      throw new Error(`checkpoint: layer ${i} has ${w ? 'no mlp.c_fc.bias' : 'no mlp.c_fc.weight'}`);
    if (!(w.data instanceof Float32Array) || !(b.data instanceof Float32Array) || w.shape.length !== 2) {
      throw new Error(
        `checkpoint: h.${i}.mlp.c_fc must be float32 [d_model, d_mlp], got shape ${JSON.stringify(w.shape)}`,
      );
    }
    out.push({ weight: w.data, bias: b.data, dModel: w.shape[0], dMlp: w.shape[1] });
  }
  if (out.length === 0)
    throw new Error('checkpoint: no h.{i}.mlp.c_fc.weight found (not a GPT-2-family checkpoint?)');
  return out;
}

/** The median of a list (mean of the two middle values for even length). */
export function medianOf(values: ArrayLike<number>): number {
  const s = Array.from(values).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
