// Every figure returns well-formed SVG with its title, axis labels and legend; the marks sit where the
// data says; bad input gets an error naming the field.
import { describe, expect, it } from 'vitest';
import { decode } from 'fast-png';
import {
  binDensities,
  emaSmooth,
  formatPValue,
  groupedBarChart,
  heatmap,
  histogram,
  lineChart,
  nullHistogram,
  renderFigure,
  scatter,
  smallMultiples,
  tokenContexts,
  lightTheme,
  darkTheme,
  displayToken,
  textWidth,
} from '../../../src/shared/figures/index.js';
import { linearAxis, logAxis, ticksFit } from '../../../src/shared/figures/axes.js';
import { visibleWindow } from '../../../src/shared/figures/tokenContexts.js';
import { colourBytes } from '../../../src/shared/figures/theme.js';
import type { FigureSpec } from '../../../src/shared/figures/types.js';
import { allText, byTag, findAll, parseXml, type XmlElement } from './xml.js';
import { sampleSpecs } from './samples.js';

const specs = sampleSpecs();

function group(root: XmlElement, cls: string): XmlElement {
  const g = findAll(root, (e) => e.attrs.class === cls);
  expect(g, `element of class ${cls}`).toHaveLength(1);
  return g[0];
}

/** Tick labels of an axis group with their x (or y) positions. */
function tickLabels(root: XmlElement, cls: 'x-ticks' | 'y-ticks'): { label: string; pos: number }[] {
  return byTag(group(root, cls), 'text').map((t) => ({
    label: allText(t),
    pos: Number(cls === 'x-ticks' ? t.attrs.x : t.attrs.y),
  }));
}

describe('every figure', () => {
  for (const [name, spec] of Object.entries(specs)) {
    for (const theme of ['light', 'dark'] as const) {
      it(`${name} (${theme}) is well-formed SVG of the requested size with title and caption`, () => {
        const width = spec.options?.width ?? 500;
        const svg = renderFigure({ ...spec, options: { ...spec.options, theme, width } } as FigureSpec);
        const root = parseXml(svg);
        expect(root.name).toBe('svg');
        expect(root.attrs.xmlns).toBe('http://www.w3.org/2000/svg');
        expect(Number(root.attrs.width)).toBe(width);
        expect(root.attrs['data-theme']).toBe(theme);
        const background = root.children.find((c) => c.name === 'rect')!;
        expect(background.attrs.fill).toBe(theme === 'dark' ? darkTheme.background : lightTheme.background);
        expect(allText(byTag(root, 'title')[0])).toBe(spec.options!.title);
        const text = allText(root);
        expect(text).toContain(spec.options!.title);
        if (spec.options?.caption && typeof spec.options.caption === 'object') {
          const [key] = Object.keys(spec.options.caption);
          expect(allText(group(root, 'caption'))).toContain(key);
        }
        if ('xLabel' in spec.options! && spec.options.xLabel) {
          expect(allText(group(root, 'x-label'))).toBe(spec.options.xLabel);
        }
        if ('yLabel' in spec.options! && spec.options.yLabel) {
          expect(allText(group(root, 'y-label'))).toBe(spec.options.yLabel);
        }
      });
    }
  }

  it('escapes markup in labels and data', () => {
    const svg = lineChart(
      { series: [{ name: '<script>alert("x")</script> & co', x: [0, 1], y: [1, 2] }] },
      { title: 'a < b', caption: { 'run "7"': "it's" } },
    );
    const root = parseXml(svg);
    expect(byTag(root, 'script')).toHaveLength(0);
    expect(allText(root)).toContain('<script>alert("x")</script> & co');
    expect(allText(root)).toContain(`run "7": it's`);
  });

  it('rejects a size that leaves no room for the plot, naming the option', () => {
    expect(() => lineChart({ series: [] }, { width: 50 })).toThrow('options.width');
    expect(() => lineChart({ series: [] }, { height: 90, title: 'T', caption: 'c' })).toThrow(
      'options.height',
    );
    expect(() => renderFigure({ kind: 'pie' } as unknown as FigureSpec)).toThrow('unknown figure kind pie');
  });
});

