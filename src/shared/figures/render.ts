// One entry point for every figure: a FigureSpec (kind, data, options) in, an SVG string out.
import { groupedBarChart } from './groupedBarChart.js';
import { heatmap } from './heatmap.js';
import { histogram, nullHistogram } from './histogram.js';
import { lineChart } from './lineChart.js';
import { scatter } from './scatter.js';
import { smallMultiples } from './smallMultiples.js';
import { tokenContexts } from './tokenContexts.js';
import type { FigureSpec } from './types.js';

/** The kinds `renderFigure` draws. */
export const FIGURE_KINDS = [
  'line',
  'groupedBar',
  'histogram',
  'nullHistogram',
  'heatmap',
  'scatter',
  'tokenContexts',
  'smallMultiples',
] as const;

/** The SVG of the figure `spec` describes. */
export function renderFigure(spec: FigureSpec): string {
  switch (spec.kind) {
    case 'line':
      return lineChart(spec.data, spec.options);
    case 'groupedBar':
      return groupedBarChart(spec.data, spec.options);
    case 'histogram':
      return histogram(spec.data, spec.options);
    case 'nullHistogram':
      return nullHistogram(spec.data, spec.options);
    case 'heatmap':
      return heatmap(spec.data, spec.options);
    case 'scatter':
      return scatter(spec.data, spec.options);
    case 'tokenContexts':
      return tokenContexts(spec.data, spec.options);
    case 'smallMultiples':
      return smallMultiples(spec.data, spec.options ?? {}, renderFigure);
    default:
      throw new Error(
        `renderFigure: unknown figure kind ${String((spec as { kind: unknown }).kind)}; expected one of ${FIGURE_KINDS.join(', ')}`,
      );
  }
}
