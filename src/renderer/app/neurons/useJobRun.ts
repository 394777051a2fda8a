// One job as a view runs it: start it, follow it through the shared jobs list, and read its result.
import { useCallback, useState } from 'react';
import type { JobOp } from '../../api/client.js';
import type { OpInput } from '../../../core/api.js';
import type { OpResult } from '../../../core/api.js';
import { useJobs, type JobView } from '../data.js';

export interface JobRun<N extends JobOp> {
  /** The job started last from here, running or ended. */
  job: JobView | undefined;
  running: boolean;
  /** The result of the last completed run. */
  result: OpResult<N> | undefined;
  /** Why the last run could not start or failed (the engine's message). */
  error: Error | undefined;
  start: (input: OpInput<N>) => Promise<void>;
  cancel: () => void;
}

/**
 * Starts `op` jobs and follows the latest started here; before that, `adopt` picks the newest matching job
 * started elsewhere (another view, or this panel before it was closed).
 */
export function useJobRun<N extends JobOp>(op: N, adopt?: (job: JobView) => boolean): JobRun<N> {
  const jobs = useJobs();
  const [id, setId] = useState<string>();
  const [startError, setStartError] = useState<Error>();
  const mine = id ? jobs.jobs.find((j) => j.id === id) : undefined;
  const job =
    mine ?? (adopt ? jobs.jobs.find((j) => j.op === op && j.status === 'running' && adopt(j)) : undefined);
  const start = useCallback(
    async (input: OpInput<N>) => {
      setStartError(undefined);
      try {
        const info = await jobs.start(op, input);
        setId(info.id);
      } catch (e) {
        setStartError(e instanceof Error ? e : new Error(String(e)));
      }
    },
    [jobs, op],
  );
  const cancel = useCallback(() => {
    if (job?.status === 'running') jobs.cancel(job.id).catch(() => {});
  }, [jobs, job]);
  const failed = job && (job.status === 'failed' || job.status === 'cancelled');
  return {
    job,
    running: job?.status === 'running',
    result: job?.status === 'completed' ? (job.result as OpResult<N>) : undefined,
    error: startError ?? (failed ? new Error(job.error ?? `the ${op} job was ${job.status}`) : undefined),
    start,
    cancel,
  };
}
