// Number formats of the three views (d3-format), so a value reads the same in tables, tooltips and panels.
import { format } from 'd3';

const sig3 = format('.3~g');
const fixed3 = format('.3f');
const signed3 = format('+.3f');
const percent1 = format('.1%');
const integer = format(',d');

/** Three significant digits, `—` for a missing or non-finite value. */
export function num(v: number | null | undefined): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '—' : sig3(v);
}

/** Three decimals (scores in [0, 1], correlations). */
export function dec3(v: number | null | undefined): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '—' : fixed3(v);
}

/** Three decimals with a sign (differences). */
export function signed(v: number | null | undefined): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '—' : signed3(v);
}

/** A share of 1 as a percentage with one decimal. */
export function pct(v: number | null | undefined): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '—' : percent1(v);
}

/** An integer with thousands separators. */
export function int(v: number | null | undefined): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '—' : integer(v);
}
