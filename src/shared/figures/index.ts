// Figures: pure functions from data and options to SVG strings. Safe for browsers and Node (no DOM, no
// Node APIs); the Node-only PNG export lives in export.ts, which this index does not import.
export { renderFigure, FIGURE_KINDS } from './render.js';
export { lineChart, emaSmooth } from './lineChart.js';
export { groupedBarChart } from './groupedBarChart.js';
export { histogram, nullHistogram, binDensities, formatPValue } from './histogram.js';
export { heatmap, heatmapColourScale, heatmapRaster, MAX_HEATMAP_SIDE } from './heatmap.js';
export { scatter } from './scatter.js';
export { tokenContexts, displayToken } from './tokenContexts.js';
export { smallMultiples } from './smallMultiples.js';
export {
  figureCsv,
  lineChartCsv,
  groupedBarCsv,
  histogramCsv,
  nullHistogramCsv,
  heatmapCsv,
  scatterCsv,
  tokenContextsCsv,
} from './csv.js';
export { embedFonts, BUNDLED_FONTS, type BundledFont, type FontData } from './fonts.js';
export { lightTheme, darkTheme, themeOf, type Theme, type ThemeName } from './theme.js';
export { textWidth, SANS, MONO } from './text.js';
export type * from './types.js';
