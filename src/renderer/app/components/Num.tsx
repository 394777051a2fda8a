// A formatted number that carries its exact value (what the store holds) in `data-value` and its name in
// `data-field`, for tests and copying; the text is formatted.
import { fmtNumber } from './format.js';

/** A formatted number with its exact value; `field` names it. Undefined: a muted dash and no value. */
export function Num({ field, value }: { field: string; value: number | null | undefined }) {
  if (value === undefined) return <span className="muted">–</span>;
  return (
    <span data-field={field} data-value={String(value)}>
      {fmtNumber(value)}
    </span>
  );
}
