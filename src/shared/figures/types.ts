// Data and option shapes of every figure. Plain data: numbers, strings and arrays, so a figure can be
// described in JSON (the CLI's `export figure` reads one) and rendered the same in the app and in Node.
import type { ThemeName } from './theme.js';

/**
 * The caption line under a figure: free text, or fields such as run ids and settings, printed as
 * `key: value · key: value` (e.g. `{ run: 'r-7f3a', regularizer: 'barlow', 'null N': 1000 }`).
 */
export type Caption = string | Record<string, string | number | boolean>;

/** Options shared by every figure. Sizes are CSS px (96 per inch). */
export interface FigureOptions {
  /** Width in px; default 640. */
  width?: number;
  /** Height in px; default 400 (token contexts grow with the number of rows). */
  height?: number;
  theme?: ThemeName;
  /** Base font size in px (tick labels); titles are 1.25×, captions 0.85×. Default 12. */
  fontSize?: number;
  title?: string;
  subtitle?: string;
  caption?: Caption;
  /** No background rectangle, for figures placed on coloured slides. */
  transparent?: boolean;
  /** Prefix of element ids (gradients, clip paths), unique when several figures share one document. */
  id?: string;
}

/** Options of figures with x and y axes. */
export interface ChartOptions extends FigureOptions {
  xLabel?: string;
  yLabel?: string;
  /** Where the legend goes; default `top` (a row under the title), `none` hides it. */
  legend?: 'top' | 'right' | 'none';
  /** Fixed axis ranges; by default they fit the data. */
  xDomain?: [number, number];
  yDomain?: [number, number];
}

/** One curve of a line chart. */
export interface LineSeries {
  name: string;
  x: number[];
  /** NaN or non-finite values leave a gap. */
  y: number[];
  /**
   * A band around the curve, e.g. a 95% confidence interval: its lower and upper edge at each x (the
   * lengths of x). Drawn as a faint area in the series' colour; non-finite edges leave a gap.
   */
  band?: { lo: number[]; hi: number[] };
  /** `eval` series are drawn dashed with point markers. Default `train`. */
  kind?: 'train' | 'eval';
  /** Series with the same group share a colour (e.g. a run's train and eval curves). Default: the name. */
  group?: string;
  /** A stage name (base, sft, dpo, decpo, simpo, l1) picks that stage's colour. */
  stage?: string;
  colour?: string;
}

export interface LineChartData {
  series: LineSeries[];
}

export interface LineChartOptions extends ChartOptions {
  /** Logarithmic y axis; non-positive values are left out. */
  logY?: boolean;
  /** Logarithmic x axis; points at non-positive x are left out. */
  logX?: boolean;
  /**
   * Exponential-moving-average weight in [0, 1) as in TensorBoard (0 = none). Smoothed curves are drawn
   * solid over the raw ones, which stay faint. Eval series are not smoothed.
   */
  smoothing?: number;
}

/** One series of a grouped bar chart: one value per group. */
export interface BarSeries {
  name: string;
  values: number[];
  /** Per value: a symmetric half-width, an interval [lo, hi], or null for none. */
  errors?: (number | [number, number] | null)[];
  stage?: string;
  colour?: string;
}

export interface GroupedBarData {
  /** Group labels along x, e.g. layers `L0`…`L5`. */
  groups: string[];
  series: BarSeries[];
}

export interface GroupedBarOptions extends ChartOptions {
  /** Format y ticks as percentages of 1 (0.25 → 25%). */
  percent?: boolean;
}

/** A histogram: bin edges (ascending, counts.length + 1 of them) and counts. */
export interface Bins {
  edges: number[];
  counts: number[];
}

/** A value interval coloured as one band, e.g. the activations between the 90th and 99th percentile. */
export interface Band {
  from: number;
  to: number;
  label: string;
}

export interface HistogramData extends Bins {
  /** Colour bins by the band their centre falls in (quantile intervals); uncovered bins stay grey. */
  bands?: Band[];
}

export interface HistogramOptions extends ChartOptions {
  /** `count` (default), `density` (count / (N · bin width)), or `log10-density` (density on a log axis). */
  yMode?: 'count' | 'density' | 'log10-density';
}

/** A permutation null distribution and the observed statistic. */
export interface NullHistogramData {
  /** The null statistics, binned. */
  null: Bins;
  observed: number;
  /** The p-value, computed by the analysis (its formula belongs in the caption). */
  pValue: number;
  /** Name of the statistic, e.g. `mean |r|`. */
  statistic?: string;
}

export interface HeatmapData {
  rows: number;
  cols: number;
  /** Row-major values, rows × cols; NaN cells are drawn transparent. */
  values: ArrayLike<number>;
  rowNames?: string[];
  colNames?: string[];
}

export interface HeatmapOptions extends FigureOptions {
  /** `diverging` (default) centres the colour scale at 0; `sequential` uses viridis from min to max. */
  scale?: 'diverging' | 'sequential';
  /** Colour-scale range; diverging default [−m, m] with m = max |value|, e.g. [−1, 1] for correlations. */
  domain?: [number, number];
  /** Display order of rows and columns: permutations of 0…n−1 (e.g. from clustering). */
  rowOrder?: number[];
  colOrder?: number[];
  xLabel?: string;
  yLabel?: string;
  colourbarLabel?: string;
}

/** One set of points of a scatter plot. */
export interface ScatterSeries {
  name: string;
  x: number[];
  y: number[];
  stage?: string;
  colour?: string;
}

/** A reference line: x = value (vertical), y = value (horizontal). */
export interface Threshold {
  value: number;
  label?: string;
}

export interface ScatterData {
  series: ScatterSeries[];
  thresholds?: { x?: Threshold[]; y?: Threshold[]; diagonal?: boolean };
}

export interface ScatterOptions extends ChartOptions {
  /** Point radius in px; default 2.5. */
  radius?: number;
  /** Point opacity; default 0.7. */
  opacity?: number;
}

/** One context: its tokens and the activation on each. */
export interface TokenContext {
  tokens: string[];
  values: number[];
  /** The token the context is centred on (default: the largest activation). */
  focus?: number;
  /** Shown left of the tokens; default the focus token's activation. */
  label?: string;
}

export interface TokenContextsData {
  contexts: TokenContext[];
  /** Activation that gets full colour; default max |value| over all contexts. */
  maxValue?: number;
}

export type TokenContextsOptions = FigureOptions;

/** A figure named by kind, with its data and options: what the app shows and the CLI exports. */
export type FigureSpec =
  | { kind: 'line'; data: LineChartData; options?: LineChartOptions }
  | { kind: 'groupedBar'; data: GroupedBarData; options?: GroupedBarOptions }
  | { kind: 'histogram'; data: HistogramData; options?: HistogramOptions }
  | { kind: 'nullHistogram'; data: NullHistogramData; options?: ChartOptions }
  | { kind: 'heatmap'; data: HeatmapData; options?: HeatmapOptions }
  | { kind: 'scatter'; data: ScatterData; options?: ScatterOptions }
  | { kind: 'tokenContexts'; data: TokenContextsData; options?: TokenContextsOptions }
  | { kind: 'smallMultiples'; data: SmallMultiplesData; options?: SmallMultiplesOptions };

/** Several figures side by side in a grid, e.g. one heatmap per checkpoint. */
export interface SmallMultiplesData {
  panels: FigureSpec[];
}

export interface SmallMultiplesOptions extends FigureOptions {
  /** Panels per row; default all in one row. */
  columns?: number;
}
