/**
 * Matching features (or raw neurons) of two checkpoints or two models by the correlation of their
 * activations on the same tokens, with the filters of Lan et al. (arXiv 2410.06981, §2 of our notes;
 * their notebooks `getScores_*.ipynb`), each switchable and counted:
 *
 *   0. rows of special tokens (PAD/BOS) are masked (our default; the authors do not mask);
 *   1. C = Pearson(A_i, B_j) over the tokens; for each B feature j (direction `b-to-a`, the paper's) the
 *      partner a*(j) = argmax_i C_ij, r_j = max_i C_ij (many-to-1); or a Hungarian assignment on -C
 *      (Jonker-Volgenant via `linear-sum-assignment`, as the authors' 2026 UI);
 *   2. non-concept filter: drop a pair when either feature's top-k (5) tokens include a junk token;
 *   3. shared-token rule: drop a pair whose two top-k token sets are disjoint;
 *   4. one-to-one (optional): keep each A feature once, the first encountered pair (lowest B index, the
 *      paper) or the best r;
 *   5. threshold: keep r > rThreshold (0.1).
 */
import { linearSumAssignment } from 'linear-sum-assignment';
import { crossCorrelation } from './correlation.js';
import { checkMatrix, takeRows, type Matrix } from './matrix.js';
import { topIndices } from './monosemanticity.js';
import { MATCH_R_THRESHOLD } from '../names.js';

/** The junk tokens of the authors' non-concept filter. */
export const DEFAULT_JUNK_TOKENS: readonly string[] = [
  '.',
  '\n',
  '\\n',
  '',
  ' ',
  '-',
  ',',
  '!',
  '?',
  '<|endoftext|>',
  '<bos>',
  '|bos|',
  '<pad>',
];

export type MatchRule = 'many-to-1' | 'one-to-one-first' | 'one-to-one-best' | 'hungarian';

export interface MatchOptions {
  /** `b-to-a` (default, the paper): each B feature picks its A partner. `a-to-b`: the reverse. */
  direction?: 'b-to-a' | 'a-to-b';
  rule?: MatchRule;
  /** Keep pairs with r > this (default {@link MATCH_R_THRESHOLD}); null switches the filter off. */
  rThreshold?: number | null;
  /** The decoded token of each row; needed by the junk and shared-token filters. */
  tokens?: readonly string[];
  /** Junk list (default {@link DEFAULT_JUNK_TOKENS}); null switches the non-concept filter off. */
  junkTokens?: readonly string[] | null;
  /** Require the two top-k token sets to share a token (default true when tokens are given). */
  sharedToken?: boolean;
  /** Top activations per feature for the token filters (default 5). */
  topK?: number;
  /** Token id per row and the special ids whose rows are masked (PAD/BOS). */
  tokenIds?: ArrayLike<number>;
  specialIds?: readonly number[];
}

export interface MatchedPair {
  a: number;
  b: number;
  r: number;
}

export interface FilterCount {
  filter: string;
  /** Whether the filter was switched on. */
  applied: boolean;
  before: number;
  after: number;
}

export interface MatchResult {
  pairs: MatchedPair[];
  /** The pairs that reached the r threshold (after the other filters), kept and dropped alike. */
  beforeThreshold: MatchedPair[];
  /** Mean r over all pairs before any filter (the authors' mean_actv_corr). */
  meanCorrelation: number;
  /** Mean r over the kept pairs (mean_actv_corr_filt). */
  meanCorrelationFiltered: number;
  /** Pairs kept (num_feat_kept). */
  kept: number;
  filters: FilterCount[];
  /** Tokens used after masking. */
  n: number;
  rule: MatchRule;
  direction: 'b-to-a' | 'a-to-b';
  /** The r threshold applied (null: none). */
  rThreshold: number | null;
}

/**
 * Matches the columns of A and B ([tokens, features] each, the same tokens) by activation correlation,
 * applying the filters of the file comment. Call initBackend() first (the correlation uses TF.js).
 */