describe('axes', () => {
  it('never lets tick labels overlap, even when narrow', () => {
    for (const width of [200, 320, 640, 1200]) {
      const svg = lineChart(
        { series: [{ name: 's', x: [0, 123456], y: [-0.00123, 98765.4] }] },
        { width, height: 300, xLabel: 'step', yLabel: 'v' },
      );
      const root = parseXml(svg);
      const x = tickLabels(root, 'x-ticks');
      expect(x.length).toBeGreaterThanOrEqual(2);
      for (let i = 1; i < x.length; i++) {
        const gap = x[i].pos - x[i - 1].pos;
        expect(gap).toBeGreaterThanOrEqual((textWidth(x[i].label, 12) + textWidth(x[i - 1].label, 12)) / 2);
      }
      const y = tickLabels(root, 'y-ticks');
      for (let i = 1; i < y.length; i++) expect(Math.abs(y[i].pos - y[i - 1].pos)).toBeGreaterThanOrEqual(12);
    }
  });

  it('uses SI prefixes for large values', () => {
    const x = linearAxis([0, 1.2e8], 500, 12, 'x');
    expect(x.ticks[0].label).toBe('0');
    expect(x.ticks.map((t) => t.label)).toContain('100M');
  });

  it('maps the domain onto the range, nice and exact', () => {
    const x = linearAxis([0, 97], 500, 12, 'x');
    expect(x.scale.domain()).toEqual([0, 100]);
    expect(x.scale(50)).toBe(250);
    const y = linearAxis([0, 10], 200, 12, 'y', { nice: false });
    expect(y.scale(0)).toBe(200);
    expect(y.scale(10)).toBe(0);
    expect(ticksFit(y.ticks, 12, 'y')).toBe(true);
  });

  it('labels a log axis by decades, with superscripts outside 0.01…1000', () => {
    const wide = logAxis([2e-5, 0.3], 400, 12, 'y');
    expect(wide.ticks.map((t) => t.label)).toEqual(['10⁻⁵', '10⁻⁴', '10⁻³', '10⁻²', '10⁻¹', '10⁰']);
    expect(wide.scale(1e-3)).toBeCloseTo(400 - (400 * 2) / 5, 6);
    const narrow = logAxis([2, 30], 400, 12, 'y');
    expect(narrow.ticks.map((t) => t.label)).toEqual(['1', '2', '5', '10', '20', '50', '100']);
    expect(logAxis([0.2, 30], 400, 12, 'y').ticks.map((t) => t.label)).toEqual(['0.1', '1', '10', '100']);
    expect(() => logAxis([0, 1], 100, 12, 'y')).toThrow('must be positive');
  });
});

