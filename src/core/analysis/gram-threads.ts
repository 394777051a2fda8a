/**
 * The Pearson matrix on several cores: TF.js's wasm backend is single-threaded in Node, so we split the
 * rows (tokens) between the main thread and `threads - 1` worker threads, each with its own wasm
 * instance, and add the partial Gram matrices: corr = sum over row blocks of Z_b^T Z_b.
 */
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { startWorkerScript } from '../worker-script.js';
import { activeBackend } from '../backend/index.js';
import type { CorrelationMatrix } from './correlation.js';
import { accumulateGram, columnScale } from './gram.js';
import { checkMatrix, type Matrix } from './matrix.js';

/** Starts a Gram worker thread (see {@link startWorkerScript}). */
function startWorker(): Worker {
  return startWorkerScript(import.meta.url, 'gram-worker');
}

/**
 * {@link pearsonMatrix} on `threads` threads (default: the number of cores, at most 2 extra workers per
 * call). Same numbers up to float32 summation order. Call initBackend('wasm') first.
 */
export async function pearsonMatrixThreaded(
  x: Matrix,
  opts: { threads?: number; chunkRows?: number; blockCols?: number } = {},
): Promise<CorrelationMatrix> {
  if (!activeBackend())
    throw new Error('pearsonMatrixThreaded: call initBackend() (src/core/backend) before using TF.js');
  checkMatrix(x, 'pearsonMatrixThreaded input');
  if (x.rows < 2) throw new Error(`pearsonMatrixThreaded: need at least 2 rows (tokens), got ${x.rows}`);
  const threads = Math.max(1, Math.min(opts.threads ?? availableParallelism(), 3, Math.floor(x.rows / 2)));
  const workers = Array.from({ length: threads - 1 }, startWorker);
  try {
    const scale = columnScale(x.data, x.rows, x.cols);
    const per = Math.ceil(x.rows / threads);
    const partials = workers.map(
      (w, i) =>
        new Promise<Float32Array>((resolve, reject) => {
          const r0 = (i + 1) * per;
          const r1 = Math.min(x.rows, r0 + per);
          const part = x.data.slice(r0 * x.cols, r1 * x.cols);
          w.once('message', (m: { ok: boolean; gram?: Float32Array; error?: string }) =>
            m.ok ? resolve(m.gram!) : reject(new Error(`Gram worker: ${m.error}`)),
          );
          w.once('error', reject);
          w.postMessage(
            {
              x: part,
              rows: r1 - r0,
              cols: x.cols,
              scale,
              chunkRows: opts.chunkRows,
              blockCols: opts.blockCols,
            },
            [part.buffer],
          );
        }),
    );
    const corr = accumulateGram({ x: x.data, cols: x.cols, scale }, null, 0, Math.min(x.rows, per), opts);
    for (const g of await Promise.all(partials)) for (let i = 0; i < corr.length; i++) corr[i] += g[i];
    const dead: number[] = [];
    for (let i = 0; i < x.cols; i++) {
      if (scale.invNorm[i] === 0) dead.push(i);
      corr[i * x.cols + i] = 1;
    }
    return { corr, size: x.cols, n: x.rows, dead };
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
