// A table whose rows are picked with the mouse or the keyboard: one row is in the tab order, arrow keys
// (and j/k, Home, End) move between rows, Enter or Space picks the focused row.
import { useRef, useState, type ReactNode } from 'react';
import { useListKeys } from '../keyboard.js';

export interface Column<T> {
  key: string;
  header: ReactNode;
  cell: (row: T) => ReactNode;
  /** Right-aligned, tabular figures. */
  numeric?: boolean;
  /** A definition shown on hover of the header. */
  title?: string;
}

export function SelectableTable<T>({
  rows,
  columns,
  rowKey,
  selected,
  onSelect,
  label,
}: {
  rows: T[];
  columns: Column<T>[];
  rowKey: (row: T) => string;
  /** Keys of the selected rows. */
  selected: readonly string[];
  onSelect: (row: T) => void;
  label: string;
}) {
  const [focused, setFocused] = useState(0);
  const refs = useRef<(HTMLTableRowElement | null)[]>([]);
  const current = Math.min(focused, Math.max(0, rows.length - 1));
  const onKeyDown = useListKeys(rows.length, current, (i) => {
    setFocused(i);
    refs.current[i]?.focus();
  });
  return (
    <div className="table-scroll">
      <table className="data-table selectable" role="grid" aria-label={label}>
        <thead>
          <tr>
            {columns.map((c) => (
              <th key={c.key} scope="col" className={c.numeric ? 'num' : undefined} title={c.title}>
                {c.header}
              </th>
            ))}
          </tr>
        </thead>
        <tbody onKeyDown={onKeyDown}>
          {rows.map((row, i) => {
            const key = rowKey(row);
            const isSelected = selected.includes(key);
            return (
              <tr
                key={key}
                ref={(el) => {
                  refs.current[i] = el;
                }}
                data-key={key}
                tabIndex={i === current ? 0 : -1}
                aria-selected={isSelected}
                className={isSelected ? 'selected' : undefined}
                onFocus={() => setFocused(i)}
                onClick={() => onSelect(row)}
                onKeyDown={(e) => {
                  if ((e.key === 'Enter' || e.key === ' ') && e.target === e.currentTarget) {
                    e.preventDefault();
                    onSelect(row);
                  }
                }}
              >
                {columns.map((c) => (
                  <td key={c.key} className={c.numeric ? 'num' : undefined}>
                    {c.cell(row)}
                  </td>
                ))}
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
