/**
 * Worker side of {@link permutationNullThreaded}: replays the seeded permutations and evaluates the
 * statistic on its share of them (s = worker, worker + threads, ...), reporting progress every 5.
 */
import { parentPort } from 'node:worker_threads';
import { Rng } from '../model/rng.js';
import { evaluateNullStatistic, type NullWorkerJob, type NullWorkerReply } from './null-threads.js';
import { drawPermutation } from './nulls.js';

const post = (m: NullWorkerReply, transfer: ArrayBuffer[] = []) => parentPort!.postMessage(m, transfer);

parentPort!.once('message', (job: NullWorkerJob) => {
  try {
    const rng = new Rng(job.seed);
    const perm = new Int32Array(job.statistic.prepared.n);
    const values = new Float64Array(Math.ceil((job.shuffles - job.worker) / job.threads));
    let done = 0;
    for (let s = 0; s < job.shuffles; s++) {
      drawPermutation(rng, perm);
      if (s % job.threads !== job.worker) continue;
      values[done++] = evaluateNullStatistic(job.statistic, perm);
      if (done % 5 === 0 || done === values.length) post({ type: 'progress', done });
    }
    post({ type: 'done', values }, [values.buffer]);
  } catch (e) {
    post({ type: 'error', message: (e as Error).message });
  }
});
