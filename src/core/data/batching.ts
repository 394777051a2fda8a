/** Language-model training windows from labelled documents, and the held-out split of training data. */
import { Rng } from '../model/rng.js';
import type { LabelledSequence } from './types.js';

/** A seeded split of `items`: a shuffled `fraction` of them (at least one) held out, the rest to train on. */
export function splitHeldOut<T>(
  items: readonly T[],
  fraction: number,
  seed: number,
): { train: T[]; eval: T[] } {
  const order = new Rng(seed).shuffle([...items.keys()]);
  const nEval = Math.max(1, Math.floor(items.length * fraction));
  return { eval: order.slice(0, nEval).map((i) => items[i]), train: order.slice(nEval).map((i) => items[i]) };
}

/**
 * Packs documents into fixed-length LM windows, GPT-2 style: the stream `eos d1 eos d2 eos ...` is cut into
 * consecutive, non-overlapping windows of `nCtx` tokens; the incomplete tail is dropped. A model trained on
 * window w predicts w[t+1] from w[0..t] (labels = inputs shifted by one, as in Hugging Face's `group_texts`).
 */
export function packForLm(seqs: readonly LabelledSequence[], nCtx: number, eosId: number): Int32Array[] {
  if (!Number.isInteger(nCtx) || nCtx < 2) {
    throw new Error(`packForLm: nCtx must be an integer >= 2, got ${nCtx}`);
  }
  const total = seqs.reduce((n, s) => n + s.ids.length + 1, 0);
  const stream = new Int32Array(total);
  let at = 0;
  for (const s of seqs) {
    stream[at++] = eosId;
    stream.set(s.ids, at);
    at += s.ids.length;
  }
  const windows: Int32Array[] = [];
  for (let start = 0; start + nCtx <= total; start += nCtx) windows.push(stream.slice(start, start + nCtx));
  return windows;
}
