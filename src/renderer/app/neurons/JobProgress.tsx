// A running job: its phase, a progress bar with count and time left, its latest metrics, and Cancel.
import { useEffect, useState } from 'react';
import type { JobView } from '../data.js';
import { int, num } from './format.js';

/** Seconds as `1 min 05 s` or `12 s`. */
export function duration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '—';
  if (seconds < 60) return `${Math.round(seconds)} s`;
  const m = Math.floor(seconds / 60);
  return `${m} min ${String(Math.round(seconds - 60 * m)).padStart(2, '0')} s`;
}

export function JobProgress({ job, onCancel }: { job: JobView; onCancel?: () => void }) {
  const p = job.latest;
  const fraction = p && p.total > 0 ? Math.min(1, p.done / p.total) : undefined;
  // The clock ticks once a second while the job runs, for the time left.
  const [now, setNow] = useState(0);
  useEffect(() => {
    if (job.status !== 'running') return;
    const tick = () => setNow(Date.now());
    const timer = setInterval(tick, 1000);
    const first = setTimeout(tick, 0);
    return () => {
      clearInterval(timer);
      clearTimeout(first);
    };
  }, [job.status]);
  const elapsed = now > 0 ? (now - Date.parse(job.startedAt)) / 1000 : NaN;
  const left = fraction && fraction > 0.02 && elapsed > 0 ? (elapsed * (1 - fraction)) / fraction : undefined;
  const metrics = p?.metrics ? Object.entries(p.metrics).slice(0, 4) : [];
  return (
    <div className="ms-job" role="status" aria-live="polite">
      <div className="ms-job-line">
        <span className="spinner" aria-hidden="true" />
        <span className="ms-job-phase">{p?.phase ?? `${job.op}: starting`}</span>
        {p && (
          <span className="ms-muted">
            {int(p.done)} / {int(p.total)} {p.unit ?? ''}
            {left !== undefined && ` · about ${duration(left)} left`}
          </span>
        )}
        {onCancel && job.status === 'running' && (
          <button type="button" onClick={onCancel}>
            Cancel
          </button>
        )}
      </div>
      <div
        className="ms-progress"
        role="progressbar"
        aria-label={`${job.op} progress`}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={fraction === undefined ? undefined : Math.round(100 * fraction)}
      >
        <div
          className={fraction === undefined ? 'ms-progress-bar indeterminate' : 'ms-progress-bar'}
          style={{ width: `${100 * (fraction ?? 0.3)}%` }}
        />
      </div>
      {metrics.length > 0 && (
        <div className="ms-muted ms-small">{metrics.map(([k, v]) => `${k} ${num(v)}`).join(' · ')}</div>
      )}
      {job.messages.length > 0 && (
        <div className="ms-muted ms-small">{job.messages[job.messages.length - 1]}</div>
      )}
    </div>
  );
}
