/**
 * Permutation nulls of SVCCA and RSA on several cores. Each shuffle is independent, so worker threads
 * share them out: thread w of T evaluates shuffles s = w, w + T, w + 2T, ... It replays the seeded stream of
 * permutations from the start (drawing one costs O(n), against O(n k^2) or O(n^2) to evaluate it), so every
 * shuffle sees the permutation `permutationNull` would give it, and the result is exactly the one-thread
 * result. Both statistics are float64 JavaScript: no TF.js in the workers.
 */
import { availableParallelism } from 'node:os';
import { startWorkerScript } from '../worker-script.js';
import { nullSettings, permutationNull, summarizeNull, type PermutationNull } from './nulls.js';
import { rsaScore, type RsaPrepared } from './rsa.js';
import { svccaScoreForPermutation, type SvccaPrepared } from './svcca.js';

/** A statistic of prepared views, evaluated with B's rows permuted. */
export type NullStatistic =
  { measure: 'svcca'; prepared: SvccaPrepared } | { measure: 'rsa'; prepared: RsaPrepared };

/** The statistic of `s` under the permutation `perm` of B's rows. */
export function evaluateNullStatistic(s: NullStatistic, perm: ArrayLike<number>): number {
  return s.measure === 'svcca' ? svccaScoreForPermutation(s.prepared, perm) : rsaScore(s.prepared, perm);
}

/** Rough float64 operations of one shuffle, to decide whether threads pay for their start (~0.1 s each). */
function shuffleCost(s: NullStatistic): number {
  if (s.measure === 'rsa') return s.prepared.n * s.prepared.n;
  const { n, kA, kB } = s.prepared;
  const k = Math.min(kA, kB);
  return 2 * n * kA * kB + 5 * k * k * k;
}

/** Below this many operations in all, the null runs on the calling thread. */
const MIN_THREADED_WORK = 2e8;

export interface ThreadedNullOptions {
  shuffles?: number;
  seed?: number;
  /** Threads to use (default: the machine's cores, at most 8); 1 runs on the calling thread. */
  threads?: number;
  /** Called as shuffles finish (at least every 5 per thread); an exception thrown here stops the null. */
  onProgress?: (done: number, total: number) => void;
  /** Aborting stops the null at once (its workers, or the next shuffle); the promise rejects with `signal.reason`. */
  signal?: AbortSignal;
}

/** Message from a null worker. */
export type NullWorkerReply =
  | { type: 'progress'; done: number }
  | { type: 'done'; values: Float64Array }
  | { type: 'error'; message: string };

/** Message to a null worker: its share of the shuffles is s = worker, worker + threads, ... */
export interface NullWorkerJob {
  statistic: NullStatistic;
  shuffles: number;
  seed: number;
  worker: number;
  threads: number;
}

/**
 * The permutation null of `statistic` (see `permutationNull`: same permutations, same numbers), on
 * worker threads when the work is large enough to pay for them.
 */
export async function permutationNullThreaded(
  observed: number,
  statistic: NullStatistic,
  opts: ThreadedNullOptions = {},
): Promise<PermutationNull> {
  const [N, seed] = nullSettings(observed, opts);
  const n = statistic.prepared.n;
  const threads = Math.max(1, Math.min(opts.threads ?? availableParallelism(), 8, N));
  if (threads === 1 || N * shuffleCost(statistic) < MIN_THREADED_WORK) {
    let done = 0;
    return permutationNull(
      observed,
      (perm) => {
        opts.signal?.throwIfAborted();
        const v = evaluateNullStatistic(statistic, perm);
        if (++done % 5 === 0 || done === N) opts.onProgress?.(done, N);
        return v;
      },
      n,
      { shuffles: N, seed },
    );
  }
  opts.signal?.throwIfAborted();
  const workers = Array.from({ length: threads }, () => startWorkerScript(import.meta.url, 'null-worker'));
  const doneBy = new Int32Array(threads);
  let stop: (e: unknown) => void = () => {};
  const stopped = new Promise<never>((_, reject) => (stop = reject));
  const onAbort = () => stop(opts.signal!.reason);
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const shares = workers.map(
      (w, i) =>
        new Promise<Float64Array>((resolve, reject) => {
          w.on('message', (m: NullWorkerReply) => {
            if (m.type === 'done') return resolve(m.values);
            if (m.type === 'error') return reject(new Error(`permutation null worker: ${m.message}`));
            doneBy[i] = m.done;
            try {
              opts.onProgress?.(
                doneBy.reduce((a, b) => a + b, 0),
                N,
              );
            } catch (e) {
              stop(e);
            }
          });
          w.once('error', reject);
          w.once('exit', (code) => reject(new Error(`permutation null worker exited with code ${code}`)));
          w.postMessage({ statistic, shuffles: N, seed, worker: i, threads } satisfies NullWorkerJob);
        }),
    );
    // Once the null stops or one share fails, the others reject as their workers end: not unhandled.
    for (const share of shares) share.catch(() => {});
    const parts = await Promise.race([Promise.all(shares), stopped]);
    const values = new Float64Array(N);
    parts.forEach((part, w) => part.forEach((v, j) => (values[w + j * threads] = v)));
    return summarizeNull(observed, values, seed);
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    stopped.catch(() => {});
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
