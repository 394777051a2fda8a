// The Features view's memory of its last completed runs (this browser), so that reopening a panel re-reads
// its stored result.
import { useEffect, useRef, useState } from 'react';
import type { OpInput } from '../../../core/api.js';
import { useJobRun, type JobRun } from '../neurons/useJobRun.js';

const STORE = 'monoscope.features.';

/** The input of the last completed run of a panel (this browser) if `valid` accepts it, else undefined. */
export function lastInput<T>(panel: string, valid: (input: T) => boolean = () => true): T | undefined {
  try {
    const s = localStorage.getItem(STORE + panel);
    const v = s ? (JSON.parse(s) as T) : undefined;
    return v !== undefined && valid(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** Whether both sides of a remembered input name checkpoints the project still has. */
export function knownSides(
  input: { a?: { checkpoint?: string }; b?: { checkpoint?: string } },
  checkpoints: { name: string }[],
): boolean {
  const names = new Set(checkpoints.map((c) => c.name));
  return (
    !!input.a?.checkpoint &&
    !!input.b?.checkpoint &&
    names.has(input.a.checkpoint) &&
    names.has(input.b.checkpoint)
  );
}

/** Remembers the input of a completed run, so that reopening the panel re-reads its (stored) result. */
export function rememberInput(panel: string, input: unknown): void {
  try {
    localStorage.setItem(STORE + panel, JSON.stringify(input));
  } catch {
    // Without storage the panel simply starts empty next time.
  }
}

/**
 * On first mount, runs `start` with the panel's last completed input: analyses are stored by their inputs,
 * so the job answers from the store at once instead of computing again.
 */
export function useRereadLast<T>(last: T | undefined, start: (input: T) => void): void {
  const done = useRef(false);
  useEffect(() => {
    if (done.current) return;
    done.current = true;
    if (last !== undefined) start(last);
  }, [last, start]);
}

/**
 * The job of a two-sided analysis panel (`match`, `similarity`, `subspaces`) with its memory: `last`, the
 * input of the last completed run whose checkpoints still exist (re-run on mount, so its stored result is
 * read back); `run`, the panel's latest job (also one started before the tab was left); `sent`, that job's
 * input. Each completed run's input is remembered for next time.
 */
export function useRememberedRun<N extends 'match' | 'similarity' | 'subspaces'>(
  op: N,
  checkpoints: { name: string }[],
): { last: OpInput<N> | undefined; run: JobRun<N>; sent: OpInput<N> | undefined } {
  const [last] = useState(() => lastInput<OpInput<N>>(op, (i) => knownSides(i, checkpoints)));
  const run = useJobRun(op, () => true);
  const sent = run.job?.input as OpInput<N> | undefined;
  useRereadLast(run.job ? undefined : last, run.start);
  useEffect(() => {
    if (run.result && sent) rememberInput(op, sent);
  }, [op, run.result, sent]);
  return { last, run, sent };
}
