// The study tables' cells: numbers (components/Num: formatted, the exact value in `data-value`, the path in
// the row in `data-field`, what the tests and copying read), header cells of numeric columns, and row names.
import type { ReactNode } from 'react';
import { Num } from '../components/Num.js';

/** Header cells of numeric columns. */
export function NumHeads({ labels }: { labels: ReactNode[] }) {
  return labels.map((l, i) => (
    <th key={i} scope="col" className="num">
      {l}
    </th>
  ));
}

/** The keys of `T` whose values are numbers. */
type NumericKey<T> = { [K in keyof T]-?: T[K] extends number ? K : never }[keyof T] & string;

/**
 * A numeric cell per column of `row`: a field's value, or `ci` for the interval `[ciLow, ciHigh]`; each
 * number's `data-field` is `prefix` + its field (`paired.diff`).
 */
export function NumCells<T extends object>({
  row,
  columns,
  prefix = '',
}: {
  row: T;
  columns: (NumericKey<T> | 'ci')[];
  prefix?: string;
}) {
  const value = (field: string) => (row as Record<string, number>)[field];
  return columns.map((c) => (
    <td key={c} className="num">
      {c === 'ci' ? (
        <>
          [<Num field={`${prefix}ciLow`} value={value('ciLow')} />,{' '}
          <Num field={`${prefix}ciHigh`} value={value('ciHigh')} />]
        </>
      ) : (
        <Num field={`${prefix}${c}`} value={value(c)} />
      )}
    </td>
  ));
}

/** A row's name, the header cell of its row. */
export function RowName({ children }: { children: ReactNode }) {
  return (
    <th scope="row" className="mono">
      {children}
    </th>
  );
}
