// Figure export in the browser: SVG and CSV as files, PNG by drawing the SVG onto a canvas at the chosen
// DPI. An SVG drawn as an image cannot use the page's fonts, so the bundled fonts are embedded first.
import { embedFonts, type FontData } from '../../shared/figures/fonts.js';
import { withResolution } from '../../shared/figures/png.js';

/** The bundled fonts as data: URLs, loaded on first use (a separate chunk, not in the main bundle). */
export async function bundledFonts(): Promise<FontData[]> {
  const [regular, semibold, mono] = await Promise.all([
    import('../../../resources/fonts/Inter-Regular.ttf?inline'),
    import('../../../resources/fonts/Inter-SemiBold.ttf?inline'),
    import('../../../resources/fonts/DejaVuSansMono.ttf?inline'),
  ]);
  return [
    { family: 'Inter', weight: 400, data: regular.default },
    { family: 'Inter', weight: 600, data: semibold.default },
    { family: 'DejaVu Sans Mono', weight: 400, data: mono.default },
  ];
}

/** `svg` with the bundled fonts embedded, so it renders the same anywhere. */
export async function selfContainedSvg(svg: string): Promise<string> {
  return embedFonts(svg, await bundledFonts());
}

/**
 * A PNG of `svg` (sized `width` × `height` CSS px) at `dpi`: (px / 96) × dpi pixels, with a pHYs chunk
 * recording the DPI.
 */
export async function svgToPngBlob(svg: string, width: number, height: number, dpi: number): Promise<Blob> {
  const url = URL.createObjectURL(new Blob([await selfContainedSvg(svg)], { type: 'image/svg+xml' }));
  try {
    const image = new Image();
    image.src = url;
    await image.decode();
    const canvas = document.createElement('canvas');
    canvas.width = Math.round((width * dpi) / 96);
    canvas.height = Math.round((height * dpi) / 96);
    const context = canvas.getContext('2d');
    if (!context) throw new Error('PNG export: this browser gives no 2D canvas');
    context.drawImage(image, 0, 0, canvas.width, canvas.height);
    const blob = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, 'image/png'));
    if (!blob)
      throw new Error(`PNG export: the canvas of ${canvas.width}×${canvas.height} px could not be encoded`);
    const png = withResolution(new Uint8Array(await blob.arrayBuffer()), dpi);
    return new Blob([png as Uint8Array<ArrayBuffer>], { type: 'image/png' });
  } finally {
    URL.revokeObjectURL(url);
  }
}

/** Offers `blob` as a download named `fileName`. */
export function downloadBlob(blob: Blob, fileName: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
