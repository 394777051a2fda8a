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

/** The steps of a dictionary's training (an SAE's, a crosscoder's) that are reported and kept: every 10th and the last. */
export const reportedStep = (step: number, steps: number): boolean => step % 10 === 0 || step === steps;

/** The per-step callback of a dictionary's training: a progress event with the step's loss and error. */
export function stepProgress(
  reporter: Reporter,
  phase: string,
  steps: number,
): (s: { step: number; loss: number; mse: number }) => void {
  return (s) => {
    if (reportedStep(s.step, steps))
      reporter.progress({
        phase,
        done: s.step,
        total: steps,
        unit: 'step',
        metrics: { loss: s.loss, mse: s.mse },
      });
  };
}

/** The loss curve a dictionary's record keeps: the reported steps' loss, error and dead latents. */
export function trainingCurve(
  log: { step: number; loss: number; mse: number; deadLatents: number }[],
  steps: number,
): { step: number; loss: number; mse: number; deadLatents: number }[] {
  return log
    .filter((s) => reportedStep(s.step, steps))
    .map((s) => ({ step: s.step, loss: s.loss, mse: s.mse, deadLatents: s.deadLatents }));
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
