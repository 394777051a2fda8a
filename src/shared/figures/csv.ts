// The data behind each figure as CSV (RFC 4180 quoting by d3-dsv), one tidy table per figure.
import { csvFormatRows } from 'd3';
import { binDensities } from './histogram.js';
import { emaSmooth } from './lineChart.js';
import { errorInterval } from './groupedBarChart.js';
import type {
  FigureSpec,
  GroupedBarData,
  HeatmapData,
  HeatmapOptions,
  HistogramData,
  LineChartData,
  LineChartOptions,
  NullHistogramData,
  ScatterData,
  TokenContextsData,
} from './types.js';

type Cell = string | number | boolean | null | undefined;

function csv(header: string[], rows: Cell[][]): string {
  const text = (v: Cell) =>
    v === null || v === undefined ? '' : typeof v === 'number' && Number.isNaN(v) ? 'NaN' : String(v);
  return csvFormatRows([header, ...rows.map((row) => row.map(text))]) + '\n';
}

/**
 * `series,kind,x,y` per point, plus `y_smoothed` (the EMA the chart draws) when smoothing is on and
 * `y_lo,y_hi` (the band's edges) when a series has a band.
 */
export function lineChartCsv(data: LineChartData, options: LineChartOptions = {}): string {
  const smoothing = options.smoothing ?? 0;
  const bands = data.series.some((s) => s.band);
  const rows: Cell[][] = [];
  for (const s of data.series) {
    const smooth = smoothing > 0 && s.kind !== 'eval' ? emaSmooth(s.y, smoothing) : undefined;
    s.x.forEach((x, i) =>
      rows.push([
        s.name,
        s.kind ?? 'train',
        x,
        s.y[i],
        ...(smoothing > 0 ? [smooth?.[i]] : []),
        ...(bands ? [s.band?.lo[i], s.band?.hi[i]] : []),
      ]),
    );
  }
  const header = ['series', 'kind', 'x', 'y', ...(smoothing > 0 ? ['y_smoothed'] : [])];
  return csv([...header, ...(bands ? ['y_lo', 'y_hi'] : [])], rows);
}

/** `group,series,value,error_lo,error_hi` per bar. */
export function groupedBarCsv(data: GroupedBarData): string {
  const rows: Cell[][] = [];
  data.groups.forEach((g, j) => {
    for (const s of data.series) {
      const e = errorInterval(s.values[j], s.errors?.[j]);
      rows.push([g, s.name, s.values[j], e?.[0], e?.[1]]);
    }
  });
  return csv(['group', 'series', 'value', 'error_lo', 'error_hi'], rows);
}

/** `bin_lo,bin_hi,count,density,band` per bin. */
export function histogramCsv(data: HistogramData): string {
  const density = binDensities(data);
  const bands = data.bands ?? [];
  const rows = data.counts.map((c, i) => {
    const centre = (data.edges[i] + data.edges[i + 1]) / 2;
    const band = bands.find(
      (b, k) => centre >= b.from && (centre < b.to || (k === bands.length - 1 && centre <= b.to)),
    );
    return [data.edges[i], data.edges[i + 1], c, density[i], band?.label];
  });
  return csv(['bin_lo', 'bin_hi', 'count', 'density', 'band'], rows);
}

/** `quantity,bin_lo,bin_hi,value`: one `null_count` row per bin, then `observed` and `p_value`. */
export function nullHistogramCsv(data: NullHistogramData): string {
  const rows: Cell[][] = data.null.counts.map((c, i) => [
    'null_count',
    data.null.edges[i],
    data.null.edges[i + 1],
    c,
  ]);
  rows.push(['observed', null, null, data.observed], ['p_value', null, null, data.pValue]);
  return csv(['quantity', 'bin_lo', 'bin_hi', 'value'], rows);
}

/** The matrix in display order: a header of column names (or indices), then one row per matrix row. */
export function heatmapCsv(data: HeatmapData, options: HeatmapOptions = {}): string {
  const rowOrder = options.rowOrder ?? Array.from({ length: data.rows }, (_, i) => i);
  const colOrder = options.colOrder ?? Array.from({ length: data.cols }, (_, i) => i);
  const rowName = (i: number) => data.rowNames?.[i] ?? String(i);
  const colName = (i: number) => data.colNames?.[i] ?? String(i);
  const rows = rowOrder.map((r) => [rowName(r), ...colOrder.map((c) => data.values[r * data.cols + c])]);
  return csv(['row', ...colOrder.map(colName)], rows);
}

/** `series,x,y` per point. */
export function scatterCsv(data: ScatterData): string {
  const rows: Cell[][] = [];
  for (const s of data.series) s.x.forEach((x, i) => rows.push([s.name, x, s.y[i]]));
  return csv(['series', 'x', 'y'], rows);
}

/** `context,position,token,value,focus` per token (focus = the token the row is centred on). */
export function tokenContextsCsv(data: TokenContextsData): string {
  const rows: Cell[][] = [];
  data.contexts.forEach((c, i) => {
    let focus = c.focus;
    if (focus === undefined) focus = c.values.reduce((best, v, k) => (v > c.values[best] ? k : best), 0);
    c.tokens.forEach((t, k) => rows.push([i, k, t, c.values[k], k === focus]));
  });
  return csv(['context', 'position', 'token', 'value', 'focus'], rows);
}

/**
 * The panels' tables stacked under a leading `panel` column (the panel's title, else `panel i`): one header
 * when all panels share it, else one block per panel separated by a blank line.
 */
function smallMultiplesCsv(panels: FigureSpec[]): string {
  const tables = panels.map((panel, i) => {
    const [header, ...rows] = figureCsv(panel).trimEnd().split('\n');
    const name = csvFormatRows([[panel.options?.title ?? `panel ${i + 1}`]]);
    return { header: `panel,${header}`, rows: rows.map((row) => `${name},${row}`) };
  });
  const shared = tables.every((t) => t.header === tables[0].header);
  if (shared) return [tables[0].header, ...tables.flatMap((t) => t.rows)].join('\n') + '\n';
  return tables.map((t) => [t.header, ...t.rows].join('\n')).join('\n\n') + '\n';
}

/** The CSV of any figure; small multiples stack their panels' tables under a `panel` column. */
export function figureCsv(spec: FigureSpec): string {
  switch (spec.kind) {
    case 'line':
      return lineChartCsv(spec.data, spec.options);
    case 'groupedBar':
      return groupedBarCsv(spec.data);
    case 'histogram':
      return histogramCsv(spec.data);
    case 'nullHistogram':
      return nullHistogramCsv(spec.data);
    case 'heatmap':
      return heatmapCsv(spec.data, spec.options);
    case 'scatter':
      return scatterCsv(spec.data);
    case 'tokenContexts':
      return tokenContextsCsv(spec.data);
    case 'smallMultiples':
      return smallMultiplesCsv(spec.data.panels);
    default:
      throw new Error(`figureCsv: unknown figure kind ${String((spec as { kind: unknown }).kind)}`);
  }
}
