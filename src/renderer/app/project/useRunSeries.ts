// The stored metric series of several runs at once (`runs.metrics` per run), kept while a new request is
// in flight so the curves do not blink, plus the live steps of each run's training job.
import { useCallback, useEffect, useMemo, useState } from 'react';
import { useClient, useJobs, type JobView } from '../data.js';
import type { JobInfo } from '../../api/client.js';
import type { LiveStep, SeriesByName } from '../../../shared/specs/metrics.js';

export interface RunSeriesState {
  /** Stored series by run id (runs not yet in the store are absent). */
  data: Record<string, SeriesByName> | undefined;
  error: Error | undefined;
  loading: boolean;
  reload: () => void;
}

/** Reads `runs.metrics` for every id in `ids` (ids the store does not know yet are skipped). */
export function useRunSeries(ids: string[]): RunSeriesState {
  const client = useClient();
  const [nonce, setNonce] = useState(0);
  const key = `${JSON.stringify(ids)}#${nonce}`;
  const [state, setState] = useState<{ key: string; data?: Record<string, SeriesByName>; error?: Error }>({
    key: '',
  });
  useEffect(() => {
    let alive = true;
    const list = JSON.parse(key.slice(0, key.lastIndexOf('#'))) as string[];
    Promise.all(list.map((runId) => client.call('runs.metrics', { runId }))).then(
      (all) => alive && setState({ key, data: Object.fromEntries(list.map((id, i) => [id, all[i]])) }),
      (error: Error) => alive && setState((s) => ({ key, data: s.data, error })),
    );
    return () => {
      alive = false;
    };
  }, [client, key]);
  const reload = useCallback(() => setNonce((n) => n + 1), []);
  return {
    data: state.data,
    error: state.key === key ? state.error : undefined,
    loading: state.key !== key,
    reload,
  };
}

/** The training job of run `id`: the running one if any, else the latest. */
export function trainJobOf<J extends Pick<JobInfo, 'op' | 'input' | 'status'>>(
  jobs: J[],
  id: string,
): J | undefined {
  const mine = jobs.filter(
    (j) => j.op === 'train' && (j.input as { name?: unknown } | undefined)?.name === id,
  );
  return mine.find((j) => j.status === 'running') ?? mine[0];
}

/** A job's streamed steps and held-out evaluations as live steps. */
export function liveSteps(job: JobView | undefined): LiveStep[] {
  if (!job) return [];
  const steps: LiveStep[] = job.steps.map((s) => ({ step: s.done, metrics: s.metrics }));
  for (const r of job.records) {
    if (r.record !== 'eval') continue;
    const { step, ...rest } = r.data;
    if (typeof step !== 'number') continue;
    const metrics: Record<string, number> = {};
    for (const [k, v] of Object.entries(rest)) if (typeof v === 'number') metrics[k] = v;
    steps.push({ step, metrics });
  }
  return steps;
}

/** The live steps of every run in `ids`, by run id (memoised on the jobs). */
export function useLiveSteps(ids: string[]): Record<string, LiveStep[]> {
  const { jobs } = useJobs();
  const key = ids.join('\n');
  return useMemo(
    () => Object.fromEntries(key.split('\n').map((id) => [id, liveSteps(trainJobOf(jobs, id))])),
    [jobs, key],
  );
}

/**
 * The engine's jobs as listed once when the view opened (null until the answer comes), so that a run
 * marked running in the store can be told apart from an orphan before the shared job list has arrived.
 */
export function useListedJobs(): JobInfo[] | null {
  const client = useClient();
  const [listed, setListed] = useState<JobInfo[] | null>(null);
  useEffect(() => {
    let alive = true;
    client.listJobs().then(
      (jobs) => alive && setListed(jobs),
      () => alive && setListed([]),
    );
    return () => {
      alive = false;
    };
  }, [client]);
  return listed;
}
