// Number, time and duration formatting for the views (d3-format), one style everywhere.
import { format } from 'd3';

const sig4 = format('.4~g');
const sci = format('.3~e');
const pct = format('.1~%');
const int = format(',d');

/** A measurement: 4 significant digits, scientific below 1e-3 or from 1e6, an en dash for none. */
export function fmtNumber(v: number | null | undefined): string {
  if (v === null || v === undefined || Number.isNaN(v)) return '–';
  if (!Number.isFinite(v)) return v > 0 ? '∞' : '−∞';
  const a = Math.abs(v);
  return (a !== 0 && (a < 1e-3 || a >= 1e6) ? sci(v) : sig4(v)).replace('-', '−');
}

/** A share of 1 as a percentage (0.253 → 25.3%). */
export function fmtPercent(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  return pct(v).replace('-', '−');
}

/** A count with thousands separators. */
export function fmtInt(v: number): string {
  return int(v);
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** An ISO time as a short local time, `21 Nov 06:59` (the year is added when it is not this year). */
export function fmtTime(iso: string | null | undefined): string {
  if (!iso) return '–';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const p = (n: number) => String(n).padStart(2, '0');
  const year = d.getFullYear() === new Date().getFullYear() ? '' : ` ${d.getFullYear()}`;
  return `${d.getDate()} ${MONTHS[d.getMonth()]}${year} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** Seconds as `42 s`, `3 min 20 s` or `1 h 05 min`. */
export function fmtDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '–';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}
