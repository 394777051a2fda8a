// Keyboard navigation: global `g <key>` jumps between views (like GitHub and Gmail), `t` cycles the theme,
// `?` shows the shortcuts; arrow keys move within lists (useListKeys).
import { useEffect, useRef, type KeyboardEvent as ReactKeyboardEvent } from 'react';

/** True when the event comes from a place where keys type text. */
function typing(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  return target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName);
}

export interface Shortcuts {
  /** `g` then this key → callback. */
  goto: Record<string, () => void>;
  /** Single keys → callback. */
  keys: Record<string, () => void>;
}

/** Installs the global shortcuts on window; the `g` prefix waits 1.5 s for its second key. */
export function useGlobalShortcuts(shortcuts: Shortcuts): void {
  const latest = useRef(shortcuts);
  useEffect(() => {
    latest.current = shortcuts;
  });
  useEffect(() => {
    let prefixUntil = 0;
    const onKey = (e: KeyboardEvent) => {
      if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey || typing(e.target)) return;
      if (Date.now() < prefixUntil) {
        prefixUntil = 0;
        const go = latest.current.goto[e.key.toLowerCase()];
        if (go) {
          e.preventDefault();
          go();
        }
        return;
      }
      if (e.key === 'g') {
        prefixUntil = Date.now() + 1500;
        return;
      }
      const action = latest.current.keys[e.key];
      if (action) {
        e.preventDefault();
        action();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);
}

/**
 * Arrow-key movement in a list of `count` items: ArrowUp/ArrowDown (and k/j) step, Home/End jump.
 * Calls `move(index)` with the new active index; returns the handler for the list's onKeyDown.
 */
export function useListKeys(count: number, active: number, move: (index: number) => void) {
  return (e: ReactKeyboardEvent) => {
    if (count === 0) return;
    let next = active;
    if (e.key === 'ArrowDown' || e.key === 'j') next = Math.min(count - 1, active + 1);
    else if (e.key === 'ArrowUp' || e.key === 'k') next = Math.max(0, active - 1);
    else if (e.key === 'Home') next = 0;
    else if (e.key === 'End') next = count - 1;
    else return;
    e.preventDefault();
    move(next);
  };
}
