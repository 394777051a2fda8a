/**
 * The built renderer's files, as the HTTP server of `monoscope serve` and the app's `app://` protocol serve
 * them: which file a URL path names (never one outside the folder), and its MIME type.
 */
import { extname, join, normalize, sep } from 'node:path';

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.map': 'application/json',
  '.ico': 'image/x-icon',
};

/** The MIME type of a file, by its extension (`application/octet-stream` when unknown). */
export function mimeType(file: string): string {
  return MIME[extname(file).toLowerCase()] ?? 'application/octet-stream';
}

/**
 * The file of `dir` that the URL path `pathname` names (`/` is `index.html`), after %-decoding; `outside`
 * when it would lie outside `dir` (`..` segments, encoded or not, backslashes, NUL), `malformed` for a bad
 * %-escape.
 */
export function fileInside(dir: string, pathname: string): string | 'outside' | 'malformed' {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return 'malformed';
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return 'outside';
  const rel = decoded.replace(/^\/+/, '') || 'index.html';
  const file = normalize(join(dir, rel));
  return file.startsWith(dir + sep) ? file : 'outside';
}
