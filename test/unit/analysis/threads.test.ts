import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/core/backend/index.js';
import { pearsonMatrix } from '../../../src/core/analysis/correlation.js';
import { pearsonMatrixThreaded } from '../../../src/core/analysis/gram-threads.js';
import { Rng } from '../../../src/core/model/rng.js';

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
