// SVG figures (src/shared/figures) to PNG with resvg, set in the fonts bundled in resources/fonts (system
// fonts are never used, so a PNG looks the same on every machine). Node only, hence in src/main.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import { BUNDLED_FONTS } from '../shared/figures/fonts.js';
import { withResolution } from '../shared/figures/png.js';

/** resources/fonts, found from this file's place (src/main or dist/main). */
export function defaultFontDir(): string {
  return fileURLToPath(new URL('../../resources/fonts/', import.meta.url));
}

/** Paths of the bundled font files in `fontDir`; throws naming the first missing file. */
export function fontFiles(fontDir = defaultFontDir()): string[] {
  return BUNDLED_FONTS.map((f) => {
    const path = join(fontDir, f.file);
    if (!existsSync(path))
      throw new Error(`svgToPng: font file ${path} is missing (expected in resources/fonts)`);
    return path;
  });
}

export interface PngOptions {
  /** Output width in pixels; overrides `dpi`. */
  width?: number;
  /** Pixels per inch; the SVG's px are 1/96 inch, so the PNG is (px / 96) × dpi wide. Default 96. */
  dpi?: number;
  /** Folder holding the bundled fonts; default resources/fonts. */
  fontDir?: string;
}

/** The SVG's width in px from its root `width` attribute (or viewBox). */
function svgWidth(svg: string): number {
  const root = svg.slice(svg.indexOf('<svg'), svg.indexOf('>', svg.indexOf('<svg')));
  const width = /\swidth="([\d.]+)(px)?"/.exec(root);
  if (width) return Number(width[1]);
  const viewBox = /\sviewBox="[-\d.]+[ ,]+[-\d.]+[ ,]+([\d.]+)/.exec(root);
  if (viewBox) return Number(viewBox[1]);
  throw new Error('svgToPng: the SVG root has neither a width nor a viewBox');
}

/**
 * The PNG of `svg`, `dpi`/96 times its px size (or `width` px wide), rendered by resvg with the bundled
 * fonts. The PNG carries its resolution in a pHYs chunk (PNG spec §11.3.5.3: pixels per metre =
 * dpi / 0.0254), so documents place it at the figure's physical size.
 */
export function svgToPng(svg: string, options: PngOptions = {}): Buffer {
  const dpi = options.dpi ?? 96;
  if (!(dpi > 0 && dpi <= 2400)) throw new Error(`svgToPng: dpi must be in (0, 2400], got ${dpi}`);
  if (
    options.width !== undefined &&
    !(Number.isInteger(options.width) && options.width > 0 && options.width <= 32768)
  ) {
    throw new Error(`svgToPng: width must be a whole number of pixels from 1 to 32768, got ${options.width}`);
  }
  const cssWidth = svgWidth(svg);
  const outWidth = options.width ?? Math.round((cssWidth * dpi) / 96);
  const resvg = new Resvg(svg, {
    fitTo: { mode: 'width', value: outWidth },
    font: {
      loadSystemFonts: false,
      fontFiles: fontFiles(options.fontDir),
      defaultFontFamily: 'Inter',
      sansSerifFamily: 'Inter',
      monospaceFamily: 'DejaVu Sans Mono',
    },
    imageRendering: 0,
    logLevel: 'off',
  });
  const png = resvg.render().asPng();
  const effectiveDpi = (outWidth / cssWidth) * 96;
  return Buffer.from(withResolution(png, effectiveDpi));
}
