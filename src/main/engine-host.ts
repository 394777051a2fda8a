/**
 * Runs the engine off the caller's thread: one long-lived worker answers queries, and each job gets a
 * worker of its own (so a training step never delays a query, and a job that ignores its cancel can be
 * stopped by ending its worker). At most `maxJobs` job workers run at once (each holds its own copy of the
 * engine, about 80 MB); later jobs wait in order, `queued`. Used by the HTTP server and by Electron's main
 * process.
 */
import { EventEmitter } from 'node:events';
import { Worker } from 'node:worker_threads';
import { randomUUID } from 'node:crypto';
import {
  OPS,
  isOpName,
  parseInput,
  ApiError,
  type EngineEvent,
  type JobEvent,
  type JobInfo,
  type JobStatus,
  type OpName,
} from '../core/api.js';

export type { EngineEvent, JobEvent, JobInfo, JobStatus };

export type WorkerRequest =
  | { type: 'call'; id: number; op: string; input: unknown }
  | { type: 'cancel'; id: number }
  | { type: 'close' };

export type WorkerReply =
  | { type: 'ready' }
  | { type: 'result'; id: number; value: unknown }
  | { type: 'error'; id: number; error: { code: string; message: string } }
  | { type: 'event'; id: number; event: EngineEvent };

interface Pending {
  resolve(v: unknown): void;
  reject(e: Error): void;
  onEvent?(e: EngineEvent): void;
}

class WorkerClient {
  readonly worker: Worker;
  private next = 1;
  private readonly pending = new Map<number, Pending>();
  /** Why the worker is gone (it failed to start, crashed or was ended); later calls fail with it. */
  private dead: Error | null = null;
  /** Resolves once the worker has opened the project; rejects with the reason it could not. */
  readonly ready: Promise<void>;

  constructor(projectDir: string, nativeBinding?: string, create = false) {
    this.worker = new Worker(new URL('./engine-worker.js', import.meta.url), {
      workerData: { projectDir, nativeBinding, create },
    });
    let opened = () => {};
    let failed: (e: Error) => void = () => {};
    this.ready = new Promise<void>((ok, fail) => {
      opened = ok;
      failed = fail;
    });
    this.worker.on('message', (m: WorkerReply) => {
      if (m.type === 'ready') return opened();
      const p = this.pending.get(m.id);
      if (!p) return;
      if (m.type === 'event') p.onEvent?.(m.event);
      else {
        this.pending.delete(m.id);
        if (m.type === 'result') p.resolve(m.value);
        else p.reject(new ApiError(m.error.code as 'failed', m.error.message));
      }
    });
    const failAll = (e: Error) => {
      failed(e);
      this.dead ??= e instanceof ApiError ? e : new ApiError('failed', `the engine failed: ${e.message}`);
      for (const p of this.pending.values()) p.reject(this.dead);
      this.pending.clear();
    };
    this.worker.on('error', failAll);
    this.worker.on('exit', (code) =>
      failAll(new ApiError('failed', `the engine worker exited (code ${code})`)),
    );
    // Held until the project is open (a caller may be waiting for nothing else), then let go.
    const unref = () => void this.worker.unref();
    this.ready.then(unref, unref);
  }

  call(
    op: string,
    input: unknown,
    onEvent?: (e: EngineEvent) => void,
  ): { id: number; done: Promise<unknown> } {
    const id = this.next++;
    if (this.dead) return { id, done: Promise.reject(this.dead) };
    const done = new Promise<unknown>((resolve, reject) =>
      this.pending.set(id, { resolve, reject, onEvent }),
    );
    this.worker.postMessage({ type: 'call', id, op, input } satisfies WorkerRequest);
    return { id, done };
  }

  cancel(id: number): void {
    this.worker.postMessage({ type: 'cancel', id } satisfies WorkerRequest);
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}

/** How many jobs an {@link EngineHost} runs at once unless told otherwise. */
export const DEFAULT_MAX_JOBS = 2;

export interface EngineHostOptions {
  /** Path of a better-sqlite3 build for this runtime's ABI (Electron's differs from Node's). */
  nativeBinding?: string;
  /** How many jobs run at once, each in a worker of its own (default {@link DEFAULT_MAX_JOBS}). */
  maxJobs?: number;
  /** Make the project when the folder has none (the app's Open Project); `serve` refuses a missing one. */
  create?: boolean;
}

/** A job that has not ended: queued (no worker yet) or running as call `callId` of its worker. */
interface LiveJob {
  info: JobInfo;
  worker?: { client: WorkerClient; callId: number };
}

/** Checks an op name and its input for `kind`; the op as an {@link OpName}. */
function checkOp(op: string, input: unknown, kind: 'query' | 'job'): OpName {
  if (!isOpName(op)) throw new ApiError('unknown-op', `unknown operation '${op.slice(0, 80)}'`);
  parseInput(op, input);
  if (OPS[op].kind !== kind) {
    throw new ApiError(
      'invalid-input',
      kind === 'query' ? `'${op}' is a job: start it with startJob` : `'${op}' is a query, not a job`,
    );
  }
  return op;
}

/** Hosts the engine for one project. Emits `job` events ({@link JobEvent}). */
export class EngineHost extends EventEmitter {
  readonly maxJobs: number;
  /** Resolves once the project is open; rejects with the reason (a missing, corrupt or foreign store). */
  readonly ready: Promise<void>;
  private readonly nativeBinding?: string;
  private readonly create: boolean;
  private readonly queries: WorkerClient;
  /** Queued and running jobs, in the order they were started. */
  private readonly jobs = new Map<string, LiveJob>();
  private readonly finished: JobInfo[] = [];

