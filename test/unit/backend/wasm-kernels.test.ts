import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '../../helpers/backend.js';
import { Rng } from '../../../src/core/model/rng.js';

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

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
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
      const g = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(tf.gather(x, tf.tensor1d(ids, 'int32')), tf.tensor2d(upstream, [9, D]))))(w);
      return [g];
    };
    const [cpu] = await on('cpu', run);
    const [wasm] = await on('wasm', run);
    expect(maxAbsDiff(cpu, wasm)).toBeLessThan(1e-6);
    // Row 3 received three upstream rows: check one entry by hand.
    expect(cpu[3 * D]).toBeCloseTo(upstream[0] + upstream[2 * D] + upstream[5 * D], 5);
    expect(cpu[2 * D]).toBe(0);
  });

  it('unsortedSegmentSum on wasm equals cpu', async () => {
    const x = randn(6 * 3, 3);
    const seg = [2, 0, 2, 1, 0, 2];
    const run = () => [tf.unsortedSegmentSum(tf.tensor2d(x, [6, 3]), tf.tensor1d(seg, 'int32'), 4)];
    expect(maxAbsDiff((await on('cpu', run))[0], (await on('wasm', run))[0])).toBeLessThan(1e-6);
  });

  it('transposed batch matmuls on wasm equal cpu, all four flag combinations, batched and broadcast', async () => {
    const a = randn(3 * 8 * 5, 4);
    const b = randn(3 * 5 * 6, 5);
    for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]] as const) {
      const run = () => {
        const A = tf.tensor3d(a, ta ? [3, 5, 8] : [3, 8, 5]);
        const B = tf.tensor3d(b, tb ? [3, 6, 5] : [3, 5, 6]);
        return [tf.matMul(A, B, ta, tb), tf.matMul(tf.reshape(A, ta ? [15, 8] : [24, 5]).slice([0, 0], ta ? [5, 8] : [8, 5]), tf.slice(B, [0, 0, 0], [1, tb ? 6 : 5, tb ? 5 : 6]).reshape(tb ? [6, 5] : [5, 6]), ta, tb)];
      };
      const cpu = await on('cpu', run);
      const wasm = await on('wasm', run);
      expect(maxAbsDiff(cpu[0], wasm[0])).toBeLessThan(1e-4);
      expect(maxAbsDiff(cpu[1], wasm[1])).toBeLessThan(1e-4);
    }
  });

  it('the wasm matmul wrapper leaks no tensors', async () => {
    await useBackend('wasm');
    const A = tf.tensor2d(randn(8 * 5, 6), [8, 5]);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) {
      tf.tidy(() => {
        tf.matMul(A, A, true, false);
        tf.matMul(A, A, false, true);
      });
    }
    expect(tf.memory().numTensors).toBe(before);
    A.dispose();
  });
});