describe('lineChart', () => {
  it('smooths with the debiased EMA (hand values)', () => {
    const s = emaSmooth([1, 2, 3, NaN, 4], 0.5);
    expect(s[0]).toBeCloseTo(1, 12);
    expect(s[1]).toBeCloseTo(1.25 / 0.75, 12);
    expect(s[2]).toBeCloseTo(2.125 / 0.875, 12);
    expect(s[3]).toBeNaN();
    expect(s[4]).toBeCloseTo((0.5 * 2.125 + 2) / (1 - 0.0625), 12);
    expect(emaSmooth([3, 5], 0)).toEqual([3, 5]);
    expect(() => emaSmooth([1], 1)).toThrow('[0, 1)');
  });

  it('draws one path per series, dashed for eval, legend in order, shared group colours', () => {
    const root = parseXml(renderFigure(specs.line));
    const paths = byTag(group(root, 'marks'), 'path');
    // Two smoothed train series draw raw + smoothed; two eval series one dashed path each.
    expect(paths).toHaveLength(6);
    expect(paths.filter((p) => p.attrs['stroke-dasharray'])).toHaveLength(2);
    const legend = byTag(group(root, 'legend'), 'text').map(allText);
    expect(legend).toEqual(['DPO', 'DecPO (barlow)', 'DPO eval', 'DecPO eval']);
    const dpoColour = paths[0].attrs.stroke;
    expect(dpoColour).toBe(lightTheme.stages.dpo);
    expect(paths.filter((p) => p.attrs.stroke === dpoColour)).toHaveLength(3);
  });

  it('places points on the scale and drops non-positive values on a log axis', () => {
    const svg = lineChart(
      { series: [{ name: 'loss', x: [0, 1, 2, 3], y: [1, 0.1, 0, 0.01] }] },
      { logY: true, legend: 'none', width: 400, height: 300 },
    );
    const root = parseXml(svg);
    const d = byTag(group(root, 'marks'), 'path')[0].attrs.d;
    const points = [...d.matchAll(/([ML])([\d.]+)[ ,]([\d.]+)/g)].map(
      (m) => [m[1], Number(m[2]), Number(m[3])] as const,
    );
    // The zero breaks the line: M, L, then a new M.
    expect(points.map((p) => p[0])).toEqual(['M', 'L', 'M']);
    // Equal log steps: 1 → 0.1 is one decade, as is 0.1 → 0.01 (two steps in x).
    const dy1 = points[1][2] - points[0][2];
    const dy2 = points[2][2] - points[1][2];
    expect(dy2).toBeCloseTo(dy1, 1);
    expect(() => lineChart({ series: [{ name: 'a', x: [0], y: [0] }] }, { logY: true })).toThrow('positive');
  });

  it('names the series whose x and y differ in length', () => {
    expect(() => lineChart({ series: [{ name: 'margins', x: [1, 2], y: [1] }] })).toThrow(
      'series[0] "margins": x has 2 values but y has 1',
    );
    expect(() => lineChart({ series: [{ name: 'm', x: [1, Infinity], y: [1, 2] }] })).toThrow(
      'x[1] must be a finite number',
    );
  });
});

describe('groupedBarChart', () => {
  it('draws bars whose heights are proportional to the values, with error bars', () => {
    const root = parseXml(
      groupedBarChart(
        {
          groups: ['L0', 'L1'],
          series: [
            { name: 'a', values: [1, 3], errors: [0.5, [2, 4]] },
            { name: 'b', values: [2, 0] },
          ],
        },
        { yDomain: [0, 4], legend: 'right' },
      ),
    );
    const series = findAll(root, (e) => e.attrs.class === 'series');
    expect(series).toHaveLength(2);
    const [a, b] = series.map((g) => byTag(g, 'rect'));
    expect(a).toHaveLength(2);
    expect(b).toHaveLength(2);
    const h = (r: XmlElement) => Number(r.attrs.height);
    expect(h(a[1]) / h(a[0])).toBeCloseTo(3, 1);
    expect(h(b[0]) / h(a[0])).toBeCloseTo(2, 1);
    expect(h(b[1])).toBe(0);
    // Bars stand on the same baseline.
    expect(Number(a[0].attrs.y) + h(a[0])).toBeCloseTo(Number(b[0].attrs.y) + h(b[0]), 1);
    // Error bars: one vertical stroke and two caps per bar that has an error.
    const whiskers = byTag(group(root, 'marks'), 'path')[0].attrs.d;
    expect(whiskers.match(/V/g)).toHaveLength(2);
    expect(allText(group(root, 'legend'))).toBe('ab');
  });

  it('formats percentages and labels every group', () => {
    const root = parseXml(renderFigure(specs.groupedBar));
    expect(tickLabels(root, 'x-ticks').map((t) => t.label)).toEqual(['L0', 'L1', 'L2', 'L3', 'L4', 'L5']);
    expect(tickLabels(root, 'y-ticks').every((t) => t.label.endsWith('%'))).toBe(true);
  });

  it('rejects values that do not match the groups', () => {
    expect(() => groupedBarChart({ groups: ['a', 'b'], series: [{ name: 's', values: [1] }] })).toThrow(
      'values has 1 entries, groups has 2',
    );
    expect(() =>
      groupedBarChart({ groups: ['a'], series: [{ name: 's', values: [1], errors: [-1] }] }),
    ).toThrow('errors[0]');
  });
});