  /** `create`: a missing project folder or store becomes a new project (else the workers refuse it). */
  constructor(
    readonly projectDir: string,
    opts: EngineHostOptions = {},
  ) {
    super();
    this.maxJobs = opts.maxJobs ?? DEFAULT_MAX_JOBS;
    if (!Number.isInteger(this.maxJobs) || this.maxJobs < 1) {
      throw new RangeError(`maxJobs must be a whole number of at least 1, got ${this.maxJobs}`);
    }
    this.nativeBinding = opts.nativeBinding;
    this.create = opts.create ?? false;
    this.queries = new WorkerClient(projectDir, opts.nativeBinding, this.create);
    this.ready = this.queries.ready;
  }

  /** Runs a query in the query worker. Input is validated here first, so bad input never reaches a worker. */
  async query(op: string, input: unknown): Promise<unknown> {
    return this.queries.call(checkOp(op, input, 'query'), input).done;
  }

  /** Starts a job (or queues it while `maxJobs` run) and returns its info at once. */
  startJob(op: string, input: unknown): JobInfo {
    const info: JobInfo = {
      id: randomUUID(),
      op: checkOp(op, input, 'job'),
      input,
      status: 'queued',
      startedAt: new Date().toISOString(),
    };
    this.jobs.set(info.id, { info });
    this.startQueued();
    return info;
  }

  /** Starts queued jobs, oldest first, while fewer than `maxJobs` run. */
  private startQueued(): void {
    let running = [...this.jobs.values()].filter((j) => j.worker).length;
    for (const job of this.jobs.values()) {
      if (running >= this.maxJobs) return;
      if (job.worker) continue;
      this.run(job);
      running += 1;
    }
  }

  /** Runs a queued job in a worker of its own. */
  private run(job: LiveJob): void {
    const { info } = job;
    info.status = 'running';
    info.startedAt = new Date().toISOString();
    const client = new WorkerClient(this.projectDir, this.nativeBinding, this.create);
    const { id, done } = client.call(info.op, info.input, (event) => {
      if (event.kind === 'progress') info.progress = event;
      this.emit('job', { jobId: info.id, op: info.op, type: 'event', event } satisfies JobEvent);
    });
    job.worker = { client, callId: id };
    done.then(
      (result) => {
        const r = result as { status?: string; message?: string } | undefined;
        if (r?.status === 'cancelled') this.end(job, 'cancelled', r.message, result);
        else if (r?.status === 'failed') this.end(job, 'failed', r.message, result);
        else this.end(job, 'completed', undefined, result);
      },
      (e: Error & { code?: string }) =>
        this.end(job, e.code === 'cancelled' ? 'cancelled' : 'failed', e.message),
    );
  }

  /** Records a job's end, ends its worker, tells the listeners, and starts the next queued job. */
  private end(job: LiveJob, status: JobStatus, error?: string, result?: unknown): void {
    const { info } = job;
    info.status = status;
    info.endedAt = new Date().toISOString();
    info.error = error;
    info.result = result;
    this.jobs.delete(info.id);
    this.finished.unshift(info);
    this.finished.splice(50);
    void job.worker?.client.close();
    this.emit('job', { jobId: info.id, op: info.op, type: 'end', status, error, result } satisfies JobEvent);
    this.startQueued();
  }

  /**
   * Stops a job: a queued one at once; a running one is asked to stop (it saves its state first) and its
   * worker is ended if it has not stopped after `graceMs`. False when no such job is queued or running.
   */
  cancel(jobId: string, graceMs = 30_000): boolean {
    const j = this.jobs.get(jobId);
    if (!j) return false;
    const worker = j.worker;
    if (!worker) {
      this.end(j, 'cancelled', 'cancelled before it started');
      return true;
    }
    worker.client.cancel(worker.callId);
    setTimeout(() => {
      if (this.jobs.has(jobId)) void worker.client.close();
    }, graceMs).unref();
    return true;
  }

  /** Running and queued jobs first (in the order they were started), then the last 50 finished ones. */
  listJobs(): JobInfo[] {
    return [...[...this.jobs.values()].map((j) => j.info), ...this.finished];
  }

  async close(): Promise<void> {
    await Promise.all([
      this.queries.close(),
      ...[...this.jobs.values()].map((j) => j.worker?.client.close()),
    ]);
  }
}
