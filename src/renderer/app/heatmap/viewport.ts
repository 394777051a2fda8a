// The heatmap's view as plain numbers: how many screen pixels a cell spans and where the matrix's corner
// sits, with zoom about a point, panning kept inside the matrix, the cell under a point, and the level of the
// image pyramid to draw at a given zoom, and the tiles of a pyramid level the view shows.

/** `scale` CSS px per cell; (x, y) the screen position (CSS px) of the matrix's top-left corner. */
export interface Viewport {
  scale: number;
  x: number;
  y: number;
}

/** Largest zoom: a cell 48 px wide. */
export const MAX_CELL_PX = 48;

/** The whole n × n matrix centred in a width × height box. */
export function fitViewport(n: number, width: number, height: number): Viewport {
  const scale = Math.min(width, height) / n;
  return { scale, x: (width - n * scale) / 2, y: (height - n * scale) / 2 };
}

/**
 * Keeps the view sensible: the zoom between "whole matrix fits" and {@link MAX_CELL_PX}; a matrix smaller
 * than the box stays centred on that axis, a larger one cannot be dragged off past its edges.
 */
export function clampViewport(v: Viewport, n: number, width: number, height: number): Viewport {
  const minScale = Math.min(width, height) / n;
  const scale = Math.min(Math.max(v.scale, minScale), Math.max(minScale, MAX_CELL_PX));
  const side = n * scale;
  const axis = (pos: number, box: number) =>
    side <= box ? (box - side) / 2 : Math.min(0, Math.max(box - side, pos));
  return { scale, x: axis(v.x, width), y: axis(v.y, height) };
}

/** Zooms by `factor` about the screen point (px, py), which stays over the same matrix position. */
export function zoomAt(v: Viewport, factor: number, px: number, py: number): Viewport {
  const scale = v.scale * factor;
  const k = scale / v.scale;
  return { scale, x: px - (px - v.x) * k, y: py - (py - v.y) * k };
}

/** The cell (display row and column) under screen point (px, py), or null outside the matrix. */
export function cellAt(v: Viewport, px: number, py: number, n: number): { row: number; col: number } | null {
  const col = Math.floor((px - v.x) / v.scale);
  const row = Math.floor((py - v.y) / v.scale);
  return row >= 0 && row < n && col >= 0 && col < n ? { row, col } : null;
}

/** The display rows (and columns) at least partly visible: [first, last). */
export function visibleRange(
  v: Viewport,
  n: number,
  width: number,
  height: number,
): { rows: [number, number]; cols: [number, number] } {
  const span = (pos: number, box: number): [number, number] => [
    Math.max(0, Math.floor(-pos / v.scale)),
    Math.min(n, Math.ceil((box - pos) / v.scale)),
  ];
  return { rows: span(v.y, height), cols: span(v.x, width) };
}

/**
 * Pyramid level to draw at `devicePxPerCell`: level L halves the matrix L times, the smallest L whose
 * pixels still span at least one device pixel, so every cell is averaged in and none is skipped.
 */
export function pyramidLevel(devicePxPerCell: number, levels: number): number {
  if (devicePxPerCell >= 1) return 0;
  return Math.min(levels - 1, Math.ceil(Math.log2(1 / devicePxPerCell) - 1e-9));
}

/**
 * The n × n matrix `values` in display order (`order[i]` is the neuron shown at row and column i), as a new
 * array: out[i * n + j] = values[order[i] * n + order[j]].
 */
export function permuted(
  values: ArrayLike<number>,
  n: number,
  order: ArrayLike<number> | null,
): Float32Array {
  const out = new Float32Array(n * n);
  if (!order) {
    for (let i = 0; i < n * n; i++) out[i] = values[i];
    return out;
  }
  for (let i = 0; i < n; i++) {
    const src = order[i] * n;
    const dst = i * n;
    for (let j = 0; j < n; j++) out[dst + j] = values[src + order[j]];
  }
  return out;
}

/** Side of a pyramid tile (level pixels): one bitmap each, well inside any GPU's texture limit. */
export const TILE = 1024;

/**
 * The tiles (tile row, tile column) of a pyramid level `size` pixels wide, each pixel `factor` × `factor`
 * cells, that overlap the display cells `rows` × `cols` ([first, last), e.g. {@link visibleRange}).
 */
export function visibleTiles(
  size: number,
  factor: number,
  rows: [number, number],
  cols: [number, number],
): [number, number][] {
  const span = ([a, b]: [number, number]) => {
    const last = Math.ceil(size / TILE) - 1;
    return [Math.floor(a / factor / TILE), Math.min(last, Math.floor((b - 1) / factor / TILE))];
  };
  const [r0, r1] = span(rows);
  const [c0, c1] = span(cols);
  const out: [number, number][] = [];
  for (let i = r0; i <= r1; i++) for (let j = c0; j <= c1; j++) out.push([i, j]);
  return out;
}
