// Job results as the Features view reads them. Over IPC typed arrays arrive as they are; job results that
// come through the HTTP server's event stream are JSON, where a Float32Array is an object of index keys.

/** A null distribution (typed array, array, or JSON of a typed array) as plain numbers; [] for none. */
export function asNumbers(v: unknown): number[] {
  if (v === null || v === undefined) return [];
  if (Array.isArray(v)) return v.map(Number);
  if (ArrayBuffer.isView(v)) return Array.from(v as unknown as ArrayLike<number>);
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const n = Object.keys(o).length;
    const out = new Array<number>(n);
    for (let i = 0; i < n; i++) {
      const x = o[String(i)];
      if (typeof x !== 'number') return [];
      out[i] = x;
    }
    return out;
  }
  return [];
}
