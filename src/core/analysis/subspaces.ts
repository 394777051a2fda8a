/**
 * Similarity of paired representations (SVCCA and RSA with their permutation nulls), for the full space
 * and for the semantic subspaces of Lan et al. (arXiv 2410.06981, §4 of our notes): features whose top
 * activations sit on a category's keywords, paired within the category.
 */
import { type Matrix, checkMatrix, takeCols, takeRows } from './matrix.js';
import { topIndices } from './monosemanticity.js';
import { permutationNullThreaded } from './null-threads.js';
import type { PermutationNull } from './nulls.js';
import { prepareRsa, rsaScore } from './rsa.js';
import {
  prepareSvcca,
  canonicalCorrelations,
  SVCCA_MODE_LABELS,
  type SvccaMode,
  type SvccaResult,
} from './svcca.js';
import { crossCorrelation } from './correlation.js';

/** The keyword lists of the authors' notebooks (identical in both). */
export const SEMANTIC_CATEGORIES: Record<string, readonly string[]> = (() => {
  const calendar =
    'day night week month year hour minute second morning evening noon midnight dawn dusk yesterday today tomorrow decade century millennium season spring summer autumn fall winter calendar clock daily weekly monthly yearly annual biweekly timeframe'.split(
      ' ',
    );
  const timeExtra =
    'now soon later early late past present future before after next previous instant era age moment pause wait begin start end finish stop continue forever constant frequent occasion anniversary deadline schedule duration interval epoch generation period cycle timespan shift quarter term phase lifetime timeline delay prompt timely recurrent'.split(
      ' ',
    );
  return {
    Calendar: calendar,
    Time: [...calendar, ...timeExtra],
    'People/Roles':
      'man girl boy kid dad mom son sis bro chief priest king queen duke lord friend clerk coach nurse doc maid clown guest peer punk nerd jock'.split(
        ' ',
      ),
    Nature:
      'tree grass stone rock cliff hill dirt sand mud wind storm rain cloud sun moon leaf branch twig root bark seed tide lake pond creek sea wood field shore snow ice flame fire fog dew hail sky earth glade cave peak ridge dust air mist heat'.split(
        ' ',
      ),
    Emotions:
      'joy glee pride grief fear hope love hate pain shame bliss rage calm shock dread guilt peace trust scorn doubt hurt wrath laugh cry smile frown gasp blush sigh grin woe spite envy glow thrill mirth bored cheer charm grace shy brave proud glad mad sad tense free kind'.split(
        ' ',
      ),
    MonthNames: 'January February March April May June July August September October November December'.split(
      ' ',
    ),
    Countries:
      'USA Canada Brazil Mexico Germany France Italy Spain UK Australia China Japan India Russia Korea Argentina Egypt Iran Turkey'.split(
        ' ',
      ),
    Biology:
      'gene DNA RNA virus bacteria fungus brain lung blood bone skin muscle nerve vein organ evolve enzyme protein lipid membrane antibody antigen ligand substrate receptor cell chromosome nucleus cytoplasm'.split(
        ' ',
      ),
  };
})();

export interface SimilarityOptions {
  svccaMode?: SvccaMode;
  varianceThreshold?: number;
  k?: number;
  /** Permutations of B's rows (default 1,000); 0 skips the null. */
  shuffles?: number;
  seed?: number;
  /** Stops the nulls (on worker threads when large; see null-threads.ts). */
  signal?: AbortSignal;
}

export interface PairedSimilarity {
  svcca: SvccaResult & { null?: PermutationNull };
  rsa: { score: number; n: number; null?: PermutationNull };
}

/**
 * SVCCA and RSA between paired rows repA[i] <-> repB[i] (e.g. decoder rows of matched features), each
 * with the permutation null that keeps A and shuffles B's rows (the same permutations for both).
 */
export async function pairedSimilarity(
  repA: Matrix,
  repB: Matrix,
  opts: SimilarityOptions = {},
): Promise<PairedSimilarity> {
  const shuffles = opts.shuffles ?? 1000;
  const seed = opts.seed ?? 0;
  const sv = prepareSvcca(repA, repB, {
    mode: opts.svccaMode,
    varianceThreshold: opts.varianceThreshold,
    k: opts.k,
  });
  const corr = canonicalCorrelations(sv);
  const svScore = corr.reduce((s, v) => s + v, 0) / corr.length;
  const rp = prepareRsa(repA, repB);
  const rsaObs = rsaScore(rp);
  const n = repA.rows;
  const nullOpts = { shuffles, seed, signal: opts.signal };
  const svNull =
    shuffles > 0
      ? await permutationNullThreaded(svScore, { measure: 'svcca', prepared: sv }, nullOpts)
      : undefined;
  const rsaNull =
    shuffles > 0
      ? await permutationNullThreaded(rsaObs, { measure: 'rsa', prepared: rp }, nullOpts)
      : undefined;
  return {
    svcca: {
      score: svScore,
      mode: sv.mode,
      label: SVCCA_MODE_LABELS[sv.mode],
      kA: sv.kA,
      kB: sv.kB,
      n,
      correlations: corr,
      warnings: sv.warnings,
      null: svNull,
    },
    rsa: { score: rsaObs, n, null: rsaNull },
  };
}

/** For one category, the features whose top activations sit on one of its keywords, and which keyword. */
export interface CategoryFeatures {
  features: number[];
  keywords: string[];
}

