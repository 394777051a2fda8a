/**
 * How much memory a model needs on a backend, and the refusal when it does not fit: a model too big for the
 * machine must fail with the figure and the limit before its weights are read, not crash the process (the
 * wasm backend does not even throw: once its memory cannot grow, `malloc` returns offset 0 and the module
 * aborts).
 *
 * The estimate, in bytes, for P parameters and a forward pass over a batch of B sequences of T tokens:
 *   host      4 P                        the weights widened to float32 while loading
 *   backend   4 P                        the backend's copy (none on `cpu`, which keeps the host arrays)
 *   batch     4 B T (L (12 D + 3 M + 2 H T) + 2 V [logits only])
 * with L blocks, d_model D, d_mlp M, H heads and vocabulary V: a forward pass runs inside one `tf.tidy`, so
 * every block's intermediates (the residual, norms, q, k, v and projections, about 12 D per token; the MLP's
 * pre-activation, gate and neurons, 3 M; the attention scores and probabilities, 2 H T) are held until it
 * ends, and logits with their log-softmax add 2 V per token when the head runs.
 */
import { freemem } from 'node:os';
import type { ModelConfig } from './architecture.js';

/**
 * The most the TF.js wasm backend can hold: 4,261,412,864 bytes (3.97 GiB). tfjs-backend-wasm 4.22 is a
 * 32-bit wasm module whose memory grows to 65,535 pages of 64 KiB (4 GiB less 64 KiB); measured with
 * `npx tsx bench/wasm-heap.ts`, which fills float32 tensors on the wasm backend (64 MiB each, then 1 MiB
 * each) until `malloc` fails: 63 x 64 MiB + 32 x 1 MiB fitted, the rest is the module's own heap.
 */
export const WASM_HEAP_LIMIT = 4_261_412_864;

/** The environment variable that sets the memory limit (bytes, or a number with K, M, G or T, binary). */
export const MEMORY_LIMIT_ENV = 'MONOSCOPE_MEMORY_LIMIT';

/** The estimate's parts, in bytes (see the module comment). */
export interface MemoryEstimate {
  host: number;
  backend: number;
  batch: number;
  total: number;
}

/** A batch of a forward pass: B sequences of T tokens, with or without the head's logits. */
export interface BatchShape {
  sequences: number;
  tokens: number;
  logits?: boolean;
}

/** The memory a model of `params` parameters needs on `backend` for a forward pass over `batch`. */
export function estimateMemory(
  cfg: ModelConfig,
  params: number,
  backend: string,
  batch: BatchShape,
): MemoryEstimate {
  const { sequences: B, tokens: T } = batch;
  const perToken = cfg.nLayer * (12 * cfg.nEmbd + 3 * cfg.nInner + 2 * cfg.nHead * T);
  const host = 4 * params;
  const copy = backend === 'cpu' ? 0 : 4 * params;
  const act = 4 * B * T * (perToken + (batch.logits ? 2 * cfg.vocabSize : 0));
  return { host, backend: copy, batch: act, total: host + copy + act };
}

/** Parses a byte size: `1073741824`, `512M`, `1.5G` (K, M, G, T are powers of 1024). */
export function parseBytes(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)i?B?\s*$/i.exec(text);
  if (!m) throw new Error(`${MEMORY_LIMIT_ENV}: expected bytes such as 8G or 512M, got '${text}'`);
  const unit = ' KMGT'.indexOf(m[2].toUpperCase() || ' ');
  return Math.floor(Number(m[1]) * 1024 ** unit);
}

/** A memory limit in bytes, and what sets it. */
export interface MemoryLimit {
  bytes: number;
  source: string;
}

/**
 * The memory a model may use on `backend`: on the host, `MONOSCOPE_MEMORY_LIMIT` when set, else the
 * machine's available memory (`os.freemem()`, MemAvailable on Linux); on `wasm` also at most
 * {@link WASM_HEAP_LIMIT} for what lives in the wasm heap (the backend's copy and the batch).
 */
export function memoryLimits(backend: string): { host: MemoryLimit; heap?: MemoryLimit } {
  const env = process.env[MEMORY_LIMIT_ENV];
  const host = env
    ? { bytes: parseBytes(env), source: `${MEMORY_LIMIT_ENV}=${env}` }
    : { bytes: freemem(), source: 'available memory' };
  return backend === 'wasm'
    ? { host, heap: { bytes: WASM_HEAP_LIMIT, source: 'the wasm heap ceiling' } }
    : { host };
}

/** Bytes as GiB or MiB, for messages. */
export function formatBytes(n: number): string {
  return n >= 2 ** 30 ? `${(n / 2 ** 30).toFixed(2)} GiB` : `${(n / 2 ** 20).toFixed(1)} MiB`;
}

/** Why a model does not fit, or undefined when it does. */
function overLimit(e: MemoryEstimate, backend: string): string | undefined {
  const limits = memoryLimits(backend);
  const inHeap = e.backend + e.batch;
  if (limits.heap && inHeap > limits.heap.bytes)
    return `needs about ${formatBytes(inHeap)} in the wasm heap (${formatBytes(e.backend)} of weights + ${formatBytes(e.batch)} of activations), more than the limit of ${formatBytes(limits.heap.bytes)} (${limits.heap.source}); use --backend cpu or tensorflow`;
  const parts = `${formatBytes(e.host)} of float32 weights on the host${e.backend ? ` + ${formatBytes(e.backend)} for the ${backend} backend's copy` : ''} + ${formatBytes(e.batch)} of activations`;
  if (e.total > limits.host.bytes)
    return `needs about ${formatBytes(e.total)} on the ${backend} backend (${parts}), more than the limit of ${formatBytes(limits.host.bytes)} (${limits.host.source})`;
  return undefined;
}

/**
 * Refuses a model that does not fit (see {@link estimateMemory} and {@link memoryLimits}), with the figure
 * and the limit; `what` names it in the message.
 */
export function checkMemory(
  what: string,
  cfg: ModelConfig,
  params: number,
  backend: string,
  batch: BatchShape,
): void {
  const why = overLimit(estimateMemory(cfg, params, backend, batch), backend);
  if (why)
    throw new Error(
      `${what}: ${params.toLocaleString('en-US')} parameters ${why}, for a batch of ${batch.sequences} x ${batch.tokens} tokens`,
    );
}

/**
 * The largest batch of at most `wanted` sequences of `tokens` tokens that fits, for a model that fits with
 * one sequence; otherwise the refusal of {@link checkMemory} for one sequence.
 */
export function fittingBatch(
  what: string,
  cfg: ModelConfig,
  params: number,
  backend: string,
  tokens: number,
  wanted: number,
): number {
  checkMemory(what, cfg, params, backend, { sequences: 1, tokens });
  let b = wanted;
  while (b > 1 && overLimit(estimateMemory(cfg, params, backend, { sequences: b, tokens }), backend)) b >>= 1;
  return Math.max(1, b);
}
