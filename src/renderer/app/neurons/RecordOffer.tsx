// What a view shows for a tap without a recording: why, and a button that starts the `record` job.
import { Empty, ErrorState } from '../components/States.js';
import type { JobView } from '../data.js';
import { JobProgress } from './JobProgress.js';
import { useJobRun } from './useJobRun.js';

/** Whether `job` records `tap` of `checkpoint` (its taps pattern may list several or use `*`). */
export function recordsTap(job: JobView, checkpoint: string, tap: string): boolean {
  const input = job.input as { checkpoint?: string; taps?: string } | undefined;
  if (!input || input.checkpoint !== checkpoint) return false;
  const patterns = (input.taps ?? 'blocks.*.mlp.post').split(',').map((s) => s.trim());
  return patterns.some((p) => new RegExp(`^${p.replace(/\./g, '\\.').replace(/\*/g, '[^.]+')}$`).test(tap));
}

export function RecordOffer({ checkpoint, tap, what }: { checkpoint: string; tap: string; what: string }) {
  const run = useJobRun('record', (j) => j.status === 'running' && recordsTap(j, checkpoint, tap));
  return (
    <div className="ms-record-offer">
      <Empty
        title={`${tap} of ${checkpoint} is not recorded yet`}
        action={
          run.running ? null : (
            <button type="button" className="ms-primary" onClick={() => run.start({ checkpoint, taps: tap })}>
              Record {tap} of {checkpoint}
            </button>
          )
        }
      >
        {what} come from a recording: the checkpoint run over the probe set (the built-in world's 20,000
        tokens), with each neuron's statistics and examples kept in the project's store. Recording one tap of
        a small model takes seconds.
      </Empty>
      {run.job && run.running && <JobProgress job={run.job} onCancel={run.cancel} />}
      {run.error && <ErrorState title="Recording failed" error={run.error} />}
    </div>
  );
}
