/**
 * A cell worker thread of the study (see `scheduler.ts`): opens the project itself, and for each job trains
 * its checkpoint (skipped when its run completed and the checkpoint exists; an interrupted or cancelled run
 * resumes), then measures each of its cells (`measureCell`, cached in the store by content). Progress and
 * messages go back to the study's thread; `cancel` stops the job after the current step.
 */
import { existsSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { parseInput } from '../api.js';
import { CancelledError, type ProgressEvent, type Reporter } from '../ops/progress.js';
import { trainOp } from '../ops/train.js';
import { openProject } from '../store/project.js';
import { measureCell } from './measure.js';
import type { CellWorkerReply, CellWorkerRequest, JobOutcome, StudyJob } from './scheduler.js';

const { projectDir, nativeBinding } = workerData as { projectDir: string; nativeBinding?: string };
const project = openProject(projectDir, { ...(nativeBinding && { nativeBinding }) });
const port = parentPort!;
let controller: AbortController | undefined;

const send = (m: CellWorkerReply) => port.postMessage(m);
const reporter: Reporter = {
  progress: (event: ProgressEvent) => send({ type: 'progress', event }),
  message: (text: string) => send({ type: 'message', text }),
};

/** Whether a checkpoint is made: its run completed and its folder exists (or it is a given model). */
function trained(name: string): boolean {
  const ck = project.store.checkpoints.get(name);
  const run = project.store.runs.get(name);
  return !!ck && existsSync(ck.dir) && (!run || run.status === 'completed');
}

/** Trains the job's checkpoint unless it is made, then measures its cells. */
async function runJob(job: StudyJob, threads: number | undefined, signal: AbortSignal): Promise<JobOutcome> {
  let trainSeconds = 0;
  if (job.train && !trained(job.checkpoint)) {
    const started = performance.now();
    const req = parseInput('train', { ...job.train, ...(threads && { threads }) });
    const r = await trainOp(project, req, reporter, signal);
    if (r.status !== 'completed') return { status: r.status, message: r.message };
    trainSeconds = (performance.now() - started) / 1000;
  }
  for (const { cell, measure } of job.cells) {
    if (signal.aborted) throw new CancelledError();
    send({ type: 'measuring', checkpoint: cell.checkpoint, task: cell.task, seed: cell.seed });
    const started = performance.now();
    await measureCell(project, cell, measure, reporter, signal);
    const seconds = { train: trainSeconds, measure: (performance.now() - started) / 1000 };
    send({ type: 'measured', checkpoint: cell.checkpoint, task: cell.task, seed: cell.seed, seconds });
  }
  return { status: 'completed' };
}

port.on('message', (m: CellWorkerRequest) => {
  if (m.type === 'cancel') return controller?.abort();
  if (m.type === 'close') {
    project.close();
    return process.exit(0);
  }
  controller = new AbortController();
  const signal = controller.signal;
  runJob(m.job, m.threads, signal)
    .catch((e: Error): JobOutcome => {
      const cancelled = signal.aborted || e instanceof CancelledError;
      return cancelled
        ? { status: 'cancelled', message: 'cancelled' }
        : { status: 'failed', message: e.message };
    })
    .then((outcome) => send({ type: 'done', outcome }));
});
