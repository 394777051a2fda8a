/**
 * The real ceiling of the TF.js wasm backend's heap: allocates float32 tensors of 64 MiB on the wasm backend
 * until one fails, then tensors of 1 MiB until one fails, and prints one JSON object with the bytes held when it failed (`ceiling_bytes`), the
 * wasm memory's size then (`memory_bytes`, `HEAPU8.length`), and the error. The tensors are filled, so the
 * memory is really committed. An allocation fails when TF.js throws or when Emscripten's `malloc` returns
 * the null offset 0 (it does so quietly once the memory cannot grow: the tensor would overwrite the heap). The figure goes into `WASM_HEAP_LIMIT` (src/core/model/memory.ts).
 *
 *   npx tsx bench/wasm-heap.ts
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/core/backend/index.js';
import { isWasmBackend } from '../src/core/backend/wasm-heap.js';

const CHUNKS = [16 << 20, 1 << 18]; // float32 values: 64 MiB, then 1 MiB

await initBackend('wasm');
const be = tf.backend();
if (!isWasmBackend(be)) throw new Error('the wasm backend did not start');
const held: tf.Tensor[] = [];
let error = '';
let ceiling = 0;
for (const chunk of CHUNKS) {
  for (;;) {
    try {
      const t = tf.fill([chunk], 1, 'float32');
      if (!be.dataIdMap.get(t.dataId)?.memoryOffset) {
        error = 'malloc returned the null offset';
        break;
      }
      held.push(t);
      ceiling += chunk * 4;
    } catch (e) {
      error = (e as Error).message;
      break;
    }
  }
}
console.log(
  JSON.stringify({
    tensors: held.length,
    ceiling_bytes: ceiling,
    ceiling_gib: +(ceiling / 2 ** 30).toFixed(3),
    memory_bytes: be.wasm.HEAPU8.length,
    error,
  }),
);
