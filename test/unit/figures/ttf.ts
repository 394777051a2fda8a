// A minimal TrueType reader for the tests: advance widths from the 'head', 'hhea', 'hmtx' and 'cmap'
// tables (OpenType spec, "cmap" formats 4 and 12). It checks that the width table the figures use to lay
// out text matches the font files we ship in resources/fonts.
import { readFileSync } from 'node:fs';

/** Advance widths (in 1/1000 em, rounded) of `chars` in the TrueType font at `file`; -1 for a missing glyph. */
export function advanceWidths(file: string, chars: string[]): Map<string, number> {
  const buf = readFileSync(file);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const numTables = view.getUint16(4);
  const tables = new Map<string, number>();
  for (let i = 0; i < numTables; i++) {
    const rec = 12 + 16 * i;
    const tag = buf.toString('latin1', rec, rec + 4);
    tables.set(tag, view.getUint32(rec + 8));
  }
  const need = (tag: string): number => {
    const off = tables.get(tag);
    if (off === undefined) throw new Error(`${file}: no '${tag}' table`);
    return off;
  };
  const unitsPerEm = view.getUint16(need('head') + 18);
  const numberOfHMetrics = view.getUint16(need('hhea') + 34);
  const hmtx = need('hmtx');
  const glyphOf = cmapLookup(view, need('cmap'), file);
  const out = new Map<string, number>();
  for (const ch of chars) {
    const glyph = glyphOf(ch.codePointAt(0)!);
    if (glyph === 0) {
      out.set(ch, -1);
      continue;
    }
    const index = Math.min(glyph, numberOfHMetrics - 1);
    const advance = view.getUint16(hmtx + 4 * index);
    out.set(ch, Math.round((advance * 1000) / unitsPerEm));
  }
  return out;
}

function cmapLookup(view: DataView, cmap: number, file: string): (cp: number) => number {
  const n = view.getUint16(cmap + 2);
  let best = -1;
  let bestFormat = 0;
  for (let i = 0; i < n; i++) {
    const platform = view.getUint16(cmap + 4 + 8 * i);
    const encoding = view.getUint16(cmap + 6 + 8 * i);
    const offset = cmap + view.getUint32(cmap + 8 + 8 * i);
    const format = view.getUint16(offset);
    const unicode = platform === 0 || (platform === 3 && (encoding === 1 || encoding === 10));
    if (unicode && (format === 12 || (format === 4 && bestFormat !== 12))) {
      best = offset;
      bestFormat = format;
    }
  }
  if (best < 0) throw new Error(`${file}: no Unicode cmap subtable of format 4 or 12`);
  if (bestFormat === 12) {
    const groups = view.getUint32(best + 12);
    return (cp) => {
      for (let g = 0; g < groups; g++) {
        const rec = best + 16 + 12 * g;
        const start = view.getUint32(rec);
        const end = view.getUint32(rec + 4);
        if (cp >= start && cp <= end) return view.getUint32(rec + 8) + cp - start;
      }
      return 0;
    };
  }
  const segX2 = view.getUint16(best + 6);
  const ends = best + 14;
  const starts = ends + segX2 + 2;
  const deltas = starts + segX2;
  const rangeOffsets = deltas + segX2;
  return (cp) => {
    for (let s = 0; s < segX2; s += 2) {
      const end = view.getUint16(ends + s);
      if (cp > end) continue;
      const start = view.getUint16(starts + s);
      if (cp < start) return 0;
      const delta = view.getInt16(deltas + s);
      const ro = view.getUint16(rangeOffsets + s);
      if (ro === 0) return (cp + delta) & 0xffff;
      const glyph = view.getUint16(rangeOffsets + s + ro + 2 * (cp - start));
      return glyph === 0 ? 0 : (glyph + delta) & 0xffff;
    }
    return 0;
  };
}
