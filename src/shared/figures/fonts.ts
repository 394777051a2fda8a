// The fonts figures are set in, and embedding them into an SVG so that it renders the same anywhere
// (an SVG drawn as an image, e.g. onto a canvas for PNG export, cannot reach the page's fonts).
import { base64 } from './png.js';

/** A bundled font file in resources/fonts and the CSS face it provides. */
export interface BundledFont {
  file: string;
  family: string;
  weight: number;
}

/** The fonts in resources/fonts: Inter (SIL OFL 1.1) and DejaVu Sans Mono (Bitstream Vera licence). */
export const BUNDLED_FONTS: BundledFont[] = [
  { file: 'Inter-Regular.ttf', family: 'Inter', weight: 400 },
  { file: 'Inter-SemiBold.ttf', family: 'Inter', weight: 600 },
  { file: 'DejaVuSansMono.ttf', family: 'DejaVu Sans Mono', weight: 400 },
];

/** A font face to embed: its TrueType bytes, or a ready `data:` URL of them. */
export interface FontData {
  family: string;
  weight: number;
  data: Uint8Array | string;
}

/** One CSS @font-face rule per font, the TrueType file as a data: URL (for an SVG's or a page's <style>). */
export function fontFaceCss(fonts: FontData[]): string {
  return fonts
    .map(
      (f) =>
        `@font-face{font-family:'${f.family.replace(/'/g, '')}';font-weight:${f.weight};font-style:normal;` +
        `src:url(${typeof f.data === 'string' ? f.data : `data:font/ttf;base64,${base64(f.data)}`}) format('truetype')}`,
    )
    .join('');
}

/** `svg` with an @font-face rule per font (the TrueType file as a data: URL) inserted after the root tag. */
export function embedFonts(svg: string, fonts: FontData[]): string {
  const open = svg.indexOf('>', svg.indexOf('<svg'));
  if (open < 0) throw new Error('embedFonts: no <svg> root element');
  return `${svg.slice(0, open + 1)}<defs><style>${fontFaceCss(fonts)}</style></defs>${svg.slice(open + 1)}`;
}
