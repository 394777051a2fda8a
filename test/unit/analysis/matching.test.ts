import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/core/backend/index.js';
import { crossCorrelation } from '../../../src/core/analysis/correlation.js';
import { matchByActivationCorrelation } from '../../../src/core/analysis/matching.js';
import { featuresByCategory, semanticSubspaceSimilarity } from '../../../src/core/analysis/subspaces.js';
import { Rng } from '../../../src/core/model/rng.js';

beforeAll(async () => {
  await initBackend('wasm');
});

/**
 * 400 tokens; A has 5 features, each firing on its own word; B's feature j copies A's feature perm[j]
 * with noise. Feature 4 of A fires on '.' (junk). B's feature 3 copies A's 0 too, more weakly, so
 * many-to-1 maps two B features onto A 0.
 */
function planted() {
  const rng = new Rng(3);
  const words = ['red', 'dog', 'bread', 'rain', '.'];
  const rows = 400;
  const tokens: string[] = [];
  const A = new Float32Array(rows * 5);
  const B = new Float32Array(rows * 5);
  const perm = [2, 0, 1, 0, 4];
  for (let t = 0; t < rows; t++) {
    const w = t % 5;
    tokens.push(words[w]);
    for (let f = 0; f < 5; f++) A[t * 5 + f] = (w === f ? 3 : 0) + 0.1 * rng.normal();
    for (let j = 0; j < 5; j++)
      B[t * 5 + j] = A[t * 5 + perm[j]] * (j === 3 ? 0.5 : 1) + (j === 3 ? 1 : 0.1) * rng.normal();
  }
  return { a: { data: A, rows, cols: 5 }, b: { data: B, rows, cols: 5 }, tokens, perm };
}

describe('matchByActivationCorrelation', () => {
  it('many-to-1 finds the planted partners; filters are counted in the paper order', () => {
    const { a, b, tokens, perm } = planted();
    const res = matchByActivationCorrelation(a, b, { tokens });
    // Junk filter drops the '.' pair (B 4 <-> A 4); shared-token rule keeps the others (same words).
    expect(res.pairs.map((p) => [p.b, p.a])).toEqual([
      [0, perm[0]],
      [1, perm[1]],
      [2, perm[2]],
      [3, perm[3]],
    ]);
    const byName = Object.fromEntries(res.filters.map((f) => [f.filter, f]));
    expect(byName['non-concept tokens in top 5']).toMatchObject({ applied: true, before: 5, after: 4 });
    expect(byName['shared token in top 5']).toMatchObject({ applied: true, before: 4, after: 4 });
    expect(byName['one-to-one']).toMatchObject({ applied: false, before: 4, after: 4 });
    expect(res.kept).toBe(4);
    expect(res.meanCorrelation).toBeGreaterThan(res.meanCorrelationFiltered - 1);
  });

  it('one-to-one keeps the first encountered pair or the best r; the threshold drops weak pairs', () => {
    const { a, b, tokens } = planted();
    const first = matchByActivationCorrelation(a, b, { tokens, rule: 'one-to-one-first' });
    expect(first.pairs.find((p) => p.a === 0)!.b).toBe(1);
    const bestB = matchByActivationCorrelation(a, b, { tokens, rule: 'one-to-one-best' });
    expect(bestB.pairs.find((p) => p.a === 0)!.b).toBe(1); // B 1 copies A 0 cleanly, B 3 weakly
    const strict = matchByActivationCorrelation(a, b, { tokens, rThreshold: 0.9 });
    expect(strict.pairs.map((p) => p.b)).toEqual([0, 1, 2]);
    const none = matchByActivationCorrelation(a, b, { rThreshold: null, junkTokens: null });
    expect(none.kept).toBe(5);
    expect(none.filters.filter((f) => f.applied).map((f) => f.filter)).toEqual(['pairs (many-to-1)']);
  });

  it('Hungarian maximises the total correlation (checked by brute force over all assignments)', () => {
    const rng = new Rng(5);
    const rows = 200;
    const a = { data: Float32Array.from({ length: rows * 4 }, () => rng.normal()), rows, cols: 4 };
    const b = { data: new Float32Array(rows * 4), rows, cols: 4 };
    for (let t = 0; t < rows; t++) {
      for (let j = 0; j < 4; j++)
        b.data[t * 4 + j] =
          a.data[t * 4 + ((j + 1) % 4)] * (j === 0 ? 0.3 : 1) + a.data[t * 4] * 0.6 + rng.normal() * 0.5;
    }
    const res = matchByActivationCorrelation(a, b, { rule: 'hungarian', rThreshold: null });
    const C = crossCorrelation(a, b);
    const total = res.pairs.reduce((s, p) => s + C[p.a * 4 + p.b], 0);
    let best = -Infinity;
    const permute = (prefix: number[]): void => {
      if (prefix.length === 4) {
        best = Math.max(
          best,
          prefix.reduce((s, ai, bj) => s + C[ai * 4 + bj], 0),
        );
        return;
      }
      for (let i = 0; i < 4; i++) if (!prefix.includes(i)) permute([...prefix, i]);
    };
    permute([]);
    expect(new Set(res.pairs.map((p) => p.a)).size).toBe(4);
    expect(total).toBeCloseTo(best, 5);
  });

  it('masks PAD/BOS rows and reports the direction a-to-b', () => {
    const { a, b, tokens } = planted();
    const ids = tokens.map((_, i) => (i < 10 ? 0 : 1));
    const res = matchByActivationCorrelation(a, b, {
      tokenIds: ids,
      specialIds: [0],
      direction: 'a-to-b',
      rThreshold: null,
    });
    expect(res.n).toBe(390);
    expect(res.filters[0]).toMatchObject({ applied: true, before: 400, after: 390 });
    expect(res.pairs.find((p) => p.a === 2)!.b).toBe(0);
    expect(() => matchByActivationCorrelation(a, { ...b, rows: 10, data: b.data.subarray(0, 50) })).toThrow(
      /same tokens/,
    );
  });
});

