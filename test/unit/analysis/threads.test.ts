import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/core/backend/index.js';
import { pearsonMatrix } from '../../../src/core/analysis/correlation.js';
import { pearsonMatrixThreaded } from '../../../src/core/analysis/gram-threads.js';
import { Rng } from '../../../src/core/model/rng.js';
import { permutationNullThreaded } from '../../../src/core/analysis/null-threads.js';
import { permutationNull } from '../../../src/core/analysis/nulls.js';
import { prepareRsa, rsaScore } from '../../../src/core/analysis/rsa.js';
import { prepareSvcca, svccaScoreForPermutation } from '../../../src/core/analysis/svcca.js';

beforeAll(async () => {
  await initBackend('wasm');
});

describe('pearsonMatrixThreaded', () => {
  it('splits the tokens over a worker thread and gives the single-thread matrix', async () => {
    const rng = new Rng(6);
    const rows = 301;
    const cols = 33;
    const data = new Float32Array(rows * cols);
    for (let r = 0; r < rows; r++) {
      const f = rng.normal();
      for (let c = 0; c < cols; c++)
        data[r * cols + c] = rng.normal() + (c % 4 === 0 ? f : 0) + (c === 5 ? 0 : 0);
    }
    for (let r = 0; r < rows; r++) data[r * cols + 7] = 3; // a dead column
    const x = { data, rows, cols };
    const one = pearsonMatrix(x);
    const two = await pearsonMatrixThreaded(x, { threads: 2, chunkRows: 64, blockCols: 8 });
    expect(two.dead).toEqual([7]);
    expect(two.n).toBe(rows);
    for (let i = 0; i < one.corr.length; i++) expect(two.corr[i]).toBeCloseTo(one.corr[i], 5);
    expect(two.corr[4]).toBeGreaterThan(0.3); // columns 0 and 4 share a factor
  });
});

/** Two views of `n` paired rows that share a few directions, so the observed score is above its null. */
function pairedViews(n: number, d: number, seed: number) {
  const rng = new Rng(seed);
  const a = new Float32Array(n * d);
  const b = new Float32Array(n * d);
  for (let r = 0; r < n; r++) {
    const shared = [rng.normal(), rng.normal(), rng.normal()];
    for (let c = 0; c < d; c++) {
      a[r * d + c] = rng.normal() + shared[c % 3];
      b[r * d + c] = rng.normal() + shared[(c + 1) % 3];
    }
  }
  return { a: { data: a, rows: n, cols: d }, b: { data: b, rows: n, cols: d } };
}

describe('permutationNullThreaded', () => {
  it('gives exactly the one-thread SVCCA null (same permutations, same values) on 2 and 3 threads', async () => {
    const { a, b } = pairedViews(300, 40, 1);
    const prepared = prepareSvcca(a, b);
    const observed = svccaScoreForPermutation(
      prepared,
      Int32Array.from({ length: 300 }, (_, i) => i),
    );
    const one = permutationNull(observed, (p) => svccaScoreForPermutation(prepared, p), 300, {
      shuffles: 200,
      seed: 9,
    });
    for (const threads of [2, 3]) {
      const progress: number[] = [];
      const many = await permutationNullThreaded(
        observed,
        { measure: 'svcca', prepared },
        { shuffles: 200, seed: 9, threads, onProgress: (done) => progress.push(done) },
      );
      expect(Array.from(many.null)).toEqual(Array.from(one.null));
      expect([many.pValue, many.nullMean, many.nullSd]).toEqual([one.pValue, one.nullMean, one.nullSd]);
      expect(progress.at(-1)).toBe(200);
      expect(progress.every((d, i) => i === 0 || d > progress[i - 1])).toBe(true);
    }
    expect(one.pValue).toBeCloseTo(1 / 201, 10); // the shared directions beat every shuffle
  });

  it('gives exactly the one-thread RSA null', async () => {
    const { a, b } = pairedViews(600, 8, 2);
    const prepared = prepareRsa(a, b);
    const one = permutationNull(rsaScore(prepared), (p) => rsaScore(prepared, p), 600, {
      shuffles: 600,
      seed: 4,
    });
    const many = await permutationNullThreaded(
      rsaScore(prepared),
      { measure: 'rsa', prepared },
      { shuffles: 600, seed: 4, threads: 2 },
    );
    expect(Array.from(many.null)).toEqual(Array.from(one.null));
  });

  it('stops when progress throws or the signal aborts, and rejects with that reason', async () => {
    const { a, b } = pairedViews(300, 40, 3);
    const statistic = { measure: 'svcca', prepared: prepareSvcca(a, b) } as const;
    await expect(
      permutationNullThreaded(0.5, statistic, {
        shuffles: 5000,
        threads: 2,
        onProgress: (done) => {
          if (done >= 10) throw new Error('enough');
        },
      }),
    ).rejects.toThrow('enough');
    const controller = new AbortController();
    const t0 = performance.now();
    const run = permutationNullThreaded(0.5, statistic, {
      shuffles: 5000,
      threads: 2,
      signal: controller.signal,
      onProgress: () => controller.abort(new Error('cancelled by the user')),
    });
    await expect(run).rejects.toThrow('cancelled by the user');
    // A small null runs on this thread, and stops at the next shuffle after the abort too.
    const small = new AbortController();
    let evaluated = 0;
    const inThread = permutationNullThreaded(0.5, statistic, {
      shuffles: 50,
      threads: 2,
      signal: small.signal,
      onProgress: (done) => {
        evaluated = done;
        if (done === 10) small.abort(new Error('stop here'));
      },
    });
    await expect(inThread).rejects.toThrow('stop here');
    expect(evaluated).toBe(10);
    expect(performance.now() - t0).toBeLessThan(20_000); // 5,000 shuffles would take far longer
  });
});
