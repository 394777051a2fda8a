// The sidebar: one entry per view, arrow keys move between them, Enter opens one.
import { useRef, useState } from 'react';
import { useListKeys } from '../keyboard.js';
import { VIEWS, type ViewId } from '../views.js';

export function Sidebar({ current, onSelect }: { current: ViewId; onSelect: (id: ViewId) => void }) {
  const [focused, setFocused] = useState(() => VIEWS.findIndex((v) => v.id === current));
  const buttons = useRef<(HTMLButtonElement | null)[]>([]);
  const onKeyDown = useListKeys(VIEWS.length, focused, (i) => {
    setFocused(i);
    buttons.current[i]?.focus();
  });
  const active = VIEWS.findIndex((v) => v.id === current);
  return (
    <nav className="sidebar" aria-label="Views">
      <div className="brand">Monoscope</div>
      <ul role="list" onKeyDown={onKeyDown}>
        {VIEWS.map((v, i) => (
          <li key={v.id}>
            <button
              type="button"
              ref={(el) => {
                buttons.current[i] = el;
              }}
              className={v.id === current ? 'nav-item active' : 'nav-item'}
              aria-current={v.id === current ? 'page' : undefined}
              tabIndex={i === (focused < 0 ? active : focused) ? 0 : -1}
              onFocus={() => setFocused(i)}
              onClick={() => onSelect(v.id)}
              title={`${v.summary} (g ${v.key})`}
            >
              <span>{v.label}</span>
              <kbd aria-hidden="true">g {v.key}</kbd>
            </button>
          </li>
        ))}
      </ul>
    </nav>
  );
}