describe('semantic subspaces', () => {
  // Tokens cycle through calendar and nature words inside sentences; 8 features per side.
  const words = [
    ' the',
    ' day',
    ' was',
    ' long',
    ' and',
    ' the',
    ' tree',
    ' grew',
    ' at',
    ' night',
    ' by',
    ' the',
    ' lake',
  ];
  const more = [' in', ' rain', ' for', ' a', ' week'];
  const sentence = [...words, ...more];
  const rows = sentence.length * 30;
  const tokens = Array.from({ length: rows }, (_, i) => sentence[i % sentence.length]);
  const rng = new Rng(8);
  const acts = (kw: string[]) => {
    const data = new Float32Array(rows * kw.length);
    for (let t = 0; t < rows; t++) {
      for (let f = 0; f < kw.length; f++)
        data[t * kw.length + f] = (tokens[t] === kw[f] ? 2 + 0.5 * rng.next() : 0) + 0.01 * rng.next();
    }
    return { data, rows, cols: kw.length };
  };

  it('assigns features to categories by the keyword-in-window rule', () => {
    const a = acts([' day', ' night', ' tree', ' lake', ' was', ' grew', ' day', ' lake']);
    const cats = featuresByCategory(a, tokens);
    expect(cats.Calendar.features).toEqual([0, 1, 6]);
    expect(cats.Calendar.keywords).toEqual(['day', 'night', 'day']);
    expect(cats.Nature.features).toEqual([2, 3, 7]);
    expect(cats.Time.features).toEqual([0, 1, 6]);
    expect(cats.Emotions.features).toEqual([]);
  });

  it('pairs within a category one-to-one and scores the paired representation rows with nulls', async () => {
    const kwA = [' day', ' night', ' week', ' tree', ' lake', ' rain', ' was', ' grew'];
    const kwB = [' lake', ' week', ' day', ' night', ' rain', ' tree', ' grew', ' the'];
    const actsA = acts(kwA);
    const actsB = acts(kwB);
    // Representation rows: B's feature j has the same row as the A feature with the same keyword.
    const repA = { data: Float32Array.from({ length: 8 * 6 }, () => rng.normal()), rows: 8, cols: 6 };
    const repB = { data: new Float32Array(8 * 6), rows: 8, cols: 6 };
    kwB.forEach((w, j) => {
      const i = kwA.indexOf(w);
      for (let c = 0; c < 6; c++) repB.data[j * 6 + c] = i >= 0 ? repA.data[i * 6 + c] : rng.normal();
    });
    const res = await semanticSubspaceSimilarity({
      actsA,
      actsB,
      tokens,
      repA,
      repB,
      similarity: { shuffles: 50, k: 2 },
    });
    const cal = res.find((r) => r.category === 'Calendar')!;
    expect(cal.nA).toBe(3);
    expect(cal.nB).toBe(3);
    expect(cal.pairs.map((p) => [p.b, p.a])).toEqual([
      [1, 2],
      [2, 0],
      [3, 1],
    ]);
    expect(cal.similarity!.rsa.score).toBeCloseTo(1, 10);
    expect(cal.similarity!.svcca.score).toBeCloseTo(1, 8);
    expect(cal.similarity!.svcca.null!.shuffles).toBe(50);
    const nature = res.find((r) => r.category === 'Nature')!;
    expect(nature.pairs).toHaveLength(3);
    expect(res.find((r) => r.category === 'Emotions')!.skipped).toMatch(/too few features/);
  });
});
