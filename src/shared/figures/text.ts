// Text measurement and escaping for figures rendered as SVG strings (no DOM to measure with).
//
// Widths come from the advance-width tables of the fonts we ship in resources/fonts (Inter Regular and
// SemiBold, DejaVu Sans Mono), in 1/1000 em. Kerning is ignored, so a measured width is within a few
// percent of the rendered one, which is enough to place tick labels, legends and wrapped captions.
// test/unit/figures/fonts.test.ts checks these tables against the font files.

/** CSS font-family of all figure text except token contexts; Inter is bundled, the rest are fallbacks. */
export const SANS = "Inter, 'Helvetica Neue', Helvetica, Arial, sans-serif";
/** CSS font-family of token text; DejaVu Sans Mono is bundled. */
export const MONO = "'DejaVu Sans Mono', Menlo, Consolas, monospace";

/** Font faces the figures use; `semibold` is Inter at weight 600 (titles). */
export type FontFace = 'regular' | 'semibold' | 'mono';

/** The characters whose widths are tabulated: printable ASCII, then symbols that figures print. */
export const MEASURED_CHARS: string[] = [
  ...Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)),
  ...'−…·↵×±≤≥αβρσμ—–⁰¹²³⁴⁵⁶⁷⁸⁹⁻₀₁₂₃₄₅₆₇₈₉→°Δ≈',
];

/** Advance widths (1/1000 em) of MEASURED_CHARS in Inter Regular. */
export const INTER_REGULAR_WIDTHS = [
  281, 288, 466, 633, 642, 982, 644, 300, 365, 365, 501, 662, 288, 460, 288, 360, 631, 407, 610, 618, 646,
  593, 620, 566, 619, 620, 288, 302, 662, 662, 662, 511, 966, 690, 654, 730, 722, 601, 590, 746, 743, 269,
  571, 672, 565, 903, 753, 765, 639, 765, 644, 642, 646, 744, 690, 985, 682, 679, 629, 365, 360, 365, 471,
  456, 323, 562, 612, 571, 612, 583, 370, 613, 591, 242, 242, 549, 242, 876, 591, 600, 612, 612, 376, 528,
  327, 591, 562, 818, 546, 562, 552, 426, 333, 426, 662, 662, 864, 288, 987, 662, 662, 662, 662, 664, 596,
  612, 624, 586, 1000, 500, 459, 304, 442, 446, 460, 440, 444, 406, 450, 444, 429, 459, 304, 442, 446, 460,
  440, 444, 406, 450, 444, 954, 456, 681, 662,
];

/** Advance widths (1/1000 em) of MEASURED_CHARS in Inter SemiBold. */
export const INTER_SEMIBOLD_WIDTHS = [
  252, 321, 523, 644, 650, 1004, 663, 326, 373, 373, 540, 673, 319, 465, 319, 379, 660, 423, 623, 636, 666,
  612, 640, 576, 640, 640, 319, 329, 673, 673, 673, 543, 999, 728, 659, 737, 722, 605, 588, 749, 746, 277,
  580, 703, 565, 922, 759, 769, 645, 773, 652, 650, 660, 736, 728, 1020, 720, 713, 652, 373, 379, 373, 481,
  469, 351, 574, 624, 583, 624, 591, 389, 625, 612, 262, 262, 569, 262, 900, 612, 609, 624, 624, 397, 549,
  353, 612, 587, 839, 569, 588, 566, 455, 359, 455, 673, 673, 956, 319, 1003, 673, 673, 673, 673, 684, 605,
  624, 642, 614, 1000, 500, 483, 324, 454, 463, 478, 463, 464, 418, 471, 464, 457, 483, 324, 454, 463, 478,
  463, 464, 418, 471, 464, 954, 458, 722, 673,
];

/** Advance width (1/1000 em) of every glyph of DejaVu Sans Mono. */
export const MONO_WIDTH = 602;

const tables: Record<'regular' | 'semibold', Map<string, number>> = {
  regular: new Map(MEASURED_CHARS.map((c, i) => [c, INTER_REGULAR_WIDTHS[i]])),
  semibold: new Map(MEASURED_CHARS.map((c, i) => [c, INTER_SEMIBOLD_WIDTHS[i]])),
};

/** Width in px of `text` set at `fontSize` px in `face`; untabulated characters count 0.6 em (1 em if wide). */
export function textWidth(text: string, fontSize: number, face: FontFace = 'regular'): number {
  let units = 0;
  for (const ch of text) {
    if (face === 'mono') {
      units += isWide(ch) ? 2 * MONO_WIDTH : MONO_WIDTH;
      continue;
    }
    units += tables[face].get(ch) ?? (isWide(ch) ? 1000 : 600);
  }
  return (units * fontSize) / 1000;
}

function isWide(ch: string): boolean {
  const cp = ch.codePointAt(0)!;
  return (
    cp >= 0x1100 &&
    (cp <= 0x115f ||
      (cp >= 0x2e80 && cp <= 0xa4cf) ||
      (cp >= 0xac00 && cp <= 0xd7a3) ||
      (cp >= 0xf900 && cp <= 0xfaff) ||
      (cp >= 0xfe30 && cp <= 0xfe4f) ||
      (cp >= 0xff00 && cp <= 0xff60) ||
      (cp >= 0x1f300 && cp <= 0x1faff) ||
      (cp >= 0x20000 && cp <= 0x3fffd))
  );
}

/** `text` cut to fit `maxWidth` px, ending in an ellipsis when cut. */
export function truncateText(
  text: string,
  maxWidth: number,
  fontSize: number,
  face: FontFace = 'regular',
): string {
  if (textWidth(text, fontSize, face) <= maxWidth) return text;
  const chars = Array.from(text);
  while (chars.length > 0 && textWidth(chars.join('') + '…', fontSize, face) > maxWidth) chars.pop();
  return chars.length === 0 ? '' : chars.join('').trimEnd() + '…';
}

/** `text` broken at spaces into lines no wider than `maxWidth` px (a single over-long word is truncated). */
export function wrapText(
  text: string,
  maxWidth: number,
  fontSize: number,
  face: FontFace = 'regular',
): string[] {
  const lines: string[] = [];
  for (const paragraph of text.split('\n')) {
    let line = '';
    for (const word of paragraph.split(/ +/).filter((w) => w.length > 0)) {
      const candidate = line === '' ? word : `${line} ${word}`;
      if (textWidth(candidate, fontSize, face) <= maxWidth || line === '') {
        line = candidate;
      } else {
        lines.push(line);
        line = word;
      }
    }
    lines.push(truncateText(line, maxWidth, fontSize, face));
  }
  return lines;
}

// Matching control characters is the point of these two patterns.
/* eslint-disable no-control-regex */
/** Characters XML 1.0 forbids: C0 controls other than tab/newline/return, U+FFFE/U+FFFF, lone surrogates. */
const FORBIDDEN =
  /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
/** Anything escapeXml might change; most strings (and base64 image data) contain none. */
const SPECIAL = /[&<>"'\u0000-\u0008\u000b\u000c\u000e-\u001f\ud800-\udfff\ufffe\uffff]/;
/* eslint-enable no-control-regex */

/**
 * `text` made safe for XML character data and attribute values: escapes & < > " ' and replaces
 * characters XML 1.0 forbids with U+FFFD.
 */
export function escapeXml(text: string): string {
  if (!SPECIAL.test(text)) return text;
  return text
    .replace(FORBIDDEN, '\ufffd')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}