describe('histograms', () => {
  it('bin densities are count / (N width), so that the bars have area 1 (hand counts)', () => {
    expect(binDensities({ edges: [0, 1, 2], counts: [2, 3] })).toEqual([0.4, 0.6]);
    expect(binDensities({ edges: [0, 0.5, 2], counts: [1, 3] })).toEqual([0.5, 0.5]);
  });

  it('colours bins by quantile band and lists the bands in the legend', () => {
    const svg = histogram(
      {
        edges: [0, 1, 2, 3, 4],
        counts: [4, 3, 2, 1],
        bands: [
          { from: 0, to: 2, label: 'low' },
          { from: 2, to: 4, label: 'high' },
        ],
      },
      { xLabel: 'activation' },
    );
    const root = parseXml(svg);
    const bars = byTag(group(root, 'marks'), 'rect');
    expect(bars).toHaveLength(4);
    const fills = bars.map((r) => r.attrs.fill);
    expect(fills[0]).toBe(fills[1]);
    expect(fills[2]).toBe(fills[3]);
    expect(fills[1]).not.toBe(fills[2]);
    expect(byTag(group(root, 'legend'), 'text').map(allText)).toEqual(['low', 'high']);
    expect(Number(bars[0].attrs.height) / Number(bars[3].attrs.height)).toBeCloseTo(4, 1);
    expect(allText(group(root, 'y-label'))).toBe('count');
  });

  it('draws log10 densities on a log axis, leaving empty bins out', () => {
    const root = parseXml(
      histogram({ edges: [0, 1, 2, 3], counts: [1000, 0, 10] }, { yMode: 'log10-density' }),
    );
    const bars = byTag(group(root, 'marks'), 'rect');
    expect(bars).toHaveLength(2);
    expect(
      tickLabels(root, 'y-ticks').some((t) => /10/.test(t.label) || t.label === '1' || t.label === '0.01'),
    ).toBe(true);
    expect(() => histogram({ edges: [0, 1], counts: [0] }, { yMode: 'log10-density' })).toThrow('empty');
    expect(() => histogram({ edges: [0, 1], counts: [1, 2] })).toThrow('needs 3 edges');
    expect(() => histogram({ edges: [0, 0, 1], counts: [1, 2] })).toThrow('edges must increase');
  });

  it('formats p-values with two significant digits', () => {
    expect(formatPValue(0.05)).toBe('0.050');
    expect(formatPValue(0.0123)).toBe('0.012');
    expect(formatPValue(1 / 1001)).toBe('1.0 × 10⁻³');
    expect(formatPValue(2.5e-5)).toBe('2.5 × 10⁻⁵');
    expect(() => formatPValue(1.5)).toThrow('[0, 1]');
  });

  it('marks the observed value and puts N and p in the legend', () => {
    const svg = nullHistogram(
      { null: { edges: [0, 1, 2], counts: [30, 70] }, observed: 1.5, pValue: 0.2 },
      { width: 400, xDomain: [0, 2] },
    );
    const root = parseXml(svg);
    const legend = allText(group(root, 'legend'));
    expect(legend).toContain('null (N = 100)');
    expect(legend).toContain('observed = 1.5 (p = 0.20)');
    const line = byTag(group(root, 'marks'), 'line')[0];
    const bars = byTag(group(root, 'marks'), 'rect');
    // The observed line sits halfway across the second bin.
    const x0 = Number(bars[1].attrs.x);
    const x1 = x0 + Number(bars[1].attrs.width);
    expect(Number(line.attrs.x1)).toBeCloseTo((x0 + x1) / 2, 0);
  });
});

