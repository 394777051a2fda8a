/**
 * Host-side batch layout for preference training, built once per step outside the gradient closure.
 *
 * A batch of P pairs becomes 2P right-padded rows, TRL's concatenated order: rows 0..P-1 are prompt+chosen,
 * rows P..2P-1 prompt+rejected. Position t's logits predict token t+1, so a response token at position t is
 * scored at prediction position t-1. Everything the losses need is a flat index into [2P*T].
 */
import type { TokenizedPair } from '../data/types.js';

export interface PreferenceBatch {
  /** Number of pairs P. */
  pairs: number;
  /** Padded length T. */
  T: number;
  /** [2P*T] token ids, right-padded. */
  ids: Int32Array;
  /** Flat prediction positions (row*T + t-1) for every response token, row-major. */
  predIdx: Int32Array;
  /** The response token each prediction position must predict. */
  targets: Int32Array;
  /** Row of each response token. */
  rowOfToken: Int32Array;
  /** Flat positions of the response tokens themselves (row*T + t): where the DecPO activations are read. */
  respIdx: Int32Array;
  /** Response length of each row. */
  respLen: Int32Array;
  /** Flat position of each row's last real response token. */
  lastIdx: Int32Array;
  /** Flat position of each row's last padded position (row*T + T-1): the authors' "position -1". */
  padLastIdx: Int32Array;
}

/** Lays out P tokenized pairs as a {@link PreferenceBatch}; `padId` fills the tail of short rows. */
export function preferenceBatch(items: readonly TokenizedPair[], padId: number): PreferenceBatch {
  const P = items.length;
  const rows: { prompt: number[]; resp: number[] }[] = [];
  for (const it of items) rows.push({ prompt: it.prompt, resp: it.chosen });
  for (const it of items) rows.push({ prompt: it.prompt, resp: it.rejected });
  const T = Math.max(...rows.map((r) => r.prompt.length + r.resp.length));
  const ids = new Int32Array(2 * P * T).fill(padId);
  const nResp = rows.reduce((s, r) => s + r.resp.length, 0);
  const predIdx = new Int32Array(nResp);
  const targets = new Int32Array(nResp);
  const rowOfToken = new Int32Array(nResp);
  const respIdx = new Int32Array(nResp);
  const respLen = new Int32Array(2 * P);
  const lastIdx = new Int32Array(2 * P);
  const padLastIdx = new Int32Array(2 * P);
  let k = 0;
  rows.forEach((r, row) => {
    if (r.prompt.length === 0)
      throw new Error('a preference example has an empty prompt (needs at least one token)');
    if (r.resp.length === 0) throw new Error('a preference example has an empty response');
    const base = row * T;
    r.prompt.forEach((id, t) => (ids[base + t] = id));
    r.resp.forEach((id, j) => {
      const t = r.prompt.length + j;
      ids[base + t] = id;
      predIdx[k] = base + t - 1;
      targets[k] = id;
      rowOfToken[k] = row;
      respIdx[k] = base + t;
      k++;
    });
    respLen[row] = r.resp.length;
    lastIdx[row] = base + r.prompt.length + r.resp.length - 1;
    padLastIdx[row] = base + T - 1;
  });
  return { pairs: P, T, ids, predIdx, targets, rowOfToken, respIdx, respLen, lastIdx, padLastIdx };
}

/** A next-token batch: [B, T] windows; every position but the last predicts the next token. */
export interface LmBatch {
  B: number;
  T: number;
  ids: Int32Array;
  predIdx: Int32Array;
  targets: Int32Array;
  /** 1 where the target counts (not padding, and for SFT only response tokens). */
  weights: Float32Array;
}

/** Lays out fixed-length LM windows (each of length T) as an {@link LmBatch}, ignoring targets equal to `padId`. */
export function lmBatch(windows: readonly ArrayLike<number>[], padId: number): LmBatch {
  const B = windows.length;
  const T = windows[0].length;
  const ids = new Int32Array(B * T);
  windows.forEach((w, b) => {
    if (w.length !== T) throw new Error(`LM windows must all have length ${T}, got ${w.length}`);
    for (let t = 0; t < T; t++) ids[b * T + t] = w[t];
  });
  const n = B * (T - 1);
  const predIdx = new Int32Array(n);
  const targets = new Int32Array(n);
  const weights = new Float32Array(n);
  let k = 0;
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T - 1; t++) {
      predIdx[k] = b * T + t;
      targets[k] = ids[b * T + t + 1];
      weights[k] = targets[k] === padId ? 0 : 1;
      k++;
    }
  }
  return { B, T, ids, predIdx, targets, weights };
}

/** SFT batch: prompt + chosen rows, loss on response tokens only. */
export function sftBatch(items: readonly TokenizedPair[], padId: number): LmBatch {
  const B = items.length;
  const T = Math.max(...items.map((it) => it.prompt.length + it.chosen.length));
  const ids = new Int32Array(B * T).fill(padId);
  const pred: number[] = [];
  const tgt: number[] = [];
  items.forEach((it, b) => {
    const seq = [...it.prompt, ...it.chosen];
    seq.forEach((id, t) => (ids[b * T + t] = id));
    for (let j = 0; j < it.chosen.length; j++) {
      const t = it.prompt.length + j;
      pred.push(b * T + t - 1);
      tgt.push(seq[t]);
    }
  });
  return {
    B,
    T,
    ids,
    predIdx: Int32Array.from(pred),
    targets: Int32Array.from(tgt),
    weights: new Float32Array(pred.length).fill(1),
  };
}
