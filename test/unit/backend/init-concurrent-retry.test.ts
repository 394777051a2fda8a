// `initBackend` under concurrent first use, when the setup under way fails: a caller that asked for another
// backend then sets up its own, and a caller that asked for the same one gets the failure. A process of its
// own (vitest's forks pool), so the first call here is the process's first.
import { describe, expect, it } from 'vitest';
import { activeBackend, initBackend, listBackends } from '../../../src/core/backend/index.js';

describe('initBackend when the first setup fails', () => {
  it('gives the failure to callers of the same choice, and lets another choice set up its own', async (ctx) => {
    const tensorflow = (await listBackends()).find((b) => b.name === 'tensorflow')!;
    if (tensorflow.usable) ctx.skip('tfjs-node loads here, so a tensorflow setup does not fail');
    expect(activeBackend()).toBeNull();
    const [first, same, auto] = await Promise.allSettled([
      initBackend('tensorflow'),
      initBackend('tensorflow'),
      initBackend('auto'),
    ]);
    expect(first).toMatchObject({
      status: 'rejected',
      reason: { message: /no usable TF.js backend for 'tensorflow'/ },
    });
    expect(same).toMatchObject({ status: 'rejected', reason: (first as PromiseRejectedResult).reason });
    expect(auto).toMatchObject({ status: 'fulfilled', value: { backend: 'wasm' } });
    expect(activeBackend()?.backend).toBe('wasm');
  });
});
