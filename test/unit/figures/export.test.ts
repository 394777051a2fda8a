// PNG export with resvg: the requested DPI, a pHYs chunk, real content, and text set in the bundled fonts.
import { describe, expect, it } from 'vitest';
import { decode } from 'fast-png';
import { join } from 'node:path';
import { defaultFontDir, fontFiles, svgToPng } from '../../../src/main/figure-png.js';
import { renderFigure, textWidth } from '../../../src/shared/figures/index.js';
import { sampleSpecs } from './samples.js';

/** Pixels that differ from `bg` by more than 24 in any channel. */
function countInk(png: ReturnType<typeof decode>, bg: [number, number, number]): number {
  let n = 0;
  for (let i = 0; i < png.width * png.height; i++) {
    const o = i * png.channels;
    if (
      Math.abs(png.data[o] - bg[0]) > 24 ||
      Math.abs(png.data[o + 1] - bg[1]) > 24 ||
      Math.abs(png.data[o + 2] - bg[2]) > 24
    )
      n++;
  }
  return n;
}

/** Leftmost and rightmost columns holding a dark pixel. */
function inkExtent(png: ReturnType<typeof decode>): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let y = 0; y < png.height; y++) {
    for (let x = 0; x < png.width; x++) {
      if (png.data[(y * png.width + x) * png.channels] < 128) {
        lo = Math.min(lo, x);
        hi = Math.max(hi, x);
      }
    }
  }
  return [lo, hi];
}

const label = (content: string, family: string) =>
  `<svg xmlns="http://www.w3.org/2000/svg" width="400" height="40" viewBox="0 0 400 40">` +
  `<rect width="400" height="40" fill="#fff"/>` +
  `<text x="10" y="28" font-family="${family}" font-size="20" fill="#000">${content}</text></svg>`;

describe('svgToPng', () => {
  it('renders a figure at the requested DPI with a pHYs chunk and real content', () => {
    const svg = renderFigure({
      ...sampleSpecs().groupedBar,
      options: { ...sampleSpecs().groupedBar.options, width: 640, height: 400 },
    });
    const png = decode(svgToPng(svg, { dpi: 300 }));
    // 640 px = 6.667 in; at 300 dpi that is 2000 × 1250 pixels.
    expect([png.width, png.height]).toEqual([2000, 1250]);
    expect(png.resolution).toEqual({ x: Math.round(300 / 0.0254), y: Math.round(300 / 0.0254), unit: 1 });
    const ink = countInk(png, [255, 255, 255]);
    expect(ink / (png.width * png.height)).toBeGreaterThan(0.05);
    expect(ink / (png.width * png.height)).toBeLessThan(0.6);
  });

  it('fits an explicit width, and renders the dark theme on its dark background', () => {
    const spec = sampleSpecs().lineLog;
    const svg = renderFigure({
      ...spec,
      options: { ...spec.options, theme: 'dark', width: 500, height: 300 },
    });
    const png = decode(svgToPng(svg, { width: 750 }));
    expect([png.width, png.height]).toEqual([750, 450]);
    expect(Array.from(png.data.slice(0, 3))).toEqual([0x15, 0x17, 0x1c]);
    expect(countInk(png, [0x15, 0x17, 0x1c])).toBeGreaterThan(1000);
    expect(png.resolution?.x).toBe(Math.round(144 / 0.0254));
  });

  it('sets text in the bundled fonts, never system fonts', () => {
    // A label in Inter has dark pixels; in a family that is not bundled it falls back to Inter too.
    const inter = decode(svgToPng(label('Monoscope', 'Inter')));
    expect(countInk(inter, [255, 255, 255])).toBeGreaterThan(100);
    const fallback = decode(svgToPng(label('Monoscope', 'Times New Roman, serif')));
    expect(Buffer.from(fallback.data).equals(Buffer.from(inter.data))).toBe(true);
    // DejaVu Sans Mono: 30 characters span 30 × 0.602 em (the last glyph's ink ends a little early).
    const mono = decode(svgToPng(label('x'.repeat(30), 'DejaVu Sans Mono')));
    const [lo, hi] = inkExtent(mono);
    const expected = textWidth('x'.repeat(30), 20, 'mono');
    expect(hi - lo).toBeGreaterThan(expected - 20 * 0.6);
    expect(hi - lo).toBeLessThanOrEqual(expected);
    // Inter's measured width matches the rendered ink within a few percent.
    const [a, b] = inkExtent(inter);
    expect((b - a) / textWidth('Monoscope', 20)).toBeGreaterThan(0.9);
    expect((b - a) / textWidth('Monoscope', 20)).toBeLessThan(1.02);
  });

  it('renders the embedded heatmap raster', () => {
    const svg = renderFigure({
      kind: 'heatmap',
      data: { rows: 2, cols: 2, values: [1, 1, 1, 1] },
      options: { domain: [-1, 1] },
    });
    const png = decode(svgToPng(svg));
    let red = 0;
    for (let i = 0; i < png.width * png.height; i++) {
      const o = i * png.channels;
      if (png.data[o] === 0x67 && png.data[o + 1] === 0x00 && png.data[o + 2] === 0x1f) red++;
    }
    expect(red).toBeGreaterThan(50_000);
  });

  it('says which font file is missing, and rejects bad sizes', () => {
    expect(fontFiles()).toHaveLength(3);
    expect(() => svgToPng(label('x', 'Inter'), { fontDir: join(defaultFontDir(), 'nowhere') })).toThrow(
      /Inter-Regular\.ttf is missing/,
    );
    expect(() => svgToPng(label('x', 'Inter'), { dpi: 0 })).toThrow('dpi');
    expect(() => svgToPng(label('x', 'Inter'), { width: 1.5 })).toThrow('width');
  });
});
