/**
 * The app's own origin, `app://monoscope/`: the window loads the built renderer from this privileged custom
 * scheme instead of `file://` (a `file://` page shares its origin with every file on disk). The handler
 * serves the files of the renderer folder only, with their MIME types and the page's CSP, and answers
 * anything else (another host, a path outside the folder, a missing file, a method other than GET) with an
 * error status.
 */
import { readFile, stat } from 'node:fs/promises';
import { fileInside, mimeType } from './static-files.js';

export const APP_SCHEME = 'app';
export const APP_HOST = 'monoscope';
/** The page the window loads. */
export const APP_INDEX_URL = `${APP_SCHEME}://${APP_HOST}/index.html`;

/**
 * How the scheme is registered (`protocol.registerSchemesAsPrivileged`, before the app is ready): standard
 * (relative URLs and origins work as for https) and secure (a secure context), with `fetch` for the page's
 * own assets; no CSP bypass, no service workers.
 */
export const APP_SCHEME_PRIVILEGES = { standard: true, secure: true, supportFetchAPI: true } as const;

/** A `protocol.handle` handler for {@link APP_SCHEME} over the files of `rendererDir`, sent with `csp`. */
export function appProtocolHandler(
  rendererDir: string,
  csp: string,
): (request: Request) => Promise<Response> {
  const refuse = (status: number, text: string) =>
    new Response(text, { status, headers: { 'content-type': 'text/plain; charset=utf-8' } });
  return async (request) => {
    const url = new URL(request.url);
    if (url.protocol !== `${APP_SCHEME}:` || url.host !== APP_HOST) return refuse(404, 'not found');
    if (request.method !== 'GET' && request.method !== 'HEAD') return refuse(405, 'GET only');
    const file = fileInside(rendererDir, url.pathname);
    if (file === 'malformed') return refuse(400, 'malformed %-escape in the path');
    if (file === 'outside' || !(await stat(file).catch(() => null))?.isFile()) {
      return refuse(404, 'not found');
    }
    return new Response(request.method === 'HEAD' ? null : await readFile(file), {
      headers: {
        'content-type': mimeType(file),
        'content-security-policy': csp,
        'x-content-type-options': 'nosniff',
        'cache-control': 'no-cache',
      },
    });
  };
}
