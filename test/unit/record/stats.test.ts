import { describe, expect, it } from 'vitest';
import { rowHash, TapStatsAccumulator } from '../../../src/core/record/stats.js';
import type { RecordingSettings, TapStatistics } from '../../../src/core/store/activations.js';
import { Rng } from '../../../src/core/model/rng.js';

const SETTINGS: RecordingSettings = {
  topK: 5,
  context: 2,
  activeThreshold: 0,
  histogramBins: 8,
  quantileGroups: 4,
  quantileSamplesPerGroup: 3,
  reservoirSize: 40,
  excludeSpecial: true,
  specialIds: [0],
};

interface Data {
  rows: number;
  n: number;
  /** column-major: neuron i = x[i * rows .. (i + 1) * rows) */
  x: Float32Array;
  eligible: Uint8Array;
  concept: Int16Array;
}

function randomData(seed: number, rows: number, n: number): Data {
  const rng = new Rng(seed);
  const x = new Float32Array(rows * n);
  for (let i = 0; i < x.length; i++)
    x[i] = Math.fround(rng.next() < 0.3 ? rng.normal() * 2 : -rng.next() * 0.1);
  for (let i = 0; i < n; i++) x[i * rows + 7] = 50; // a huge value on a special row: never a top example
  const eligible = new Uint8Array(rows).fill(1);
  eligible[7] = 0;
  eligible[0] = 0;
  const concept = Int16Array.from({ length: rows }, () => (rng.next() < 0.5 ? rng.int(3) : -1));
  return { rows, n, x, eligible, concept };
}

/** Feeds the data in batches of the given row boundaries, then the histogram pass. */
function run(d: Data, bounds: number[], settings = SETTINGS): TapStatistics {
  const acc = new TapStatsAccumulator({
    nNeurons: d.n,
    nRows: d.rows,
    settings,
    eligible: d.eligible,
    concept: d.concept,
    nConcepts: 3,
  });
  for (let b = 0; b + 1 < bounds.length; b++) {
    for (let i = 0; i < d.n; i++)
      acc.addTile(i, bounds[b], d.x.subarray(i * d.rows + bounds[b], i * d.rows + bounds[b + 1]));
  }
  return acc.result();
}

describe('TapStatsAccumulator', () => {
  it('merges tile moments exactly on a hand example (Chan et al.)', () => {
    const d: Data = {
      rows: 4,
      n: 1,
      x: Float32Array.from([1, 2, 3, 4]),
      eligible: new Uint8Array(4).fill(1),
      concept: Int16Array.from([0, 0, 1, -1]),
    };
    const s = run(d, [0, 2, 4]);
    expect(s.mean[0]).toBe(2.5);
    expect(s.std[0]).toBeCloseTo(Math.sqrt(1.25), 15);
    expect([s.min[0], s.max[0], s.density[0]]).toEqual([1, 4, 1]);
    expect(Array.from(s.conceptMeans)).toEqual([1.5, 3, NaN]);
    expect(Array.from(s.topRows.subarray(0, 4))).toEqual([3, 2, 1, 0]);
  });

  it('matches direct computations on random data, whatever the batch boundaries', () => {
    const d = randomData(3, 300, 6);
    const a = run(d, [0, 300]);
    const b = run(d, [0, 17, 18, 120, 299, 300]);
    for (let i = 0; i < d.n; i++) {
      const v = Array.from(d.x.subarray(i * d.rows, (i + 1) * d.rows));
      const mean = v.reduce((s, x) => s + x, 0) / v.length;
      const std = Math.sqrt(v.reduce((s, x) => s + (x - mean) ** 2, 0) / v.length);
      for (const s of [a, b]) {
        expect(s.mean[i]).toBeCloseTo(mean, 12);
        expect(s.std[i]).toBeCloseTo(std, 12);
        expect(s.min[i]).toBe(Math.min(...v));
        expect(s.max[i]).toBe(50);
        expect(s.density[i]).toBe(v.filter((x) => x > 0).length / v.length);
        // Top 5 of the eligible rows, by a full sort.
        const top = v
          .map((x, r) => [x, r])
          .filter(([, r]) => d.eligible[r])
          .sort((p, q) => q[0] - p[0] || p[1] - q[1])
          .slice(0, 5);
        expect(Array.from(s.topRows.subarray(i * 5, i * 5 + 5))).toEqual(top.map((t) => t[1]));
        expect(Array.from(s.topValues.subarray(i * 5, i * 5 + 5))).toEqual(top.map((t) => t[0]));
        for (let c = 0; c < 3; c++) {
          const sel = v.filter((_, r) => d.concept[r] === c);
          expect(s.conceptMeans[i * 3 + c]).toBeCloseTo(sel.reduce((p, x) => p + x, 0) / sel.length, 12);
        }
      }
    }
    // Order-independent parts are identical across batchings.
    expect(b.topRows).toEqual(a.topRows);
    expect(b.quantileRows).toEqual(a.quantileRows);
  });

  it('cuts quantile groups from the R active eligible rows of smallest hash', () => {
    const d = randomData(5, 400, 3);
    const s = run(d, [0, 100, 400]);
    const { quantileGroups: G, quantileSamplesPerGroup: S, reservoirSize: R } = SETTINGS;
    for (let i = 0; i < d.n; i++) {
      const v = d.x.subarray(i * d.rows, (i + 1) * d.rows);
      const sketch = Array.from(v, (x, r) => ({ x, r, h: rowHash(r) }))
        .filter((e) => e.x > 0 && d.eligible[e.r])
        .sort((p, q) => p.h - q.h || p.r - q.r)
        .slice(0, R)
        .sort((p, q) => p.x - q.x || p.r - q.r);
      expect(sketch.length).toBe(R);
      for (let g = 0; g < G; g++) {
        const group = sketch.slice((g * R) / G, ((g + 1) * R) / G);
        expect(s.quantileLo[i * G + g]).toBe(group[0].x);
        expect(s.quantileHi[i * G + g]).toBe(group[group.length - 1].x);
        const rows = Array.from(s.quantileRows.subarray((i * G + g) * S, (i * G + g + 1) * S));
        // Evenly spaced members of the group: indices floor((j + 0.5) * 10 / 3) = 1, 5, 8.
        expect(rows).toEqual([1, 5, 8].map((j) => group[j].r));
      }
    }
  });

  it('leaves groups empty when a neuron is rarely active, and never picks special rows', () => {
    const rows = 50;
    const x = new Float32Array(rows).fill(-1);
    x[3] = 2;
    x[10] = 1;
    x[0] = 9; // special
    const eligible = new Uint8Array(rows).fill(1);
    eligible[0] = 0;
    const s = run({ rows, n: 1, x, eligible, concept: new Int16Array(rows).fill(-1) }, [0, 25, 50]);
    expect(s.density[0]).toBeCloseTo(3 / 50, 15);
    const q = Array.from(s.quantileRows);
    expect(q.filter((r) => r >= 0).sort()).toEqual([10, 3]);
    expect(s.topRows[0]).toBe(3);
    expect(Array.from(s.topRows)).not.toContain(0);
  });
});