export function matchByActivationCorrelation(a: Matrix, b: Matrix, opts: MatchOptions = {}): MatchResult {
  checkMatrix(a, 'match A');
  checkMatrix(b, 'match B');
  if (a.rows !== b.rows)
    throw new Error(`match: A has ${a.rows} rows but B has ${b.rows}; both must be the same tokens`);
  if (opts.tokens && opts.tokens.length !== a.rows)
    throw new Error(`match: ${opts.tokens.length} tokens for ${a.rows} rows`);
  if (opts.tokenIds && opts.tokenIds.length !== a.rows)
    throw new Error(`match: ${opts.tokenIds.length} token ids for ${a.rows} rows`);
  const direction = opts.direction ?? 'b-to-a';
  const rule = opts.rule ?? 'many-to-1';
  const topK = opts.topK ?? 5;

  // 0. Mask special tokens.
  const special = new Set(opts.specialIds ?? []);
  const rows: number[] = [];
  for (let r = 0; r < a.rows; r++) if (!opts.tokenIds || !special.has(opts.tokenIds[r])) rows.push(r);
  const masked = rows.length !== a.rows;
  const A = masked ? takeRows(a, rows) : a;
  const B = masked ? takeRows(b, rows) : b;
  const tokens = opts.tokens ? rows.map((r) => opts.tokens![r]) : null;
  const filters: FilterCount[] = [
    { filter: 'mask special tokens (rows)', applied: masked, before: a.rows, after: rows.length },
  ];

  // 1. Correlations and candidate pairs; "source" picks a partner in "target".
  const [src, tgt] = direction === 'b-to-a' ? [B, A] : [A, B];
  const C = crossCorrelation(tgt, src); // [tgt.cols, src.cols]
  const nt = tgt.cols;
  const ns = src.cols;
  let cand: { t: number; s: number; r: number }[] = [];
  if (rule === 'hungarian') {
    const rowsOfC = Array.from({ length: nt }, (_, i) => Float64Array.from(C.subarray(i * ns, (i + 1) * ns)));
    const { rowAssignments } = linearSumAssignment(rowsOfC, { maximaze: true });
    for (let t = 0; t < nt; t++) {
      const s = rowAssignments[t];
      if (s >= 0) cand.push({ t, s, r: C[t * ns + s] });
    }
    cand.sort((x, y) => x.s - y.s);
  } else {
    for (let s = 0; s < ns; s++) {
      let best = 0;
      let bestR = -Infinity;
      for (let t = 0; t < nt; t++) {
        const v = C[t * ns + s];
        if (v > bestR) {
          bestR = v;
          best = t;
        }
      }
      cand.push({ t: best, s, r: bestR });
    }
  }
  const meanCorrelation = mean(cand.map((c) => c.r));
  filters.push({ filter: `pairs (${rule})`, applied: true, before: ns, after: cand.length });

  // 2-3. Token filters on the top-k tokens of each feature.
  const junk = opts.junkTokens === null ? null : new Set(opts.junkTokens ?? DEFAULT_JUNK_TOKENS);
  const topTokens = (m: Matrix, col: number): string[] => {
    const v = new Float64Array(m.rows);
    for (let r = 0; r < m.rows; r++) v[r] = m.data[r * m.cols + col];
    return topIndices(v, topK).map((r) => tokens![r]);
  };
  const cacheT = new Map<number, string[]>();
  const cacheS = new Map<number, string[]>();
  const tokT = (i: number): string[] => cacheT.get(i) ?? cacheT.set(i, topTokens(tgt, i)).get(i)!;
  const tokS = (i: number): string[] => cacheS.get(i) ?? cacheS.set(i, topTokens(src, i)).get(i)!;
  const applyJunk = tokens !== null && junk !== null;
  let before = cand.length;
  if (applyJunk)
    cand = cand.filter((c) => !tokT(c.t).some((x) => junk.has(x)) && !tokS(c.s).some((x) => junk.has(x)));
  filters.push({
    filter: `non-concept tokens in top ${topK}`,
    applied: applyJunk,
    before,
    after: cand.length,
  });
  const applyShared = tokens !== null && (opts.sharedToken ?? true);
  before = cand.length;
  if (applyShared) {
    cand = cand.filter((c) => {
      const set = new Set(tokT(c.t));
      return tokS(c.s).some((x) => set.has(x));
    });
  }
  filters.push({ filter: `shared token in top ${topK}`, applied: applyShared, before, after: cand.length });

  // 4. One-to-one.
  before = cand.length;
  if (rule === 'one-to-one-first' || rule === 'one-to-one-best') {
    const chosen = new Map<number, { t: number; s: number; r: number }>();
    for (const c of cand) {
      const prev = chosen.get(c.t);
      if (!prev || (rule === 'one-to-one-best' && c.r > prev.r)) chosen.set(c.t, c);
    }
    cand = [...chosen.values()].sort((x, y) => x.s - y.s);
  }
  filters.push({
    filter: 'one-to-one',
    applied: rule === 'one-to-one-first' || rule === 'one-to-one-best',
    before,
    after: cand.length,
  });

  // 5. Threshold. The pairs it judges are kept too, so a scatter can show what the threshold drops.
  const thr = opts.rThreshold === undefined ? MATCH_R_THRESHOLD : opts.rThreshold;
  const beforeThreshold = cand.map((c) =>
    direction === 'b-to-a' ? { a: c.t, b: c.s, r: c.r } : { a: c.s, b: c.t, r: c.r },
  );
  before = cand.length;
  if (thr !== null) cand = cand.filter((c) => c.r > thr);
  filters.push({ filter: `r > ${thr}`, applied: thr !== null, before, after: cand.length });

  const pairs = cand.map((c) =>
    direction === 'b-to-a' ? { a: c.t, b: c.s, r: c.r } : { a: c.s, b: c.t, r: c.r },
  );
  return {
    pairs,
    beforeThreshold,
    meanCorrelation,
    meanCorrelationFiltered: mean(pairs.map((p) => p.r)),
    kept: pairs.length,
    filters,
    n: rows.length,
    rule,
    direction,
    rThreshold: thr,
  };
}

function mean(v: number[]): number {
  return v.length ? v.reduce((s, x) => s + x, 0) / v.length : NaN;
}
