/**
 * Progress events of long work (training, recording, analyses): every transport turns them into its own
 * form (a terminal bar, JSON lines, server-sent events, IPC messages).
 */
export interface ProgressEvent {
  /** What is running: `pretrain`, `dpo`, `record`, `svcca null`, ... */
  phase: string;
  done: number;
  total: number;
  /** Units of `done`: `step`, `batch`, `shuffle`, ... */
  unit?: string;
  /** Live metrics of the latest step (TRL names for training). */
  metrics?: Record<string, number>;
}

export interface Reporter {
  progress(e: ProgressEvent): void;
  /** A line for the user (a phase started, a warning, a result). */
  message(text: string): void;
  /** Held-out metrics of a training run, or any other named record worth streaming. */
  record?(kind: string, data: Record<string, unknown>): void;
}

/** A reporter that drops everything (library use, tests). */
export const silentReporter: Reporter = { progress: () => {}, message: () => {} };

/** Throws the standard cancellation error if `signal` was aborted. */
export function throwIfCancelled(signal?: AbortSignal): void {
  if (signal?.aborted) throw new CancelledError();
}

export class CancelledError extends Error {
  constructor(message = 'cancelled') {
    super(message);
    this.name = 'CancelledError';
  }
}
