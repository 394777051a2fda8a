// The width tables the figures lay text out with must match the bundled font files.
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { defaultFontDir } from '../../../src/main/figure-png.js';
import {
  INTER_REGULAR_WIDTHS,
  INTER_SEMIBOLD_WIDTHS,
  MEASURED_CHARS,
  MONO_WIDTH,
  escapeXml,
  textWidth,
  truncateText,
  wrapText,
} from '../../../src/shared/figures/text.js';
import { embedFonts } from '../../../src/shared/figures/fonts.js';
import { advanceWidths } from './ttf.js';
import { parseXml } from './xml.js';

const table = (file: string) => {
  const widths = advanceWidths(join(defaultFontDir(), file), MEASURED_CHARS);
  return MEASURED_CHARS.map((c) => widths.get(c));
};

describe('font metrics', () => {
  it('match the advance widths in the font files', () => {
    expect(table('Inter-Regular.ttf')).toEqual(INTER_REGULAR_WIDTHS);
    expect(table('Inter-SemiBold.ttf')).toEqual(INTER_SEMIBOLD_WIDTHS);
    expect(new Set(table('DejaVuSansMono.ttf'))).toEqual(new Set([MONO_WIDTH]));
  });

  it('measure, cut and wrap text', () => {
    // 'H' is 743/1000 em in Inter Regular; at 20 px two of them are 29.72 px.
    expect(textWidth('HH', 20)).toBeCloseTo(29.72, 10);
    expect(textWidth('abc', 10, 'mono')).toBeCloseTo(18.06, 10);
    const cut = truncateText('a fairly long label', 60, 12);
    expect(cut.endsWith('…')).toBe(true);
    expect(textWidth(cut, 12)).toBeLessThanOrEqual(60);
    const lines = wrapText('one two three four five six seven', 70, 12);
    expect(lines.length).toBeGreaterThan(1);
    expect(lines.join(' ')).toBe('one two three four five six seven');
    for (const line of lines) expect(textWidth(line, 12)).toBeLessThanOrEqual(70);
  });

  it('escape text for XML, replacing forbidden characters', () => {
    expect(escapeXml(`<a href="x">&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt;');
    expect(escapeXml('a\u0000b\u0008c\td\ud800')).toBe('a\ufffdb\ufffdc\td\ufffd');
    expect(escapeXml('😀')).toBe('😀');
  });

  it('embed into an SVG as @font-face rules', () => {
    const svg = embedFonts('<svg xmlns="http://www.w3.org/2000/svg" width="10"><rect/></svg>', [
      { family: 'Inter', weight: 400, data: new Uint8Array([0, 1, 2, 255]) },
    ]);
    const root = parseXml(svg);
    expect(root.children[0].name).toBe('defs');
    expect(svg).toContain(
      "@font-face{font-family:'Inter';font-weight:400;font-style:normal;src:url(data:font/ttf;base64,AAEC/w==)",
    );
  });
});