/**
 * The features of `acts` ([tokens, features]) that belong to each category, by the authors' rule: take the
 * feature's top-k (5) rows (only those with a positive activation: a silent feature has no top tokens,
 * a check the authors do not make); keyword kw is assigned when, for at least one of them, the stripped,
 * lower-cased token equals kw and kw is a whole space-separated word of the decoded window
 * rows pos-2..pos+1 (within the same sequence when `sequenceIds` is given) after removing `.,?!` and
 * newlines. Keywords are compared lower-cased.
 */
export function featuresByCategory(
  acts: Matrix,
  tokens: readonly string[],
  opts: {
    categories?: Record<string, readonly string[]>;
    topK?: number;
    sequenceIds?: ArrayLike<number>;
  } = {},
): Record<string, CategoryFeatures> {
  checkMatrix(acts, 'featuresByCategory activations');
  if (tokens.length !== acts.rows)
    throw new Error(`featuresByCategory: ${tokens.length} tokens for ${acts.rows} rows`);
  const categories = opts.categories ?? SEMANTIC_CATEGORIES;
  const topK = opts.topK ?? 5;
  const seq = opts.sequenceIds;
  const kwToCats = new Map<string, string[]>();
  for (const [cat, kws] of Object.entries(categories)) {
    for (const kw of kws) {
      const k = kw.toLowerCase();
      kwToCats.set(k, [...(kwToCats.get(k) ?? []), cat]);
    }
  }
  const out: Record<string, CategoryFeatures> = Object.fromEntries(
    Object.keys(categories).map((c) => [c, { features: [], keywords: [] }]),
  );
  const col = new Float64Array(acts.rows);
  for (let f = 0; f < acts.cols; f++) {
    for (let r = 0; r < acts.rows; r++) col[r] = acts.data[r * acts.cols + f];
    const hitCats = new Map<string, string>();
    for (const pos of topIndices(col, topK)) {
      if (!(col[pos] > 0)) continue;
      const kw = tokens[pos].trim().toLowerCase();
      const cats = kwToCats.get(kw);
      if (!cats) continue;
      let window = '';
      for (let q = Math.max(0, pos - 2); q <= Math.min(acts.rows - 1, pos + 1); q++) {
        if (seq && seq[q] !== seq[pos]) continue;
        window += tokens[q];
      }
      const words = window
        .replace(/[.,?!\n]/g, '')
        .toLowerCase()
        .split(' ');
      if (!words.includes(kw)) continue;
      for (const c of cats) if (!hitCats.has(c)) hitCats.set(c, kw);
    }
    for (const [c, kw] of hitCats) {
      out[c].features.push(f);
      out[c].keywords.push(kw);
    }
  }
  return out;
}

export interface SubspaceResult {
  category: string;
  nA: number;
  nB: number;
  /** Pairs (a, b, r) within the category, one-to-one (first encountered). */
  pairs: { a: number; b: number; r: number }[];
  skipped?: string;
  similarity?: PairedSimilarity;
}

/**
 * Semantic-subspace similarity (Lan et al. §4): features of each category on each side
 * ({@link featuresByCategory}), each B feature paired with its most correlated A feature within the
 * category, then one-to-one (first encountered); no junk filter and no threshold, as the authors. A
 * category with 2 or fewer features on either side (or fewer than 3 pairs) is skipped. SVCCA and RSA run on
 * the representation rows (decoder rows, features x d) of the pairs. Call initBackend() first.
 */
export async function semanticSubspaceSimilarity(input: {
  actsA: Matrix;
  actsB: Matrix;
  tokens: readonly string[];
  repA: Matrix;
  repB: Matrix;
  sequenceIds?: ArrayLike<number>;
  categories?: Record<string, readonly string[]>;
  similarity?: SimilarityOptions;
}): Promise<SubspaceResult[]> {
  const { actsA, actsB, repA, repB } = input;
  if (repA.rows !== actsA.cols)
    throw new Error(`subspaces: repA has ${repA.rows} rows for ${actsA.cols} features of A`);
  if (repB.rows !== actsB.cols)
    throw new Error(`subspaces: repB has ${repB.rows} rows for ${actsB.cols} features of B`);
  const opts = { categories: input.categories, sequenceIds: input.sequenceIds };
  const catsA = featuresByCategory(actsA, input.tokens, opts);
  const catsB = featuresByCategory(actsB, input.tokens, opts);
  const results: SubspaceResult[] = [];
  for (const category of Object.keys(catsA)) {
    const fa = catsA[category].features;
    const fb = catsB[category].features;
    const res: SubspaceResult = { category, nA: fa.length, nB: fb.length, pairs: [] };
    results.push(res);
    if (fa.length <= 2 || fb.length <= 2) {
      res.skipped = `too few features (A ${fa.length}, B ${fb.length}; need more than 2 on each side)`;
      continue;
    }
    const C = crossCorrelation(takeCols(actsA, fa), takeCols(actsB, fb)); // [fa, fb]
    const used = new Set<number>();
    for (let j = 0; j < fb.length; j++) {
      let best = 0;
      for (let i = 1; i < fa.length; i++) if (C[i * fb.length + j] > C[best * fb.length + j]) best = i;
      if (used.has(best)) continue;
      used.add(best);
      res.pairs.push({ a: fa[best], b: fb[j], r: C[best * fb.length + j] });
    }
    if (res.pairs.length < 3) {
      res.skipped = `only ${res.pairs.length} one-to-one pairs`;
      continue;
    }
    res.similarity = await pairedSimilarity(
      takeRows(
        repA,
        res.pairs.map((p) => p.a),
      ),
      takeRows(
        repB,
        res.pairs.map((p) => p.b),
      ),
      input.similarity,
    );
  }
  return results;
}
