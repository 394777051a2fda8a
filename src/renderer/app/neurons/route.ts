// The location hash as the three views' state: `#/neurons/dpo/blocks.1.mlp.post/42`,
// `#/heatmap/dpo/blocks.1.mlp.post?diff=base`, `#/features/match`. Reloads and the back button keep the
// selection; the last checkpoint and tap picked in any view are the default of the others.
import { useCallback, useSyncExternalStore } from 'react';
import { parseHash, type HashRoute } from './hash.js';
import { firstRecorded, type CheckpointInfo, type RecordingInfo } from './taps.js';

export { formatHash, parseHash, type HashRoute } from './hash.js';

function subscribe(onChange: () => void): () => void {
  window.addEventListener('hashchange', onChange);
  return () => window.removeEventListener('hashchange', onChange);
}

/** The current location hash, re-read on every `hashchange`. */
export function useLocationHash(): string {
  return useSyncExternalStore(subscribe, () => window.location.hash);
}

/**
 * The route of `view` and a navigate function: `push` adds a history entry (opening a neuron), otherwise
 * the current entry is replaced (changing a picker).
 */
export function useRoute(view: string): [HashRoute, (hash: string, push?: boolean) => void] {
  const hash = useLocationHash();
  const navigate = useCallback((next: string, push = false) => {
    if (next === window.location.hash) return;
    if (push) window.location.hash = next;
    else window.location.replace(next);
  }, []);
  return [parseHash(hash, view), navigate];
}

const LAST_KEY = 'monoscope.lastTap';

/** The checkpoint and tap picked last in any view (this tab). */
export function lastTap(): { checkpoint: string; tap: string } | undefined {
  try {
    const v = JSON.parse(sessionStorage.getItem(LAST_KEY) ?? 'null') as {
      checkpoint?: unknown;
      tap?: unknown;
    } | null;
    return v && typeof v.checkpoint === 'string' && typeof v.tap === 'string'
      ? { checkpoint: v.checkpoint, tap: v.tap }
      : undefined;
  } catch {
    return undefined;
  }
}

/** Remembers the checkpoint and tap picked, for the other views. */
export function rememberTap(checkpoint: string, tap: string): void {
  try {
    sessionStorage.setItem(LAST_KEY, JSON.stringify({ checkpoint, tap }));
  } catch {
    // Storage can be unavailable; the other views then start from the first recording.
  }
}

/**
 * The checkpoint and tap a view opens: those of its hash (`checkpoint`, `tap`) where given; else the last
 * picked in any view, else the first recorded tap, else the first checkpoint; the tap of that fallback only
 * when it is of the checkpoint opened, else `blocks.0.mlp.post`.
 */
export function startingTap(
  checkpoints: CheckpointInfo[],
  recordings: RecordingInfo[],
  checkpoint?: string,
  tap?: string,
): { checkpoint: string; tap: string } {
  const fallback = lastTap() ?? firstRecorded(recordings, checkpoints);
  const ck = checkpoint ?? fallback?.checkpoint ?? checkpoints[0].name;
  return {
    checkpoint: ck,
    tap: tap ?? (fallback?.checkpoint === ck ? fallback.tap : undefined) ?? 'blocks.0.mlp.post',
  };
}
