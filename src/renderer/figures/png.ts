// PNG encoding of rasters embedded in SVG figures (heatmaps), with fast-png; runs in browsers and Node.
import { encode } from 'fast-png';

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Standard base64 (RFC 4648 §4, with padding) of `bytes`. */
export function base64(bytes: Uint8Array): string {
  const parts: string[] = [];
  let chunk = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const a = bytes[i];
    const b = i + 1 < bytes.length ? bytes[i + 1] : 0;
    const c = i + 2 < bytes.length ? bytes[i + 2] : 0;
    const n = (a << 16) | (b << 8) | c;
    chunk +=
      BASE64[(n >> 18) & 63] +
      BASE64[(n >> 12) & 63] +
      (i + 1 < bytes.length ? BASE64[(n >> 6) & 63] : '=') +
      (i + 2 < bytes.length ? BASE64[n & 63] : '=');
    if (chunk.length >= 8192) {
      parts.push(chunk);
      chunk = '';
    }
  }
  parts.push(chunk);
  return parts.join('');
}

/** A `data:image/png;base64,…` URL of an 8-bit RGBA image (`rgba` is width × height × 4 bytes, row-major). */
export function rgbaToPngDataUrl(width: number, height: number, rgba: Uint8Array): string {
  if (rgba.length !== width * height * 4) {
    throw new Error(
      `rgbaToPngDataUrl: expected ${width * height * 4} bytes for ${width}×${height}, got ${rgba.length}`,
    );
  }
  const png = encode({ width, height, data: rgba, channels: 4, depth: 8 }, { zlib: { level: 6 } });
  return 'data:image/png;base64,' + base64(png);
}
