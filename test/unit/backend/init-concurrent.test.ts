// `initBackend` is single-flight: calls made while the first setup runs (the engine worker's first burst of
// queries) wait for it instead of starting their own, so TF.js ends on one backend and every kernel runs.
// This file runs in a process of its own (vitest's forks pool), so its first call is the process's first.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { activeBackend, initBackend } from '../../../src/core/backend/index.js';

describe('initBackend under concurrent first use', () => {
  it('gives every concurrent caller the one backend it set up, and kernels run on it', async () => {
    expect(activeBackend()).toBeNull();
    const infos = await Promise.all(Array.from({ length: 6 }, () => initBackend('auto')));
    expect(new Set(infos).size).toBe(1);
    expect(infos[0].backend).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    const product = tf.matMul(tf.ones([2, 3]), tf.ones([3, 2]));
    expect(Array.from(await product.data())).toEqual([3, 3, 3, 3]);
    await expect(initBackend('cpu')).rejects.toThrow(/already 'wasm'.*cannot switch to 'cpu'/);
  });
});
