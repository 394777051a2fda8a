/**
 * Our wasm kernels on tensors that live past 2 GiB in the wasm heap (a GPT-2-small forward pass grows the
 * heap to ~3 GiB). Byte offsets there do not fit a signed int32: an element index computed as
 * `offset >> 2` came out negative, and typed arrays' fill / copyWithin / subarray count negative indices
 * from the end of the heap, so these kernels read and wrote the wrong memory (the record crash:
 * "memory access out of bounds" in `_free` / `_dispose_data` on the corrupted allocator).
 *
 * A 2 GiB block is allocated first (never written, so it costs address space, not RAM) so that every
 * tensor and temporary buffer of the test lands above it. Expected values are computed here from the
 * definitions (index arithmetic for the copies, float64 sums and products).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '../../helpers/backend.js';
import { Rng } from '../../../src/core/model/rng.js';
import { heapAlloc, heapFree, offsetOf, type WasmBackend } from '../../../src/core/backend/wasm-heap.js';

const GiB = 2 ** 30;
let be: WasmBackend;
let filler = 0;

function randn(n: number, seed: number): Float32Array {
  const r = new Rng(seed);
  return Float32Array.from({ length: n }, () => r.normal());
}

/** A float32 tensor whose data lies above 2 GiB in the wasm heap (asserted, so the test cannot pass vacuously). */
function high(values: Float32Array | Int32Array, shape: number[]): tf.Tensor {
  const t = tf.tensor(values, shape, values instanceof Int32Array ? 'int32' : 'float32');
  expect(offsetOf(be, t)).toBeGreaterThanOrEqual(2 * GiB);
  return t;
}

function expectClose(actual: tf.Tensor, expected: ArrayLike<number>, tol = 0): void {
  const got = actual.dataSync();
  expect(got.length).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - expected[i]));
  expect(worst).toBeLessThanOrEqual(tol);
}

beforeAll(async () => {
  await useBackend('wasm');
  be = tf.backend() as unknown as WasmBackend;
  filler = heapAlloc(be, 2 * GiB);
});

afterAll(() => heapFree(be, filler));

describe('wasm kernels on tensors past 2 GiB of heap', () => {
  it('transposes (2-D and attention-head blocks) copy the right elements', () => {
    const [R, C] = [40, 24];
    const x = randn(R * C, 1);
    const t2 = tf.transpose(high(x, [R, C]));
    const want2 = new Float32Array(R * C);
    for (let r = 0; r < R; r++) for (let c = 0; c < C; c++) want2[c * R + r] = x[r * C + c];
    expectClose(t2, want2);

    const [B, T, H, D] = [2, 5, 3, 8];
    const y = randn(B * T * H * D, 2);
    const t4 = tf.transpose(high(y, [B, T, H, D]), [0, 2, 1, 3]);
    const want4 = new Float32Array(y.length);
    for (let b = 0; b < B; b++)
      for (let t = 0; t < T; t++)
        for (let h = 0; h < H; h++)
          for (let d = 0; d < D; d++) want4[((b * H + h) * T + t) * D + d] = y[((b * T + t) * H + h) * D + d];
    expectClose(t4, want4);
  });

  it('slices, splits and gathers copy the right rows', () => {
    const [A, Bn, C] = [3, 4, 20];
    const x = randn(A * Bn * C, 3);
    const xt = high(x, [A, Bn, C]);
    const at = (a: number, b: number, c: number): number => x[(a * Bn + b) * C + c];

    const s = tf.slice(xt, [1, 1, 0], [2, 2, C]);
    const wantS: number[] = [];
    for (let a = 1; a < 3; a++)
      for (let b = 1; b < 3; b++) for (let c = 0; c < C; c++) wantS.push(at(a, b, c));
    expectClose(s, wantS);

    const [p, q] = tf.split(xt, [5, 15], 2);
    const wantP: number[] = [];
    const wantQ: number[] = [];
    for (let a = 0; a < A; a++)
      for (let b = 0; b < Bn; b++) for (let c = 0; c < C; c++) (c < 5 ? wantP : wantQ).push(at(a, b, c));
    expectClose(p, wantP);
    expectClose(q, wantQ);

    const ids = [2, 0, 2, 1];
    const g = tf.gather(xt, high(Int32Array.from(ids), [ids.length]), 0);
    const wantG: number[] = [];
    for (const i of ids) for (let b = 0; b < Bn; b++) for (let c = 0; c < C; c++) wantG.push(at(i, b, c));
    expectClose(g, wantG);
  });

  it('leading-axis sums and means, segment sums and transposed matmuls equal float64 references', () => {
    const [R, C] = [7, 33];
    const x = randn(R * C, 4);
    const xt = high(x, [R, C]);
    const colSum = Array.from({ length: C }, (_, c) => {
      let acc = 0;
      for (let r = 0; r < R; r++) acc += x[r * C + c];
      return acc;
    });
    expectClose(tf.sum(xt, 0), colSum, 1e-5);
    expectClose(
      tf.mean(xt, 0),
      colSum.map((v) => v / R),
      1e-6,
    );

    const seg = [1, 0, 1, 3, 1, 0, 3];
    const segSum = new Float64Array(4 * C);
    seg.forEach((s, r) => {
      for (let c = 0; c < C; c++) segSum[s * C + c] += x[r * C + c];
    });
    expectClose(tf.unsortedSegmentSum(xt, high(Int32Array.from(seg), [R]) as tf.Tensor1D, 4), segSum, 1e-5);

    const [Bt, M, K, N] = [3, 20, 16, 24];
    const a = randn(Bt * M * K, 5);
    const b = randn(Bt * N * K, 6);
    const prod = new Float64Array(Bt * M * N); // C[i] = A[i] B[i]^T
    for (let i = 0; i < Bt; i++)
      for (let m = 0; m < M; m++)
        for (let n = 0; n < N; n++) {
          let acc = 0;
          for (let k = 0; k < K; k++) acc += a[(i * M + m) * K + k] * b[(i * N + n) * K + k];
          prod[(i * M + m) * N + n] = acc;
        }
    expectClose(tf.matMul(high(a, [Bt, M, K]), high(b, [Bt, N, K]), false, true), prod, 1e-4);
  });
});
