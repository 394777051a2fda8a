import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '../../helpers/backend.js';
import { Rng } from '../../../src/core/model/rng.js';
import { matMulPlan } from '../../../src/core/backend/wasm-kernels.js';

function randn(n: number, seed: number): Float32Array {
  const r = new Rng(seed);
  return Float32Array.from({ length: n }, () => r.normal());
}

/** Runs `f` on a backend and returns host arrays. */
async function on(name: 'cpu' | 'wasm', f: () => tf.Tensor[]): Promise<Float32Array[]> {
  await useBackend(name);
  const out = tf.tidy(f);
  const arrays = out.map((t) => Float32Array.from(t.dataSync()));
  out.forEach((t) => t.dispose());
  return arrays;
}

/** Runs `f` on cpu and on wasm and expects every output to agree within `tol` (relative to the largest value). */
async function sameOnBoth(f: () => tf.Tensor[], tol = 1e-5): Promise<Float32Array[]> {
  const cpu = await on('cpu', f);
  const wasm = await on('wasm', f);
  expect(wasm.length).toBe(cpu.length);
  cpu.forEach((c, i) => {
    const scale = Math.max(1, ...Array.from(c, Math.abs));
    expect(maxAbsDiff(c, wasm[i]) / scale).toBeLessThanOrEqual(tol);
  });
  return cpu;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/**
 * op(A) op(B) and the gradients of sum(op(A) op(B) * R) with respect to A and B (only the product when
 * the batch is broadcast: TF.js's BatchMatMul gradient does not reduce broadcast batch dims on any backend).
 */
function matMulAndGrads(
  aShape: number[],
  bShape: number[],
  ta: boolean,
  tb: boolean,
  seed: number,
): () => tf.Tensor[] {
  const broadcast = aShape.length !== bShape.length;
  const a = randn(
    aShape.reduce((x, y) => x * y, 1),
    seed,
  );
  const b = randn(
    bShape.reduce((x, y) => x * y, 1),
    seed + 1,
  );
  return () => {
    const A = tf.tensor(a, aShape);
    const B = tf.tensor(b, bShape);
    const C = tf.matMul(A, B, ta, tb);
    if (broadcast) return [C];
    const R = tf.tensor(randn(C.size, seed + 2), C.shape);
    const [gA, gB] = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(tf.matMul(x, y, ta, tb), R)))([
      A,
      B,
    ]);
    return [C, gA, gB];
  };
}