describe('heatmap', () => {
  function image(svg: string) {
    const root = parseXml(svg);
    const img = byTag(root, 'image')[0];
    const href = img.attrs.href;
    expect(href.startsWith('data:image/png;base64,')).toBe(true);
    const png = decode(Buffer.from(href.slice('data:image/png;base64,'.length), 'base64'));
    return { root, img, png };
  }
  /** RGBA of cell (column x, row y): the centre pixel of its block. */
  const pixel = (png: ReturnType<typeof decode>, x: number, y: number, cols = 0) => {
    const k = cols > 0 ? png.width / cols : 1;
    const [px, py] = [Math.floor((x + 0.5) * k), Math.floor((y + 0.5) * k)];
    return Array.from(png.data.slice(4 * (py * png.width + px), 4 * (py * png.width + px) + 4));
  };

  it('embeds a PNG of k × k pixels per cell whose colours follow the diverging scale', () => {
    const values = [1, 0, -1, NaN, 0.5, -0.5];
    const { png, img } = image(heatmap({ rows: 2, cols: 3, values }, { domain: [-1, 1] }));
    // Cells of about 150 px on screen get blocks of 3.2 × that, capped at 1,024 / 3 = 341 px.
    const k = png.width / 3;
    expect(Number.isInteger(k)).toBe(true);
    expect(k).toBe(
      Math.min(341, Math.ceil(3.2 * Math.min(Number(img.attrs.width) / 3, Number(img.attrs.height) / 2))),
    );
    expect([png.width, png.height, png.channels]).toEqual([3 * k, 2 * k, 4]);
    // Every pixel of a block has the cell's colour.
    const block = new Set<string>();
    for (let y = 0; y < k; y++)
      for (let x = 0; x < k; x++)
        block.add(String(Array.from(png.data.slice(4 * (y * png.width + x), 4 * (y * png.width + x) + 4))));
    expect(block.size).toBe(1);
    expect(pixel(png, 0, 0, 3)).toEqual([...colourBytes('#67001f'), 255]);
    expect(pixel(png, 2, 0, 3)).toEqual([...colourBytes('#053061'), 255]);
    const zero = pixel(png, 1, 0, 3);
    colourBytes('#f7f7f7').forEach((c, i) => expect(Math.abs(zero[i] - c)).toBeLessThanOrEqual(2));
    expect(pixel(png, 0, 1, 3)[3]).toBe(0);
    // +0.5 is redder than white, −0.5 bluer.
    const [pr, , pb] = pixel(png, 1, 1, 3);
    const [nr, , nb] = pixel(png, 2, 1, 3);
    expect(pr).toBeGreaterThan(pb);
    expect(nb).toBeGreaterThan(nr);
  });

  it('keeps 0 neutral with an asymmetric domain and clamps beyond it', () => {
    const { png } = image(heatmap({ rows: 1, cols: 3, values: [0, 5, -0.2] }, { domain: [-0.2, 1] }));
    expect(pixel(png, 1, 0, 3)).toEqual([...colourBytes('#67001f'), 255]);
    expect(pixel(png, 2, 0, 3)).toEqual([...colourBytes('#053061'), 255]);
    expect(() => heatmap({ rows: 1, cols: 1, values: [0] }, { domain: [0.1, 1] })).toThrow('contain 0');
  });

  it('reorders rows and columns', () => {
    const values = [1, -1, -1, 1];
    const { png } = image(heatmap({ rows: 2, cols: 2, values }, { rowOrder: [1, 0], domain: [-1, 1] }));
    expect(pixel(png, 0, 0, 2)).toEqual([...colourBytes('#053061'), 255]);
    expect(pixel(png, 1, 0, 2)).toEqual([...colourBytes('#67001f'), 255]);
    expect(() => heatmap({ rows: 2, cols: 2, values }, { rowOrder: [0, 0] })).toThrow('rowOrder[1] = 0');
  });

  it('uses viridis for a sequential scale and draws a square plot for a square matrix', () => {
    const { png, img } = image(
      heatmap({ rows: 2, cols: 2, values: [0, 1, 2, 3] }, { scale: 'sequential', width: 700, height: 400 }),
    );
    expect(pixel(png, 0, 0, 2)).toEqual([...colourBytes('#440154'), 255]);
    expect(pixel(png, 1, 1, 2)).toEqual([...colourBytes('#fde725'), 255]);
    expect(Number(img.attrs.width)).toBeCloseTo(Number(img.attrs.height), 0);
    expect(img.attrs['image-rendering']).toBe('optimizeSpeed');
  });

  it('labels rows and columns by name when they fit, and has a colour bar', () => {
    const root = parseXml(
      heatmap(
        { rows: 2, cols: 2, values: [1, 0, 0, 1], rowNames: ['base', 'DPO'], colNames: ['base', 'DecPO'] },
        { colourbarLabel: 'r' },
      ),
    );
    expect(tickLabels(root, 'x-ticks').map((t) => t.label)).toEqual(['base', 'DecPO']);
    expect(tickLabels(root, 'y-ticks').map((t) => t.label)).toEqual(['base', 'DPO']);
    const bar = group(root, 'colourbar');
    expect(byTag(bar, 'stop').length).toBeGreaterThan(10);
    expect(allText(bar)).toContain('r');
  });

  it('keeps one pixel per cell when cells are smaller than a pixel', () => {
    const n = 600;
    const { png } = image(
      heatmap({ rows: n, cols: n, values: new Float32Array(n * n) }, { width: 500, height: 500 }),
    );
    expect([png.width, png.height]).toEqual([n, n]);
  });

  it('rejects a values array of the wrong size, naming it', () => {
    expect(() => heatmap({ rows: 2, cols: 2, values: [1, 2, 3] })).toThrow('rows × cols = 4');
    expect(() => heatmap({ rows: 5000, cols: 1, values: [] })).toThrow('data.rows');
  });
});

