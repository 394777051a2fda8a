import { afterAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '../../helpers/backend.js';
import { Rng } from '../../../src/core/model/rng.js';
import {
  startWasmGemmWorker,
  stopWasmGemmWorker,
  wasmGemmWorkerActive,
  wasmGemmWorkerJobs,
} from '../../../src/core/backend/wasm-threads.js';

function randn(n: number, seed: number): Float32Array {
  const r = new Rng(seed);
  return Float32Array.from({ length: n }, () => r.normal());
}

afterAll(() => stopWasmGemmWorker());

describe('wasm GEMM worker', () => {
  it('splits big products with a second thread and gets the same numbers as one thread', async () => {
    await useBackend('wasm');
    // Big enough for the worker (>= 128 rows, >= 2^23 multiply-adds); the last one outgrows the first
    // shared buffer (4 MiB), so the worker is handed a new one.
    const cases: [number[], number[], boolean, boolean][] = [
      [[300, 256], [256, 128], false, false],
      [[256, 300], [256, 128], true, false],
      [[300, 256], [128, 256], false, true],
      [[3, 100, 256], [256, 128], false, false], // batch folded into 300 rows
      [[2048, 512], [512, 512], false, false],
    ];
    const inputs = cases.map(([sa, sb], i) => [
      tf.tensor(
        randn(
          sa.reduce((x, y) => x * y),
          2 * i,
        ),
        sa,
      ),
      tf.tensor(
        randn(
          sb.reduce((x, y) => x * y),
          2 * i + 1,
        ),
        sb,
      ),
    ]);
    const products = () =>
      cases.map(([, , ta, tb], i) => {
        const c = tf.matMul(inputs[i][0], inputs[i][1], ta, tb);
        const d = c.dataSync();
        c.dispose();
        return d;
      });
    const one = products();
    await startWasmGemmWorker();
    expect(wasmGemmWorkerActive()).toBe(true);
    const jobs = wasmGemmWorkerJobs();
    const two = products();
    const again = products();
    expect(wasmGemmWorkerJobs() - jobs).toBe(2 * cases.length);
    // Small products stay on this thread.
    tf.tidy(() => tf.matMul(inputs[0][0], tf.zeros([256, 8])).dataSync());
    expect(wasmGemmWorkerJobs() - jobs).toBe(2 * cases.length);
    await stopWasmGemmWorker();
    expect(wasmGemmWorkerActive()).toBe(false);
    one.forEach((o, i) => {
      expect(two[i].length).toBe(o.length);
      // XNNPACK computes each output row the same way whichever thread runs it: bit-identical.
      expect(Array.from(two[i])).toEqual(Array.from(o));
      expect(Array.from(again[i])).toEqual(Array.from(o));
    });
    // A hand check of one entry of the first product (row 299 is computed by the worker).
    const [a, b] = [inputs[0][0].dataSync(), inputs[0][1].dataSync()];
    let s = 0;
    for (let k = 0; k < 256; k++) s += a[299 * 256 + k] * b[k * 128 + 5];
    expect(two[0][299 * 128 + 5]).toBeCloseTo(s, 3);
    inputs.flat().forEach((t) => t.dispose());
  });
});
