// A point in time, short on screen (`21 Nov 06:59`) and exact on hover and for assistive technology.
import { fmtTime } from './format.js';

export function Time({ iso }: { iso: string | null | undefined }) {
  if (!iso) return <>–</>;
  return (
    <time dateTime={iso} title={iso}>
      {fmtTime(iso)}
    </time>
  );
}
