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
  const parts: string[] = [header.svg];
  data.panels.forEach((panel, i) => {
    const spec = {
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
    } as FigureSpec;
    const svg = render(spec);
    const x = (i % cols) * panelW;
    const y = top + Math.floor(i / cols) * panelH;
    parts.push(svg.replace(/^<svg /, `<svg x="${num(x)}" y="${num(y)}" `));
  });
  parts.push(captionSvg(probe, probe.height - probe.fontSize * 0.75));
  return figureDocument(probe, parts.join(''));
}
