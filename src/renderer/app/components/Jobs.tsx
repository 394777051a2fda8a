// Jobs everywhere: a progress bar with ETA for one job, and the toolbar's jobs strip (unfinished jobs with
// progress, ETA and cancel, and a list of the recent ones), visible from every view.
import { useEffect, useRef, useState } from 'react';
import { useJobs, type JobView } from '../data.js';
import { fmtDuration, fmtInt, fmtNumber } from './format.js';

type Progress = NonNullable<JobView['latest']>;

/** A short name for a job: its operation and what it works on (the run, the checkpoints, ...). */
export function jobLabel(job: Pick<JobView, 'op' | 'input'>): string {
  const input = (job.input ?? {}) as Record<string, unknown>;
  if (job.op === 'train' && typeof input.name === 'string') return `train ${input.name}`;
  if (job.op === 'compare' && Array.isArray(input.checkpoints))
    return `compare ${input.checkpoints.join(', ')}`;
  if (job.op === 'record' && typeof input.checkpoint === 'string') return `record ${input.checkpoint}`;
  if (job.op === 'sae.train' && typeof input.name === 'string') return `SAE ${input.name}`;
  if (job.op === 'crosscoder.train' && typeof input.name === 'string') return `crosscoder ${input.name}`;
  if (job.op === 'crosscoder.findings' && typeof input.name === 'string')
    return `findings of ${input.name}${input.seedBaseline === true ? ' (seed baseline)' : ''}`;
  if (job.op === 'diff.lens' && typeof input.a === 'string' && typeof input.b === 'string')
    return `lens ${input.a} → ${input.b}`;
  return job.op;
}

/**
 * Seconds left in the current phase of a job, from the rate since the phase was first seen (sampled once
 * a second); null until two samples of the phase exist or while nothing moves.
 */
export function useEta(latest: Progress | undefined): number | null {
  const [eta, setEta] = useState<number | null>(null);
  const current = useRef(latest);
  useEffect(() => {
    current.current = latest;
  });
  useEffect(() => {
    let start: { phase: string; t: number; done: number } | null = null;
    const id = setInterval(() => {
      const p = current.current;
      if (!p) return;
      const now = performance.now();
      if (!start || start.phase !== p.phase || p.done < start.done) {
        start = { phase: p.phase, t: now, done: p.done };
        setEta(null);
        return;
      }
      const rate = (p.done - start.done) / ((now - start.t) / 1000);
      setEta(rate > 0 ? Math.max(0, (p.total - p.done) / rate) : null);
    }, 1000);
    return () => clearInterval(id);
  }, []);
  return eta;
}

/** Whether a job has not ended: it runs, or waits for a free job worker. */
const isActive = (job: JobView) => job.status === 'running' || job.status === 'queued';

/** A job's progress: phase, a bar, done/total, ETA, and a Cancel button while it runs or waits its turn. */
export function JobProgress({ job, compact = false }: { job: JobView; compact?: boolean }) {
  const { cancel } = useJobs();
  const [cancelling, setCancelling] = useState(false);
  const [cancelError, setCancelError] = useState<string>();
  const p = job.latest;
  const eta = useEta(job.status === 'running' ? p : undefined);
  const fraction = p && p.total > 0 ? Math.min(1, p.done / p.total) : undefined;
  const label = jobLabel(job);
  const onCancel = () => {
    setCancelling(true);
    cancel(job.id).catch((e: Error) => {
      setCancelling(false);
      setCancelError(e.message);
    });
  };
  return (
    <div className={compact ? 'job-progress compact' : 'job-progress'} data-job={job.id}>
      <div className="job-line">
        <span className="job-label" title={label}>
          {label}
        </span>
        {p && (
          <span className="job-phase">
            {p.phase} {fmtInt(p.done)}/{fmtInt(p.total)} {p.unit ?? ''}
          </span>
        )}
        {compact && fraction !== undefined && <span className="job-eta">{Math.round(fraction * 100)}%</span>}
        {job.status === 'queued' && <span className="job-eta">queued</span>}
        {job.status === 'running' && (
          <span className="job-eta">
            {eta === null ? (p ? 'estimating…' : 'starting…') : `ETA ${fmtDuration(eta)}`}
          </span>
        )}
        {isActive(job) && (
          <button
            type="button"
            className="job-cancel"
            onClick={onCancel}
            disabled={cancelling}
            aria-label={`Cancel ${label}`}
          >
            {cancelling ? 'Cancelling…' : 'Cancel'}
          </button>
        )}
      </div>
      <div
        className="progress"
        role="progressbar"
        aria-label={`Progress of ${label}`}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={fraction === undefined ? undefined : Math.round(fraction * 100)}
      >
        <div className="progress-fill" style={{ width: `${(fraction ?? 0) * 100}%` }} />
      </div>
      {!compact && p?.metrics && (
        <p className="job-metrics">
          {['loss', 'rewards/margins', 'rewards/accuracies']
            .filter((k) => p.metrics![k] !== undefined)
            .map((k) => `${k} ${fmtNumber(p.metrics![k])}`)
            .join(' · ')}
        </p>
      )}
      {!compact && job.status === 'running' && job.messages.length > 0 && (
        <p className="job-metrics job-message">{job.messages[job.messages.length - 1].trim()}</p>
      )}
      {cancelError && (
        <p className="field-error" role="alert">
          {cancelError}
        </p>
      )}
    </div>
  );
}

const STATUS_TEXT: Record<JobView['status'], string> = {
  queued: 'queued',
  running: 'running',
  completed: 'done',
  failed: 'failed',
  cancelled: 'cancelled',
};

/** The toolbar's jobs: unfinished jobs inline (at most two), and a button listing them and recent jobs. */
export function JobsStrip() {
  const { jobs } = useJobs();
  const [open, setOpen] = useState(false);
  const active = jobs.filter(isActive);
  const queued = active.filter((j) => j.status === 'queued').length;
  const recent = jobs.filter((j) => !isActive(j)).slice(0, 8);
  const panel = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (open) panel.current?.focus();
  }, [open]);
  return (
    <div className="jobs-strip">
      {active.slice(0, 2).map((j) => (
        <JobProgress key={j.id} job={j} compact />
      ))}
      <button
        type="button"
        className="jobs-button"
        aria-expanded={open}
        aria-controls="jobs-panel"
        onClick={() => setOpen((o) => !o)}
      >
        Jobs{active.length > 0 ? ` · ${active.length - queued} running` : ''}
        {queued > 0 ? `, ${queued} queued` : ''}
      </button>
      {open && (
        <div
          id="jobs-panel"
          className="jobs-panel"
          role="dialog"
          aria-label="Jobs"
          tabIndex={-1}
          ref={panel}
          onKeyDown={(e) => {
            if (e.key === 'Escape') {
              e.stopPropagation();
              setOpen(false);
            }
          }}
        >
          <h2>Jobs</h2>
          {active.length === 0 && recent.length === 0 && (
            <p className="muted">No job has run in this session.</p>
          )}
          {active.map((j) => (
            <JobProgress key={j.id} job={j} />
          ))}
          {recent.length > 0 && (
            <ul className="jobs-recent">
              {recent.map((j) => (
                <li key={j.id}>
                  <span className={`badge status-${j.status}`}>{STATUS_TEXT[j.status]}</span> {jobLabel(j)}
                  {j.error && <span className="muted"> — {j.error}</span>}
                </li>
              ))}
            </ul>
          )}
          <button type="button" onClick={() => setOpen(false)}>
            Close
          </button>
        </div>
      )}
    </div>
  );
}