describe('scatter', () => {
  it('draws every finite point, threshold lines and their labels', () => {
    const root = parseXml(renderFigure(specs.scatter));
    const dots = byTag(group(root, 'points'), 'circle');
    expect(dots).toHaveLength(400);
    const lines = byTag(group(root, 'marks'), 'line');
    expect(lines).toHaveLength(3);
    expect(allText(root)).toContain('r = 0.5');
    // Single series: no legend.
    expect(findAll(root, (e) => e.attrs.class === 'legend')).toHaveLength(0);
  });

  it('puts points where the scales say', () => {
    const root = parseXml(
      scatter(
        { series: [{ name: 'a', x: [0, 1, NaN], y: [0, 1, 2] }] },
        { xDomain: [0, 1], yDomain: [0, 1] },
      ),
    );
    const [p0, p1] = byTag(root, 'circle');
    expect(byTag(root, 'circle')).toHaveLength(2);
    const clip = byTag(root, 'clipPath')[0].children[0].attrs;
    expect(Number(p0.attrs.cx)).toBeCloseTo(Number(clip.x), 1);
    expect(Number(p1.attrs.cx)).toBeCloseTo(Number(clip.x) + Number(clip.width), 1);
    expect(Number(p1.attrs.cy)).toBeLessThan(Number(p0.attrs.cy));
  });
});

