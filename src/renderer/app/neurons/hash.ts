// Location hashes of the views as plain strings (no DOM): `#/neurons/dpo/blocks.1.mlp.post/42`,
// `#/heatmap/dpo/blocks.1.mlp.post?diff=base`, `#/features/match`.

export interface HashRoute {
  /** The path segments after the view's id, decoded. */
  parts: string[];
  params: URLSearchParams;
}

/** Splits `#/view/a/b?x=1` into the segments after `view` and the query. */
export function parseHash(hash: string, view: string): HashRoute {
  const body = hash.replace(/^#\/?/, '');
  const q = body.indexOf('?');
  const path = q >= 0 ? body.slice(0, q) : body;
  const params = new URLSearchParams(q >= 0 ? body.slice(q + 1) : '');
  const segments = path.split('/').filter(Boolean);
  if (segments[0] !== view) return { parts: [], params };
  const parts = segments.slice(1).map((s) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  });
  return { parts, params };
}

/** The hash for `view` with path segments and query parameters (empty values are left out). */
export function formatHash(
  view: string,
  parts: (string | number)[],
  params: Record<string, string | undefined> = {},
): string {
  const path = [view, ...parts.map((p) => encodeURIComponent(String(p)))].join('/');
  const query = Object.entries(params)
    .filter(([, v]) => v !== undefined && v !== '')
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v!)}`)
    .join('&');
  return `#/${path}${query ? `?${query}` : ''}`;
}
