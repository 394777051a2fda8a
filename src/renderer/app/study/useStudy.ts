// A study as the view follows it: `study.get` read once, then again 1.5 s after each answer while the study
// runs (its lock is held, or a `study` job of this session runs it), and once more when a `study` job
// ends. Each read waits for the previous answer, so a busy engine (the grid's workers take the cores) is
// never sent reads that supersede one another before any is answered.
import { useEffect } from 'react';
import { useJobs, useQuery, useReloadOnJobEnd, type JobView } from '../data.js';
import { studyNameOf, type StudyData } from './study.js';

/** The pause between an answer and the next read of a running study. */
export const POLL_MS = 1500;

export interface StudyState {
  study: StudyData | null | undefined;
  error: Error | undefined;
  loading: boolean;
  reload: () => void;
  /** The latest `study` job of this session for the shown study (running, queued or ended). */
  job: JobView | undefined;
  /** The study's grid runs: its lock is held, or `job` runs or waits. */
  running: boolean;
}

/** The study named `name` (undefined: the most recently run). */
export function useStudy(name: string | undefined): StudyState {
  const q = useQuery('study.get', name ? { name } : {});
  const { jobs } = useJobs();
  useReloadOnJobEnd(q.reload, ['study']);
  const shown = name ?? q.data?.name;
  // The jobs list holds the newest first.
  const job = jobs.find((j) => j.op === 'study' && (shown === undefined || studyNameOf(j.input) === shown));
  const running = job?.status === 'running' || job?.status === 'queued' || Boolean(q.data?.running);
  const { reload, loading, data, error } = q;
  useEffect(() => {
    if (!running || loading) return;
    const timer = setTimeout(reload, POLL_MS);
    return () => clearTimeout(timer);
  }, [running, loading, data, error, reload]);
  return { study: q.data, error: q.error, loading: q.loading, reload, job, running };
}
