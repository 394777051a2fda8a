// The views' data layer: one API client for the app, a hook for queries (loading, error, reload), and the
// jobs of the engine (started, followed through their events, cancelled) shared by every view.
import {
  createContext,
  useCallback,
  useContext,
  useEffect,
  useMemo,
  useRef,
  useState,
  type ReactNode,
} from 'react';
import {
  createClient,
  type EngineEvent,
  type JobEvent,
  type JobInfo,
  type JobOp,
  type MonoscopeClient,
  type QueryOp,
} from '../api/client.js';
import type { OpInput } from '../../core/api.js';
import type { OpResult } from '../../core/api.js';

const ClientContext = createContext<MonoscopeClient | null>(null);

/** The app's API client (IPC in Electron, HTTP in a browser). */
export function useClient(): MonoscopeClient {
  const c = useContext(ClientContext);
  if (!c) throw new Error('useClient outside <DataProvider>');
  return c;
}

export interface QueryState<T> {
  data: T | undefined;
  error: Error | undefined;
  loading: boolean;
  /** Runs the query again (e.g. after a job finished). */
  reload: () => void;
}

/**
 * Runs a query when `input` changes (compared as JSON); `input === null` skips it. Keeps the previous data
 * while a new request is in flight, and ignores answers to superseded requests.
 */
export function useQuery<N extends QueryOp>(op: N, input: OpInput<N> | null): QueryState<OpResult<N>> {
  const client = useClient();
  const key = input === null ? null : JSON.stringify(input);
  const [nonce, setNonce] = useState(0);
  // The answer, tagged with the request it answers; `loading` is derived: the latest request has no answer yet.
  const [answer, setAnswer] = useState<{ request: string; data?: OpResult<N>; error?: Error } | null>(null);
  const request = key === null ? null : `${op}|${key}|${nonce}`;
  useEffect(() => {
    if (request === null || key === null) return;
    let current = true;
    (client.call as (op: N, input: unknown) => Promise<OpResult<N>>)(op, JSON.parse(key)).then(
      (data) => current && setAnswer({ request, data }),
      (error: Error) => current && setAnswer({ request, error }),
    );
    return () => {
      current = false;
    };
  }, [client, op, key, request]);
  const reload = useCallback(() => setNonce((n) => n + 1), []);
  if (request === null) return { data: undefined, error: undefined, loading: false, reload };
  const fresh = answer?.request === request;
  // While a new request is in flight, keep showing the previous data (no layout shift), not its error.
  return { data: answer?.data, error: fresh ? answer?.error : undefined, loading: !fresh, reload };
}

/** A job as the views follow it. */
export interface JobView extends JobInfo {
  /** The latest progress event. */
  latest?: Extract<EngineEvent, { kind: 'progress' }>;
  /** Every progress event's metrics, by step (training curves grow from these). */
  steps: { done: number; metrics: Record<string, number> }[];
  /** Records the job streamed (e.g. held-out evaluations), in order. */
  records: { record: string; data: Record<string, unknown> }[];
  messages: string[];
}

interface JobsContextValue {
  jobs: JobView[];
  start<N extends JobOp>(op: N, input: OpInput<N>): Promise<JobInfo>;
  cancel(id: string): Promise<void>;
  /** Calls `fn` when any job ends (views reload their data then). */
  onEnd(fn: (job: JobView) => void): () => void;
}

const JobsContext = createContext<JobsContextValue | null>(null);

function applyEvent(job: JobView, e: JobEvent): JobView {
  if (e.type === 'end')
    return { ...job, status: e.status, error: e.error, result: e.result, endedAt: new Date().toISOString() };
  const ev = e.event;
  if (job.status === 'queued') job = { ...job, status: 'running' }; // a job that reports has started
  if (ev.kind === 'progress') {
    const steps = ev.metrics
      ? [...job.steps.filter((s) => s.done !== ev.done), { done: ev.done, metrics: ev.metrics }]
      : job.steps;
    return { ...job, latest: ev, progress: ev, steps };
  }
  if (ev.kind === 'record')
    return { ...job, records: [...job.records, { record: ev.record, data: ev.data }] };
  return { ...job, messages: [...job.messages.slice(-199), ev.text] };
}

/** Provides the client and the jobs to the app. */
export function DataProvider({ children, client: given }: { children: ReactNode; client?: MonoscopeClient }) {
  const client = useMemo(() => given ?? createClient(), [given]);
  const [jobs, setJobs] = useState<JobView[]>([]);
  const endListeners = useRef(new Set<(job: JobView) => void>());

  useEffect(() => {
    let alive = true;
    client.listJobs().then(
      (list) =>
        alive &&
        setJobs((cur) =>
          mergeJobs(
            cur,
            list.map((j) => ({ ...j, steps: [], records: [], messages: [] })),
          ),
        ),
      () => {},
    );
    const off = client.onJobEvent((e) => {
      setJobs((cur) => {
        const i = cur.findIndex((j) => j.id === e.jobId);
        const base: JobView =
          i >= 0
            ? cur[i]
            : {
                id: e.jobId,
                op: e.op,
                input: undefined,
                status: 'running',
                startedAt: new Date().toISOString(),
                steps: [],
                records: [],
                messages: [],
              };
        const next = applyEvent(base, e);
        if (e.type === 'end') queueMicrotask(() => endListeners.current.forEach((fn) => fn(next)));
        return i >= 0 ? cur.map((j, k) => (k === i ? next : j)) : [next, ...cur];
      });
    });
    return () => {
      alive = false;
      off();
    };
  }, [client]);

  const value = useMemo<JobsContextValue>(
    () => ({
      jobs,
      start: async (op, input) => {
        const info = await (client.startJob as (op: JobOp, input: unknown) => Promise<JobInfo>)(op, input);
        setJobs((cur) =>
          cur.some((j) => j.id === info.id)
            ? cur
            : [{ ...info, steps: [], records: [], messages: [] }, ...cur],
        );
        return info;
      },
      cancel: (id) => client.cancelJob(id),
      onEnd: (fn) => {
        endListeners.current.add(fn);
        return () => endListeners.current.delete(fn);
      },
    }),
    [client, jobs],
  );

  return (
    <ClientContext.Provider value={client}>
      <JobsContext.Provider value={value}>{children}</JobsContext.Provider>
    </ClientContext.Provider>
  );
}

function mergeJobs(cur: JobView[], listed: JobView[]): JobView[] {
  const known = new Set(cur.map((j) => j.id));
  return [...cur, ...listed.filter((j) => !known.has(j.id))];
}

/** The engine's jobs, and how to start and cancel them. */
export function useJobs(): JobsContextValue {
  const c = useContext(JobsContext);
  if (!c) throw new Error('useJobs outside <DataProvider>');
  return c;
}

/** Reloads a query whenever a job of one of `ops` ends (e.g. the runs list after `train`). */
export function useReloadOnJobEnd(reload: () => void, ops: readonly JobOp[]): void {
  const { onEnd } = useJobs();
  const key = ops.join(',');
  useEffect(() => onEnd((j) => key.split(',').includes(j.op) && reload()), [onEnd, reload, key]);
}
