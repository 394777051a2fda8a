// Job results as the Features view reads them. Over IPC typed arrays arrive as they are; job results that
// come through the HTTP server's event stream are JSON, where a Float32Array is an object of index keys.
import { useEffect, useRef } from 'react';

/** A null distribution (typed array, array, or JSON of a typed array) as plain numbers; [] for none. */
export function asNumbers(v: unknown): number[] {
  if (v === null || v === undefined) return [];
  if (Array.isArray(v)) return v.map(Number);
  if (ArrayBuffer.isView(v)) return Array.from(v as unknown as ArrayLike<number>);
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const n = Object.keys(o).length;
    const out = new Array<number>(n);
    for (let i = 0; i < n; i++) {
      const x = o[String(i)];
      if (typeof x !== 'number') return [];
      out[i] = x;
    }
    return out;
  }
  return [];
}

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
