/**
 * Worker side of {@link pearsonMatrixThreaded}: receives a block of rows and the column statistics,
 * computes its partial Gram matrix with TF.js wasm (one wasm instance per thread), and posts it back.
 */
import { parentPort } from 'node:worker_threads';
import { initBackend } from '../backend/index.js';
import { accumulateGram, type ColumnScale } from './gram.js';

interface Job {
  x: Float32Array;
  rows: number;
  cols: number;
  scale: ColumnScale;
  chunkRows?: number;
  blockCols?: number;
}

parentPort!.on('message', async (job: Job) => {
  try {
    await initBackend('wasm');
    const g = accumulateGram({ x: job.x, cols: job.cols, scale: job.scale }, null, 0, job.rows, job);
    parentPort!.postMessage({ ok: true, gram: g }, [g.buffer as ArrayBuffer]);
  } catch (e) {
    parentPort!.postMessage({ ok: false, error: (e as Error).message });
  }
});
