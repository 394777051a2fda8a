/**
 * Runs the engine off the caller's thread: one long-lived worker answers queries, and each job gets a
 * worker of its own (so a training step never delays a query, and a job that ignores its cancel can be
 * stopped by ending its worker). Used by the HTTP server and by Electron's main process.
 */
import { EventEmitter } from 'node:events';
import { Worker } from 'node:worker_threads';
import { randomUUID } from 'node:crypto';
import {
  OPS,
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

  constructor(projectDir: string, nativeBinding?: string, create = false) {
    this.worker = new Worker(new URL('./engine-worker.js', import.meta.url), {
      workerData: { projectDir, nativeBinding, create },
    });
    this.worker.on('message', (m: WorkerReply) => {
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
      this.dead ??= e instanceof ApiError ? e : new ApiError('failed', `the engine failed: ${e.message}`);
      for (const p of this.pending.values()) p.reject(this.dead);
      this.pending.clear();
    };
    this.worker.on('error', failAll);
    this.worker.on('exit', (code) =>
      failAll(new ApiError('failed', `the engine worker exited (code ${code})`)),
    );
    this.worker.unref();
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

/** Hosts the engine for one project. Emits `job` events ({@link JobEvent}). */
export class EngineHost extends EventEmitter {
  private readonly queries: WorkerClient;
  private readonly jobs = new Map<string, { info: JobInfo; client: WorkerClient; callId: number }>();
  private readonly finished: JobInfo[] = [];

  /** `create`: a missing project folder or store becomes a new project (else the workers refuse it). */
  constructor(
    readonly projectDir: string,
    private readonly nativeBinding?: string,
    private readonly create = false,
  ) {
    super();
    this.queries = new WorkerClient(projectDir, nativeBinding, create);
  }

  /** Runs a query in the query worker. Input is validated here first, so bad input never reaches a worker. */
  async query(op: string, input: unknown): Promise<unknown> {
    if (!(op in OPS)) throw new ApiError('unknown-op', `unknown operation '${op}'`);
    const name = op as OpName;
    parseInput(name, input);
    if (OPS[name].kind === 'job')
      throw new ApiError('invalid-input', `'${op}' is a job: start it with startJob`);
    return this.queries.call(op, input).done;
  }

  /** Starts a job in a worker of its own and returns its id at once. */
  startJob(op: string, input: unknown): JobInfo {
    if (!(op in OPS)) throw new ApiError('unknown-op', `unknown operation '${op}'`);
    const name = op as OpName;
    parseInput(name, input);
    if (OPS[name].kind !== 'job') throw new ApiError('invalid-input', `'${op}' is a query, not a job`);
    const info: JobInfo = {
      id: randomUUID(),
      op: name,
      input,
      status: 'running',
      startedAt: new Date().toISOString(),
    };
    const client = new WorkerClient(this.projectDir, this.nativeBinding, this.create);
    const { id: callId, done } = client.call(op, input, (event) => {
      if (event.kind === 'progress') info.progress = event;
      this.emit('job', { jobId: info.id, op: name, type: 'event', event } satisfies JobEvent);
    });
    this.jobs.set(info.id, { info, client, callId });
    const end = (status: JobStatus, error?: string, result?: unknown) => {
      info.status = status;
      info.endedAt = new Date().toISOString();
      info.error = error;
      info.result = result;
      this.jobs.delete(info.id);
      this.finished.unshift(info);
      this.finished.splice(50);
      void client.close();
      this.emit('job', { jobId: info.id, op: name, type: 'end', status, error, result } satisfies JobEvent);
    };
    done.then(
      (result) => {
        const r = result as { status?: string; message?: string } | undefined;
        if (r?.status === 'cancelled') end('cancelled', r.message, result);
        else if (r?.status === 'failed') end('failed', r.message, result);
        else end('completed', undefined, result);
      },
      (e: Error & { code?: string }) => end(e.code === 'cancelled' ? 'cancelled' : 'failed', e.message),
    );
    return info;
  }

  /** Asks a job to stop (it saves its state first); ends its worker if it has not stopped after `graceMs`. */
  cancel(jobId: string, graceMs = 30_000): boolean {
    const j = this.jobs.get(jobId);
    if (!j) return false;
    j.client.cancel(j.callId);
    setTimeout(() => {
      if (this.jobs.has(jobId)) void j.client.close();
    }, graceMs).unref();
    return true;
  }

  /** Running jobs first, then the last 50 finished ones. */
  listJobs(): JobInfo[] {
    return [...[...this.jobs.values()].map((j) => j.info), ...this.finished];
  }

  async close(): Promise<void> {
    await Promise.all([this.queries.close(), ...[...this.jobs.values()].map((j) => j.client.close())]);
  }
}
