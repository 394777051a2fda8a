/**
 * The IPC contract between the preload (`src/main/preload.ts`), which exposes {@link MonoscopeBridge} as
 * `window.monoscope`, the main process's handlers (`src/main/ipc.ts`) and the renderer's IPC client
 * (`src/renderer/api/client.ts`): the channel names and the shape of the replies.
 */
import type { JobEvent, JobInfo } from '../core/api.js';

/** The IPC channels between the preload and the main process. */
export const CHANNELS = {
  call: 'monoscope:call',
  startJob: 'monoscope:start-job',
  cancelJob: 'monoscope:cancel-job',
  listJobs: 'monoscope:list-jobs',
  /** Main → renderer: one {@link JobEvent}. */
  jobEvent: 'monoscope:job-event',
} as const;

/** An error as it crosses IPC. */
export interface WireError {
  code: string;
  message: string;
}

/** The main process's answer to an IPC call: a value, or an error with its code. */
export type IpcReply<T> = { ok: true; value: T } | { ok: false; error: WireError };

/** `window.monoscope`: the client's methods over IPC, with replies not yet unwrapped. Nothing else. */
export interface MonoscopeBridge {
  call(op: string, input: unknown): Promise<IpcReply<unknown>>;
  startJob(op: string, input: unknown): Promise<IpcReply<JobInfo>>;
  cancelJob(id: string): Promise<IpcReply<null>>;
  listJobs(): Promise<IpcReply<JobInfo[]>>;
  onJobEvent(listener: (event: JobEvent) => void): () => void;
}
