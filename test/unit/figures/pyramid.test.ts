// The heatmap's image pyramid: block means and block max-|r| against numpy (the matrix padded with NaN to a
// multiple of the factor, reshaped to blocks, reduced with nanmean / nanargmax of |x|), a pyramid level
// built by repeated halving against the direct reduction, the tiles a view needs, and the downsampled
// export of a matrix wider than the export limit.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { blockReduce, subGrid, type BlockReduction, type Grid } from '../../../src/shared/specs/pyramid.js';
import { EXPORT_SIDE, heatmapRegionSpec, heatmapSpec } from '../../../src/shared/specs/viewFigures.js';
import { TILE, visibleTiles } from '../../../src/renderer/app/heatmap/viewport.js';
import { Rng } from '../../../src/core/model/rng.js';
import type { OpResult } from '../../../src/core/api.js';
import { numpyPython, runPython } from '../store/python.js';

const dir = mkdtempSync(join(tmpdir(), 'monoscope-pyramid-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A rows × cols matrix of correlations-like values in [−1, 1], with a few NaN (dead neurons). */
function randomGrid(rows: number, cols: number, seed: number, nan = true): Grid {
  const rng = new Rng(seed);
  const values = Float32Array.from({ length: rows * cols }, () => Math.tanh(rng.normal()));
  if (nan) for (let k = 0; k < values.length; k += 37) values[k] = NaN;
  return { values, rows, cols };
}

const NUMPY_BLOCKS = `
import sys, json, numpy as np
rows, cols, f = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
m = np.fromfile(sys.argv[1], dtype='<f4').astype(np.float64).reshape(rows, cols)
R, C = -(-rows // f), -(-cols // f)
p = np.full((R * f, C * f), np.nan); p[:rows, :cols] = m
b = p.reshape(R, f, C, f).transpose(0, 2, 1, 3).reshape(R, C, f * f)
import warnings; warnings.simplefilter('ignore')
mean = np.nanmean(b, axis=2)
a = np.where(np.isnan(b), -np.inf, np.abs(b))
k = a.argmax(axis=2)
mx = np.take_along_axis(b, k[..., None], axis=2)[..., 0]
mx[np.all(np.isnan(b), axis=2)] = np.nan
print(json.dumps({'mean': [None if np.isnan(x) else x for x in mean.ravel().tolist()],
                  'maxabs': [None if np.isnan(x) else x for x in mx.ravel().tolist()]}))
`;

/** numpy's block reductions of `g` by `f`, NaN as null. */
function numpyBlocks(g: Grid, f: number): Record<BlockReduction, (number | null)[]> {
  const file = join(dir, `m-${g.rows}-${g.cols}-${f}.f32`);
  writeFileSync(file, Buffer.from(g.values.buffer, g.values.byteOffset, g.values.byteLength));
  return JSON.parse(runPython(numpyPython!, NUMPY_BLOCKS, [file, String(g.rows), String(g.cols), String(f)]));
}

function expectClose(got: Float32Array, want: (number | null)[]) {
  expect(got.length).toBe(want.length);
  for (let k = 0; k < got.length; k++) {
    if (want[k] === null) expect(got[k]).toBeNaN();
    else expect(Math.abs(got[k] - want[k]!)).toBeLessThan(1e-6);
  }
}

describe.skipIf(!numpyPython)('heatmap pyramid block reductions', () => {
  it('block means and block max |r| equal numpy’s, with partial blocks and NaN cells', () => {
    for (const [rows, cols, f] of [
      [9, 7, 2],
      [50, 61, 3],
      [64, 64, 8],
      [10, 10, 16],
    ]) {
      const g = randomGrid(rows, cols, rows * 100 + f);
      // An all-NaN block stays NaN.
      for (let i = 0; i < Math.min(f, rows); i++)
        for (let j = 0; j < Math.min(f, cols); j++) g.values[i * cols + j] = NaN;
      const want = numpyBlocks(g, f);
      for (const kind of ['mean', 'maxabs'] as const) {
        const got = blockReduce(g, f, kind);
        expect([got.rows, got.cols]).toEqual([Math.ceil(rows / f), Math.ceil(cols / f)]);
        expect(got.values[0]).toBeNaN();
        expectClose(got.values, want[kind]);
      }
    }
  });

  it('a pyramid level made by halving L times is the direct 2^L reduction', () => {
    // max |r| of maxima is the maximum over the whole block at any size; means of means are the block mean
    // when every block is whole and has no NaN (a side of a power of two).
    const odd = randomGrid(300, 300, 7);
    const whole = randomGrid(256, 256, 8, false);
    for (const [g, kind] of [
      [odd, 'maxabs'],
      [whole, 'maxabs'],
      [whole, 'mean'],
    ] as const) {
      let level = g;
      for (let L = 1; L <= 4; L++) {
        level = blockReduce(level, 2, kind);
        expectClose(level.values, numpyBlocks(g, 2 ** L)[kind]);
      }
    }
  });
});

describe('heatmap tiles and export', () => {
  it('cuts tiles out of a level and finds those a view overlaps', () => {
    const g = randomGrid(5, 6, 1);
    const s = subGrid(g, 1, 2, 3, 4);
    for (let i = 0; i < 3; i++)
      for (let j = 0; j < 4; j++) expect(s.values[i * 4 + j]).toBe(g.values[(1 + i) * 6 + 2 + j]);
    // Level 0 of an 8,192 matrix: 8 × 8 tiles; display cells 1,000–2,100 × 0–10 meet tile rows 0–2, column 0.
    expect(visibleTiles(8192, 1, [1000, 2100], [0, 10])).toEqual([
      [0, 0],
      [1, 0],
      [2, 0],
    ]);
    // Level 2 (4 cells a pixel, 2,048 px): the whole matrix is 2 × 2 tiles.
    expect(visibleTiles(2048, 4, [0, 8192], [0, 8192])).toHaveLength(4);
    expect(visibleTiles(2048, 4, [4 * TILE, 4 * TILE + 1], [4 * TILE - 1, 4 * TILE])).toEqual([[1, 0]]);
  });

  it('exports a matrix wider than the limit as block means, and says so in the caption', () => {
    const n = EXPORT_SIDE * 2 + 5;
    const g = randomGrid(n, n, 3);
    const order = Int32Array.from({ length: n }, (_, i) => n - 1 - i);
    const m = {
      checkpoint: 'a',
      tap: 'blocks.0.mlp.post',
      size: n,
      summary: { n: 100 },
      corr: g.values,
      order,
    } as unknown as OpResult<'correlation.matrix'>;
    const spec = heatmapSpec(m, 'cluster');
    if (spec.kind !== 'heatmap') throw new Error('not a heatmap');
    expect([spec.data.rows, spec.data.cols]).toEqual([Math.ceil(n / 3), Math.ceil(n / 3)]);
    expect(String((spec.options?.caption as Record<string, unknown>).downsampled)).toContain(
      'block means of 3 × 3 cells',
    );
    expect(spec.data.rowNames?.[1]).toBe('3–5');
    // Exported cell (1, 2): the mean of display rows 3–5 and columns 6–8, i.e. neurons n − 1 − those.
    let sum = 0;
    let count = 0;
    for (let i = 3; i < 6; i++)
      for (let j = 6; j < 9; j++) {
        const v = g.values[order[i] * n + order[j]];
        if (!Number.isNaN(v)) {
          sum += v;
          count++;
        }
      }
    expect(spec.data.values[1 * spec.data.cols + 2]).toBeCloseTo(sum / count, 6);
    // A small region is exported cell by cell, named by neuron, with no such note.
    const small = heatmapRegionSpec(m, 'cluster', [0, 10], [5, 20]);
    if (small.kind !== 'heatmap') throw new Error('not a heatmap');
    expect(small.data.colNames?.[0]).toBe(String(n - 1 - 5));
    expect((small.options?.caption as Record<string, unknown>).downsampled).toBeUndefined();
  });
});
