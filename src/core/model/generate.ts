/**
 * Sampling from a GPT: batched, one forward pass per new token over the whole (short) sequence. Rows are
 * right-padded; causal attention means a row's pads never influence its real tokens, so each row is read at
 * its own last position.
 */
import * as tf from '@tensorflow/tfjs-core';
import { forward, headLogits, modelHead } from './models.js';
import type { ModelConfig, Params } from './architecture.js';
import { Rng } from './rng.js';

export interface GenerateOptions {
  maxNewTokens: number;
  /** 0 = greedy. */
  temperature?: number;
  /** Sample among the k most likely tokens (0 = all). */
  topK?: number;
  seed?: number;
  /** Stop a row at this token (it is not included in the output). */
  stopId?: number;
  padId: number;
}

/** Continues each prompt; returns only the new tokens of each row. */
export async function generate(
  cfg: ModelConfig,
  params: Params,
  prompts: number[][],
  opts: GenerateOptions,
): Promise<number[][]> {
  const { maxNewTokens, temperature = 1, topK = 0, seed = 0, stopId, padId } = opts;
  const rng = new Rng(seed);
  const seqs = prompts.map((p) => {
    if (p.length === 0) throw new Error('cannot generate from an empty prompt');
    return p.slice(-(cfg.nCtx - 1));
  });
  const out: number[][] = prompts.map(() => []);
  const done = prompts.map(() => false);
  for (let step = 0; step < maxNewTokens && done.some((d) => !d); step++) {
    const active = seqs.map((_, i) => i).filter((i) => !done[i]);
    // Slide a window if a row would outgrow the context.
    for (const i of active)
      if (seqs[i].length >= cfg.nCtx) seqs[i] = seqs[i].slice(seqs[i].length - cfg.nCtx + 1);
    const T = Math.max(...active.map((i) => seqs[i].length));
    const ids = new Int32Array(active.length * T).fill(padId);
    const last = new Int32Array(active.length);
    active.forEach((i, r) => {
      seqs[i].forEach((id, t) => (ids[r * T + t] = id));
      last[r] = r * T + seqs[i].length - 1;
    });
    const logits = tf.tidy(() => {
      const { hidden } = forward(cfg, params, tf.tensor2d(ids, [active.length, T], 'int32'), {
        hiddenOnly: true,
      });
      const h = tf.gather(
        tf.reshape(hidden, [active.length * T, cfg.nEmbd]),
        tf.tensor1d(last, 'int32'),
      ) as tf.Tensor2D;
      return headLogits(modelHead(cfg, params), h);
    });
    const values = (await logits.data()) as Float32Array;
    logits.dispose();
    active.forEach((i, r) => {
      const row = values.subarray(r * cfg.vocabSize, (r + 1) * cfg.vocabSize);
      const next = sampleToken(row, temperature, topK, rng);
      if (stopId !== undefined && next === stopId) {
        done[i] = true;
        return;
      }
      out[i].push(next);
      seqs[i].push(next);
    });
  }
  return out;
}

/** Picks a token from logits: argmax when temperature is 0, else softmax(logits / temperature) over the top k. */
export function sampleToken(logits: Float32Array, temperature: number, topK: number, rng: Rng): number {
  if (temperature <= 0) {
    let best = 0;
    for (let v = 1; v < logits.length; v++) if (logits[v] > logits[best]) best = v;
    return best;
  }
  let idx = Array.from(logits.keys());
  if (topK > 0 && topK < logits.length) idx = idx.sort((a, b) => logits[b] - logits[a]).slice(0, topK);
  let max = -Infinity;
  for (const v of idx) max = Math.max(max, logits[v]);
  const w = idx.map((v) => Math.exp((logits[v] - max) / temperature));
  const total = w.reduce((a, b) => a + b, 0);
  let u = rng.next() * total;
  for (let j = 0; j < idx.length; j++) {
    u -= w[j];
    if (u <= 0) return idx[j];
  }
  return idx[idx.length - 1];
}
