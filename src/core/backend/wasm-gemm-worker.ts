/**
 * The second core's half of a big matrix product (see `wasm-threads.ts`). Runs its own TF.js wasm
 * instance and waits on a shared control block; for each job it copies the rows of `in` and the weights
 * from the shared buffer into its heap, runs XNNPACK's GEMM there, and copies the product back.
 *
 * Control block (Int32Array over `ctrl`): [0] state (0 idle, 1 job, 2 new buffer on the port, -1 stop),
 * [1] M, [2] K, [3] N; the data buffer holds in [M, K], then w [K, N], then out [M, N], from offset 0.
 */
import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { heapAlloc, heapFree, isWasmBackend, xnnMatMul, type WasmBackend } from './wasm-heap.js';

const {
  ctrl: ctrlBuffer,
  data: firstData,
  port,
} = workerData as {
  ctrl: SharedArrayBuffer;
  data: SharedArrayBuffer;
  port: MessagePort;
};

await tf.setBackend('wasm');
await tf.ready();
const be = tf.backend() as unknown;
if (!isWasmBackend(be)) throw new Error('wasm GEMM worker: unexpected tfjs-backend-wasm internals');
const wasm: WasmBackend = be;
const ctrl = new Int32Array(ctrlBuffer);
let data = new Float32Array(firstData);
let heap = 0;
let heapFloats = 0;
parentPort!.postMessage('ready');

for (;;) {
  Atomics.wait(ctrl, 0, 0);
  const state = Atomics.load(ctrl, 0);
  if (state === -1) break;
  if (state === 2) {
    let m = receiveMessageOnPort(port);
    while (!m) m = receiveMessageOnPort(port); // posted just before the signal
    data = new Float32Array((m.message as { data: SharedArrayBuffer }).data);
  } else {
    const [M, K, N] = [ctrl[1], ctrl[2], ctrl[3]];
    const floats = M * K + K * N + M * N;
    if (floats > heapFloats) {
      if (heap) heapFree(wasm, heap);
      heap = heapAlloc(wasm, floats * 4);
      heapFloats = floats;
    }
    const h = wasm.wasm.HEAPF32;
    h.set(data.subarray(0, M * K + K * N), heap >>> 2);
    xnnMatMul(wasm, heap, heap + M * K * 4, heap + (M * K + K * N) * 4, M, K, N);
    const out = (heap >>> 2) + M * K + K * N;
    data.set(wasm.wasm.HEAPF32.subarray(out, out + M * N), M * K + K * N);
  }
  Atomics.store(ctrl, 0, 0);
  Atomics.notify(ctrl, 0);
}
