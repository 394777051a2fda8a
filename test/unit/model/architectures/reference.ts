/**
 * The independent references of test/python/reference/ (float64 PyTorch, written from each architecture's
 * published definition), driven from TypeScript: build a random-weight checkpoint in the exact Hugging Face
 * layout, run the reference on token ids, and compare our forward pass with it.
 */
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';
import { loadWeights } from '../../../../src/core/model/checkpoint.js';
import { disposeParams, forward, paramsFromArrays, tapNames } from '../../../../src/core/model/models.js';
import { readSafetensors } from '../../../../src/core/model/safetensors.js';
import { runScript } from '../../../helpers/python-script.js';

const RUN = join(import.meta.dirname, '../../../python/reference/run.py');

/** Runs run.py with `args` (by the interpreter this process keeps for it); throws with its stderr on failure. */
export function runReference(args: string[]): void {
  const r = runScript(RUN, args);
  if (r.status !== 0) throw new Error(`reference ${args[0]} failed: ${r.stderr}`);
}

export interface MakeOptions {
  dtype?: 'F32' | 'F16' | 'BF16';
  shards?: number;
  seed?: number;
  /** config.json overrides, as JSON values. */
  set?: Record<string, unknown>;
}

/** Writes a random-weight checkpoint of `modelType` (the reference's tiny config) into `dir`. */
export function makeReferenceCheckpoint(modelType: string, dir: string, o: MakeOptions = {}): string {
  const args = ['make', '--model-type', modelType, '--out', dir, '--dtype', o.dtype ?? 'F32'];
  args.push('--shards', String(o.shards ?? 1), '--seed', String(o.seed ?? 0));
  for (const [k, v] of Object.entries(o.set ?? {})) args.push('--set', `${k}=${JSON.stringify(v)}`);
  runReference(args);
  return dir;
}

/** The reference's log-probs and taps of a checkpoint on `ids`, by name (`logprobs`, `blocks.0.mlp.post`, ...). */
export function referenceForward(dir: string, ids: number[][], out: string) {
  runReference(['forward', '--checkpoint', dir, '--ids', JSON.stringify(ids), '--out', out]);
  return readSafetensors(out).tensors;
}

/** Our log-probs [B, T, V] and every tap of the model on `ids`, from the folder's weights. */
export function oursForward(dir: string, ids: number[][]) {
  const { config, arrays } = loadWeights(dir);
  const params = paramsFromArrays(config, arrays, false);
  const taps = tapNames(config);
  const out = new Map<string, Float32Array>();
  try {
    tf.tidy(() => {
      const r = forward(config, params, tf.tensor2d(ids, [ids.length, ids[0].length], 'int32'), { taps });
      out.set('logprobs', tf.logSoftmax(r.logits!).dataSync() as Float32Array);
      for (const [name, t] of r.taps) out.set(name, t.dataSync() as Float32Array);
    });
    return { config, out };
  } finally {
    disposeParams(params);
  }
}

/**
 * Our forward pass equals the reference: log-probs within 1e-4 relative (|ours - ref| <= 1e-4 max(1, |ref|)),
 * every tap within 1e-4 of its largest magnitude, and the two name the same taps.
 */
export function expectMatchesReference(dir: string, ids: number[][], scratch: string): void {
  const ref = referenceForward(dir, ids, scratch);
  const { out } = oursForward(dir, ids);
  expect([...out.keys()].sort()).toEqual([...ref.keys()].sort());
  for (const [name, ours] of out) {
    const want = ref.get(name)!.data;
    expect(ours.length, name).toBe(want.length);
    let scale = 0;
    for (const v of want) scale = Math.max(scale, Math.abs(v));
    let worst = 0;
    for (let i = 0; i < ours.length; i++) {
      const tol = name === 'logprobs' ? 1e-4 * Math.max(1, Math.abs(want[i])) : 1e-4 * Math.max(1, scale);
      worst = Math.max(worst, Math.abs(ours[i] - want[i]) / tol);
    }
    expect(worst, `${name}: worst error in units of the tolerance`).toBeLessThanOrEqual(1);
  }
}

/** Deterministic token ids [B, T] below `vocab`. */
export function tokenIds(B: number, T: number, vocab: number, seed = 1): number[][] {
  let s = seed;
  const next = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * vocab;
  return Array.from({ length: B }, () => Array.from({ length: T }, () => Math.floor(next())));
}
