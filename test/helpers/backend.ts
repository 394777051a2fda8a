/** Test helpers: switch TF.js between the cpu and wasm backends inside one test process. */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/core/backend/index.js';
import { registerWasmFixes } from '../../src/core/backend/wasm-kernels.js';

let loaded = false;

/** Makes `name` the active backend (loading both backends and the wasm fixes once). */
export async function useBackend(name: 'cpu' | 'wasm'): Promise<void> {
  if (!loaded) {
    await initBackend('cpu'); // registers gradients and the cpu backend
    await import('@tensorflow/tfjs-backend-wasm');
    loaded = true;
  }
  await tf.setBackend(name);
  await tf.ready();
  if (name === 'wasm') registerWasmFixes();
}