describe('wasm kernel fixes', () => {
  it('gather (embedding) gradients on wasm equal those on cpu, repeated ids included', async () => {
    const V = 11;
    const D = 5;
    const table = randn(V * D, 1);
    const upstream = randn(9 * D, 2);
    const ids = [3, 0, 3, 10, 7, 3, 0, 1, 9];
    const run = () => {
      const w = tf.tensor2d(table, [V, D]);
      const g = tf.grad((x: tf.Tensor) =>
        tf.sum(tf.mul(tf.gather(x, tf.tensor1d(ids, 'int32')), tf.tensor2d(upstream, [9, D]))),
      )(w);
      return [g];
    };
    const [cpu] = await on('cpu', run);
    const [wasm] = await on('wasm', run);
    expect(maxAbsDiff(cpu, wasm)).toBeLessThan(1e-6);
    // Row 3 received three upstream rows: check one entry by hand.
    expect(cpu[3 * D]).toBeCloseTo(upstream[0] + upstream[2 * D] + upstream[5 * D], 5);
    expect(cpu[2 * D]).toBe(0);
  });

  it('unsortedSegmentSum on wasm and on cpu (both ours) equal float64 sums; empty segments are 0', async () => {
    const x = randn(6 * 3, 3);
    const seg = [2, 0, 2, 1, 0, 2];
    const run = () => [tf.unsortedSegmentSum(tf.tensor2d(x, [6, 3]), tf.tensor1d(seg, 'int32'), 4)];
    const [cpu] = await on('cpu', run);
    const [wasm] = await on('wasm', run);
    expect(maxAbsDiff(cpu, wasm)).toBeLessThan(1e-6);
    for (let s = 0; s < 4; s++) {
      for (let k = 0; k < 3; k++) {
        let want = 0;
        seg.forEach((id, r) => (want += id === s ? x[r * 3 + k] : 0));
        expect(cpu[s * 3 + k]).toBeCloseTo(want, 6);
      }
    }
    expect(Array.from(cpu.slice(9))).toEqual([0, 0, 0]);
    await useBackend('cpu');
    const i = tf.tidy(() =>
      tf.unsortedSegmentSum(
        tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2], 'int32'),
        tf.tensor1d([1, 1, 0], 'int32'),
        2,
      ),
    );
    expect(i.dtype).toBe('int32');
    expect(Array.from(i.dataSync())).toEqual([5, 6, 4, 6]);
    i.dispose();
  });

  it('transposed batch matmuls on wasm equal cpu, all four flag combinations, batched and broadcast', async () => {
    const a = randn(3 * 8 * 5, 4);
    const b = randn(3 * 5 * 6, 5);
    for (const [ta, tb] of [
      [false, false],
      [true, false],
      [false, true],
      [true, true],
    ] as const) {
      const run = () => {
        const A = tf.tensor3d(a, ta ? [3, 5, 8] : [3, 8, 5]);
        const B = tf.tensor3d(b, tb ? [3, 6, 5] : [3, 5, 6]);
        return [
          tf.matMul(A, B, ta, tb),
          tf.matMul(
            tf.reshape(A, ta ? [15, 8] : [24, 5]).slice([0, 0], ta ? [5, 8] : [8, 5]),
            tf.slice(B, [0, 0, 0], [1, tb ? 6 : 5, tb ? 5 : 6]).reshape(tb ? [6, 5] : [5, 6]),
            ta,
            tb,
          ),
        ];
      };
      const cpu = await on('cpu', run);
      const wasm = await on('wasm', run);
      expect(maxAbsDiff(cpu[0], wasm[0])).toBeLessThan(1e-4);
      expect(maxAbsDiff(cpu[1], wasm[1])).toBeLessThan(1e-4);
    }
  });

  it('matmul: both plans (direct and via C^T), every flag combination, values and gradients equal cpu', async () => {
    // [2, 8] x [8, 64] is cheaper via C^T (the small op(A)^T becomes the packed weights), [64, 8] x [8, 2] directly.
    const cases = [
      { M: 2, K: 8, N: 64, plan: 'flipped' },
      { M: 64, K: 8, N: 2, plan: 'direct' },
    ];
    for (const { M, K, N, plan } of cases) {
      for (const ta of [false, true]) {
        for (const tb of [false, true]) {
          if (ta || tb) expect(matMulPlan(M, K, N, 1, 1, 1, ta, tb)).toBe(plan);
          const aShape = ta ? [K, M] : [M, K];
          const bShape = tb ? [N, K] : [K, N];
          const [c] = await sameOnBoth(matMulAndGrads(aShape, bShape, ta, tb, 10 + M), 1e-5);
          expect(c.length).toBe(M * N);
        }
      }
    }
  });

  it('matmul: attention-shaped rank-4 batches, shared weights folded into rows, and broadcast batches', async () => {
    // q k^T and att v over [batch, heads, T, hd], as in the model.
    await sameOnBoth(matMulAndGrads([2, 3, 7, 4], [2, 3, 7, 4], false, true, 20));
    await sameOnBoth(matMulAndGrads([2, 3, 7, 7], [2, 3, 7, 4], false, false, 21));
    await sameOnBoth(matMulAndGrads([2, 3, 7, 7], [2, 3, 7, 4], true, false, 22));
    // A batched, B shared (folded into one GEMM), and A shared across B's batch; transposed both ways.
    await sameOnBoth(matMulAndGrads([4, 6, 5], [5, 3], false, false, 23));
    await sameOnBoth(matMulAndGrads([4, 5, 6], [3, 5], true, true, 24));
    await sameOnBoth(matMulAndGrads([6, 5], [4, 5, 3], false, false, 25));
    await sameOnBoth(matMulAndGrads([5, 6], [4, 3, 5], true, true, 26));
  });

  it('matmul: hand-computed product, an empty inner dimension gives zeros, an inner mismatch names both shapes', async () => {
    await useBackend('wasm');
    // [[1,2],[3,4]]^T [[5,6],[7,8]] = [[1*5+3*7, 1*6+3*8], [2*5+4*7, 2*6+4*8]]
    const c = tf.tidy(() =>
      tf.matMul(tf.tensor2d([1, 2, 3, 4], [2, 2]), tf.tensor2d([5, 6, 7, 8], [2, 2]), true, false),
    );
    expect(Array.from(c.dataSync())).toEqual([26, 30, 38, 44]);
    c.dispose();
    const z = tf.tidy(() => tf.matMul(tf.zeros([3, 0]), tf.zeros([4, 0]), false, true));
    expect(z.shape).toEqual([3, 4]);
    expect(Array.from(z.dataSync())).toEqual(new Array(12).fill(0));
    z.dispose();
    expect(() => tf.tidy(() => tf.matMul(tf.zeros([3, 4]), tf.zeros([5, 2]), true, false))).toThrow(
      /\[3,4\].*\[5,2\]/,
    );
  });

  it('the wasm matmul wrapper leaks no tensors and no wasm memory', async () => {
    await useBackend('wasm');
    const A = tf.tensor2d(randn(8 * 5, 6), [8, 5]);
    const Q = tf.tensor4d(randn(2 * 2 * 6 * 3, 7), [2, 2, 6, 3]);
    const run = () =>
      tf.tidy(() => {
        tf.matMul(A, A, true, false);
        tf.matMul(A, A, false, true);
        tf.matMul(Q, Q, false, true);
        tf.matMul(Q, Q, true, false);
        tf.sum(A, 0);
        tf.mean(Q, [0, 1]);
      });
    run();
    const before = tf.memory();
    for (let i = 0; i < 5; i++) run();
    expect(tf.memory().numTensors).toBe(before.numTensors);
    expect(tf.memory().numBytes).toBe(before.numBytes);
    A.dispose();
    Q.dispose();
  });

  it('sum and mean over leading axes equal cpu and float64 sums, odd row counts and keepDims included', async () => {
    for (const [shape, axes] of [
      [[7, 3], [0]],
      [[13, 17], [0]],
      [
        [2, 9, 5],
        [0, 1],
      ],
      [[33, 4, 2], [0]],
      [[1, 5], [0]], // one row: stock kernel
      [[4, 5, 6], [1]], // not a leading block: stock kernel
      [
        [4, 5, 6],
        [0, 2],
      ],
    ] as [number[], number[]][]) {
      const x = randn(
        shape.reduce((a, b) => a * b, 1),
        shape[0] * 31 + shape.length,
      );
      const [sum, sumKeep, mean] = await sameOnBoth(() => {
        const t = tf.tensor(x, shape);
        return [tf.sum(t, axes), tf.sum(t, axes, true), tf.mean(t, axes)];
      }, 1e-6);
      if (axes.length === 1 && axes[0] === 0) {
        const C = x.length / shape[0];
        for (let c = 0; c < C; c++) {
          let s = 0;
          for (let r = 0; r < shape[0]; r++) s += x[r * C + c];
          expect(sum[c]).toBeCloseTo(s, 5);
          expect(mean[c]).toBeCloseTo(s / shape[0], 6);
        }
      }
      expect(sumKeep.length).toBe(sum.length);
    }
  });

  it('a full sum of 2^18 + 3 terms is pairwise on wasm: within 1e-6 of the float64 sum (a running float32 sum is not)', async () => {
    const n = (1 << 18) + 3;
    const r = new Rng(77);
    const x = Float32Array.from({ length: n }, () => 1e-3 * (1 + r.next()));
    let want = 0;
    for (const v of x) want += v;
    await useBackend('wasm');
    const [all, mean] = tf.tidy(() => {
      const t = tf.tensor2d(x.subarray(0, n - 3), [512, 512]);
      return [tf.sum(tf.tensor1d(x)).dataSync()[0], tf.mean(t).dataSync()[0]];
    });
    expect(Math.abs(all - want) / want).toBeLessThan(1e-6);
    let running = 0;
    for (const v of x) running = Math.fround(running + v);
    expect(Math.abs(running - want) / want).toBeGreaterThan(1e-5); // what the stock kernel's order gives
    let want2 = 0;
    for (let i = 0; i < n - 3; i++) want2 += x[i];
    expect(Math.abs(mean - want2 / (n - 3)) / (want2 / (n - 3))).toBeLessThan(1e-6);
  });

  it('bias and LayerNorm-gain gradients (leading-axis sums in backprop) equal cpu', async () => {
    const x = randn(9 * 4, 40);
    const g = randn(4, 41);
    await sameOnBoth(() => {
      const f = (b: tf.Tensor, w: tf.Tensor) =>
        tf.sum(tf.square(tf.add(tf.mul(tf.tensor2d(x, [9, 4]), w), b)));
      return tf.grads(f)([tf.zeros([4]), tf.tensor1d(g)]);
    });
  });

  it('gather copies rows along any axis, int32 too, and names an out-of-range index', async () => {
    const x = randn(5 * 6 * 20, 50);
    const ids = [4, 0, 4, 2];
    await sameOnBoth(() => {
      const t = tf.tensor3d(x, [5, 6, 20]);
      const i = tf.tensor1d(ids, 'int32');
      return [
        tf.gather(t, i, 0), // rows of 120 floats
        tf.gather(t, i, 1), // rows of 20
        tf.gather(t, i, 2), // single elements
        tf.gather(tf.tensor2d(x.slice(0, 10), [2, 5]), tf.tensor2d([1, 1, 0, 1], [2, 2], 'int32'), 1, 1), // batchDims 1
      ];
    }, 0);
    await useBackend('wasm');
    const n = tf.tidy(() =>
      tf.gather(tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2], 'int32'), tf.tensor1d([2, 0], 'int32')),
    );
    expect(n.dtype).toBe('int32');
    expect(Array.from(n.dataSync())).toEqual([5, 6, 1, 2]);
    n.dispose();
    expect(() => tf.tidy(() => tf.gather(tf.zeros([3, 2]), tf.tensor1d([1, 3], 'int32')))).toThrow(
      /index value 3 is not in \[0, 2\]/,
    );
  });

  it('transposes equal cpu for every permutation of rank 2 to 4, int32 too', async () => {
    const shape = [2, 3, 4, 5];
    const x = randn(120, 60);
    const perms = (n: number): number[][] =>
      n === 1
        ? [[0]]
        : perms(n - 1).flatMap((p) =>
            Array.from({ length: n }, (_, i) => [...p.slice(0, i), n - 1, ...p.slice(i)]),
          );
    for (const rank of [2, 3, 4]) {
      const sh = shape.slice(0, rank);
      const size = sh.reduce((a, b) => a * b, 1);
      await sameOnBoth(() => perms(rank).map((p) => tf.transpose(tf.tensor(x.slice(0, size), sh), p)), 0);
    }
    await useBackend('wasm');
    const t = tf.tidy(() => tf.transpose(tf.tensor3d([1, 2, 3, 4, 5, 6], [1, 2, 3], 'int32'), [0, 2, 1]));
    expect(t.shape).toEqual([1, 3, 2]);
    expect(Array.from(t.dataSync())).toEqual([1, 4, 2, 5, 3, 6]);
    t.dispose();
  });

  it('slices and splits equal cpu on ranks 1 to 4 (inner, outer and middle axes), int32 too, with gradients', async () => {
    const x = randn(2 * 3 * 4 * 20, 70);
    await sameOnBoth(() => {
      const t4 = tf.tensor4d(x, [2, 3, 4, 20]);
      const t2 = tf.tensor2d(x.slice(0, 6 * 40), [6, 40]);
      return [
        tf.slice(tf.tensor1d(x.slice(0, 30)), [4], [9]),
        tf.slice(t2, [1, 0], [3, 40]), // whole rows: one run
        tf.slice(t2, [0, 5], [6, 17]), // column block: a run per row
        tf.slice(t2, [2, 39], [4, 1]), // single elements
        tf.slice(t4, [1, 1, 0, 0], [1, 2, 4, 20]),
        tf.slice(t4, [0, 1, 2, 3], [2, 2, 2, 16]),
        ...tf.split(t2, [10, 20, 10], 1),
        ...tf.split(t4, 3, 1),
        ...tf.split(t4, 2, 3),
        tf.grad((v: tf.Tensor) => {
          const [p, q, r] = tf.split(v, 3, 1);
          return tf.sum(tf.add(tf.mul(p, 2), tf.mul(q, tf.mul(r, r))));
        })(tf.tensor2d(x.slice(0, 5 * 12), [5, 12])),
      ];
    }, 0);
    await useBackend('wasm');
    const s = tf.tidy(() => tf.slice(tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3], 'int32'), [0, 1], [2, 2]));
    expect(Array.from(s.dataSync())).toEqual([2, 3, 5, 6]);
    s.dispose();
  });

  it('identity and same-type casts share data safely; real casts still convert', async () => {
    await useBackend('wasm');
    const before = tf.memory().numBytes;
    const a = tf.tensor1d([1.5, -2.25, 3]);
    const b = tf.clone(a);
    const c = tf.cast(a, 'float32');
    a.dispose();
    expect(Array.from(b.dataSync())).toEqual([1.5, -2.25, 3]);
    b.dispose();
    expect(Array.from(c.dataSync())).toEqual([1.5, -2.25, 3]);
    const i = tf.cast(c, 'int32');
    expect(i.dtype).toBe('int32');
    expect(Array.from(i.dataSync())).toEqual([1, -2, 3]);
    const f = tf.cast(i, 'float32');
    expect(Array.from(f.dataSync())).toEqual([1, -2, 3]);
    for (const t of [c, i, f]) t.dispose();
    expect(tf.memory().numBytes).toBe(before);
  });
});
