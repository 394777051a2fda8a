// Colours of the figures, light and dark. Categorical colours are the Okabe–Ito palette (Okabe & Ito,
// "Color Universal Design", 2008), distinguishable under the common colour-vision deficiencies. The diverging
// scale for correlations is ColorBrewer RdBu (blue = negative, red = positive; Harrower & Brewer 2003) in the
// light theme, and a dark-centred blue–orange ramp in the dark theme; the sequential scale is viridis.
import { interpolateLab, interpolateViridis, piecewise, rgb } from 'd3';

export type ThemeName = 'light' | 'dark';

export interface Theme {
  name: ThemeName;
  background: string;
  /** Titles, axis labels, tick labels. */
  foreground: string;
  /** Subtitles, captions, secondary text. */
  muted: string;
  /** Axis lines and tick marks. */
  axis: string;
  /** Grid lines. */
  grid: string;
  /** Categorical series colours, in order of use. */
  categorical: string[];
  /** Stage colours, so that a stage keeps its colour across every figure. */
  stages: Record<string, string>;
  /** Maps t in [0, 1] (0 = most negative, 0.5 = zero, 1 = most positive) to a colour. */
  diverging: (t: number) => string;
  /** Maps t in [0, 1] to a colour of a perceptually uniform ramp. */
  sequential: (t: number) => string;
  /** Token highlight colours of positive and negative activations. */
  positive: string;
  negative: string;
}

// RdBu from blue (t = 0) through white to red (t = 1).
const RDBU = [
  '#053061',
  '#2166ac',
  '#4393c3',
  '#92c5de',
  '#d1e5f0',
  '#f7f7f7',
  '#fddbc7',
  '#f4a582',
  '#d6604d',
  '#b2182b',
  '#67001f',
];
const DARK_DIVERGING = [
  '#9ecae1',
  '#4a90c2',
  '#245d8a',
  '#17324a',
  '#1f2127',
  '#4d2a17',
  '#8f4514',
  '#d0701c',
  '#fdb863',
];

export const lightTheme: Theme = {
  name: 'light',
  background: '#ffffff',
  foreground: '#1b1d21',
  muted: '#5b616b',
  axis: '#3a3e45',
  grid: '#e6e8eb',
  categorical: ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000', '#F0E442'],
  stages: {
    base: '#7a7f87',
    sft: '#E69F00',
    dpo: '#D55E00',
    decpo: '#0072B2',
    simpo: '#CC79A7',
    l1: '#009E73',
  },
  diverging: piecewise(interpolateLab, RDBU),
  sequential: interpolateViridis,
  positive: '#E69F00',
  negative: '#0072B2',
};

export const darkTheme: Theme = {
  name: 'dark',
  background: '#15171c',
  foreground: '#e8eaee',
  muted: '#a2a8b3',
  axis: '#a2a8b3',
  grid: '#2b2f37',
  categorical: ['#56B4E9', '#E69F00', '#009E73', '#CC79A7', '#F0E442', '#D55E00', '#ffffff', '#0072B2'],
  stages: {
    base: '#a2a8b3',
    sft: '#F0E442',
    dpo: '#E69F00',
    decpo: '#56B4E9',
    simpo: '#CC79A7',
    l1: '#009E73',
  },
  diverging: piecewise(interpolateLab, DARK_DIVERGING),
  sequential: interpolateViridis,
  positive: '#E69F00',
  negative: '#56B4E9',
};

/** The theme called `name`. */
export function themeOf(name: ThemeName | undefined): Theme {
  return name === 'dark' ? darkTheme : lightTheme;
}

/** [r, g, b] bytes of a CSS colour. */
export function colourBytes(colour: string): [number, number, number] {
  const c = rgb(colour);
  return [Math.round(c.r), Math.round(c.g), Math.round(c.b)];
}

/**
 * Colour of the i-th group of series: an explicit colour wins, then the stage colour (base, sft, dpo, decpo,
 * simpo, l1), then the categorical palette in order.
 */
export function seriesColour(theme: Theme, index: number, colour?: string, stage?: string): string {
  if (colour) return colour;
  if (stage && theme.stages[stage]) return theme.stages[stage];
  return theme.categorical[index % theme.categorical.length];
}
