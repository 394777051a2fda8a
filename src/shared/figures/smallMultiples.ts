// Small multiples: several figures in a grid under one title and caption, e.g. one heatmap per checkpoint.
import { captionHeight, captionSvg, figureDocument, headerSvg, resolveOptions } from './layout.js';
import { num } from './svg.js';
import type { FigureSpec, SmallMultiplesData, SmallMultiplesOptions } from './types.js';

/**
 * Panels rendered by `render` at equal size and placed in a grid (`columns` per row) as nested <svg>
 * elements, under a shared title and above a shared caption. Each panel gets its own id prefix.
 */
export function smallMultiples(
  data: SmallMultiplesData,
  options: SmallMultiplesOptions,
  render: (spec: FigureSpec) => string,
): string {
  if (!data || !Array.isArray(data.panels) || data.panels.length === 0) {
    throw new Error('smallMultiples: data.panels must be a non-empty array of figures');
  }
  const n = data.panels.length;
  const columns = options.columns ?? n;
  if (!Number.isInteger(columns) || columns < 1)
    throw new Error(`smallMultiples: options.columns must be a positive integer, got ${columns}`);
  const rows = Math.ceil(n / Math.min(columns, n));
  const cols = Math.min(columns, n);
  const probe = resolveOptions('smallMultiples', options, { width: 320 * cols, height: 280 * rows + 40 });
  const header = headerSvg(probe, probe.fontSize * 0.5);
  const top = probe.title || probe.subtitle ? header.bottom + probe.fontSize * 0.3 : 0;
  const panelW = probe.width / cols;
  const panelH =
    (probe.height - top - captionHeight(probe) - (probe.caption ? probe.fontSize * 0.5 : 0)) / rows;
  if (panelW < 120 || panelH < 80)
    throw new Error(
      `smallMultiples: panels of ${Math.round(panelW)}×${Math.round(panelH)} px are too small; make the figure larger`,
    );
  const rendered = data.panels.map((panel, i) =>
    render({
      ...panel,
      options: {
        ...panel.options,
        width: panelW,
        height: panelH,
        theme: options.theme,
        fontSize: panel.options?.fontSize ?? options.fontSize,
        transparent: true,
        id: `${probe.id}-p${i}`,
      },
    } as FigureSpec),
  );
  // A panel may come out shorter than its slot (a square heatmap): rows shrink to their tallest panel.
  const heights = rendered.map((svg) => Number(/^<svg[^>]*?\sheight="([\d.]+)"/.exec(svg)?.[1] ?? panelH));
  const rowHeights = Array.from({ length: rows }, (_, r) =>
    Math.max(...heights.slice(r * cols, (r + 1) * cols)),
  );
  const parts: string[] = [header.svg];
  let y = top;
  rendered.forEach((svg, i) => {
    const row = Math.floor(i / cols);
    if (i > 0 && i % cols === 0) y += rowHeights[row - 1];
    parts.push(svg.replace(/^<svg /, `<svg x="${num((i % cols) * panelW)}" y="${num(y)}" `));
  });
  y += rowHeights[rows - 1];
  const height = Math.min(
    probe.height,
    y + captionHeight(probe) + (probe.caption ? probe.fontSize * 0.5 : 0),
  );
  const r = { ...probe, height };
  parts.push(captionSvg(r, r.height - r.fontSize * 0.75));
  return figureDocument(r, parts.join(''));
}