describe('tokenContexts', () => {
  it('highlights tokens by activation and outlines the focus token', () => {
    const root = parseXml(
      tokenContexts(
        { contexts: [{ tokens: ['a', ' b', ' c'], values: [0, 2, 1] }], maxValue: 2 },
        { title: 'ctx' },
      ),
    );
    const row = findAll(root, (e) => e.attrs.class === 'context')[0];
    const rects = byTag(row, 'rect');
    const fills = rects.filter((r) => r.attrs.fill !== 'none');
    expect(fills.map((r) => Number(r.attrs['fill-opacity']))).toEqual([0.9, 0.45]);
    expect(rects.filter((r) => r.attrs.fill === 'none')).toHaveLength(1);
    expect(byTag(group(row, 'tokens'), 'text').map(allText)).toEqual(['a', '\u00a0b', '\u00a0c']);
    expect(allText(byTag(row, 'text', 'value')[0])).toBe('2');
  });

  it('grows with the rows and cuts long contexts around the focus', () => {
    const tokens = Array.from({ length: 200 }, (_, i) => ` t${i}`);
    const values = tokens.map((_, i) => (i === 150 ? 5 : 0));
    const short = parseXml(tokenContexts({ contexts: [{ tokens: ['x'], values: [1] }] }));
    const long = parseXml(
      tokenContexts(
        {
          contexts: [
            { tokens, values },
            { tokens, values },
          ],
        },
        { width: 500 },
      ),
    );
    expect(Number(long.attrs.height)).toBeGreaterThan(Number(short.attrs.height));
    const shown = byTag(findAll(long, (e) => e.attrs.class === 'tokens')[0], 'text').map(allText);
    expect(shown.length).toBeLessThan(200);
    expect(shown).toContain('\u00a0t150');
    expect(allText(findAll(long, (e) => e.attrs.class === 'context')[0])).toMatch(/^.*….*…$/);
  });

  it('finds the widest window around the focus that fits (hand case)', () => {
    // Five tokens of width 1, room 3.5, ellipsis 0.5, focus 2. Right to [2, 4): 2 + two ellipses = 3 fits;
    // left to [1, 4) would cost 4. Right again to [2, 5): 3 + one ellipsis = 3.5 fits; left then costs 4.5.
    expect(visibleWindow([1, 1, 1, 1, 1], 2, 3.5, 0.5)).toEqual([2, 5]);
    expect(visibleWindow([1, 1, 1, 1, 1], 2, 5, 0.5)).toEqual([0, 5]);
    expect(visibleWindow([1, 1, 1], 0, 1, 0.5)).toEqual([0, 1]);
  });

  it('shows whitespace and control characters visibly', () => {
    expect(displayToken('\n')).toBe('↵');
    expect(displayToken('\t x')).toBe('→\u00a0x');
    expect(displayToken('\u0007')).toBe('\ufffd');
  });

  it('rejects contexts whose values do not match the tokens', () => {
    expect(() => tokenContexts({ contexts: [{ tokens: ['a'], values: [] }] })).toThrow('contexts[0]');
    expect(() => tokenContexts({ contexts: [{ tokens: ['a'], values: [1], focus: 3 }] })).toThrow(
      'focus = 3',
    );
  });
});

describe('smallMultiples', () => {
  it('places each panel as a nested SVG with its own ids', () => {
    const panels: FigureSpec[] = [0, 1, 2].map((i) => ({
      kind: 'heatmap',
      data: { rows: 2, cols: 2, values: [1, -1, -1, 1] },
      options: { title: `checkpoint ${i}` },
    }));
    const svg = smallMultiples(
      { panels },
      { columns: 2, title: 'three checkpoints', width: 800, height: 700 },
      renderFigure,
    );
    const root = parseXml(svg);
    const nested = root.children.filter((c) => c.name === 'svg');
    expect(nested).toHaveLength(3);
    expect(nested.map((n) => [Number(n.attrs.x), Number(n.attrs.y) > 0])).toEqual([
      [0, true],
      [400, true],
      [0, true],
    ]);
    const ids = findAll(root, (e) => e.attrs.id !== undefined).map((e) => e.attrs.id);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
