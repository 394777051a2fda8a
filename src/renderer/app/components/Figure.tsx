// A figure in the app: the SVG drawn by the same function the CLI exports with, and an export panel
// (SVG, PNG, CSV) at a chosen size, DPI and theme.
import { useContext, useId, useMemo, useState } from 'react';
import { figureCsv, renderFigure, type FigureSpec, type ThemeName } from '../../figures/index.js';
import { downloadBlob, selfContainedSvg, svgToPngBlob } from '../exportFigure.js';
import { ThemeContext } from '../theme.js';
import { ErrorState } from './States.js';

const DPIS = [96, 150, 300, 600];

/** `spec` with size, theme and (when given) the id prefix set. */
function sized(spec: FigureSpec, width: number, height: number, theme: ThemeName, id?: string): FigureSpec {
  return { ...spec, options: { ...spec.options, width, height, theme, ...(id ? { id } : {}) } } as FigureSpec;
}

/** Renders `spec`, or the error its data produced. */
function tryRender(spec: FigureSpec): { svg?: string; error?: unknown } {
  try {
    return { svg: renderFigure(spec) };
  } catch (error) {
    return { error };
  }
}

export function Figure({ spec, fileName }: { spec: FigureSpec; fileName: string }) {
  const shownTheme = useContext(ThemeContext);
  // Figures on one page need distinct element ids (clip paths, gradients).
  const pageId = `fig${useId()}`;
  const width0 = spec.options?.width ?? 640;
  const height0 = spec.options?.height ?? 400;
  const shown = useMemo(
    () => tryRender(sized(spec, width0, height0, shownTheme, spec.options?.id ?? pageId)),
    [spec, width0, height0, shownTheme, pageId],
  );
  const [width, setWidth] = useState(width0);
  const [height, setHeight] = useState(height0);
  const [dpi, setDpi] = useState(300);
  const [exportTheme, setExportTheme] = useState<ThemeName | 'shown'>('light');
  const [embed, setEmbed] = useState(false);
  const [status, setStatus] = useState<string>('');

  const run = async (what: 'svg' | 'png' | 'csv') => {
    setStatus(`Exporting ${what.toUpperCase()}…`);
    try {
      const theme = exportTheme === 'shown' ? shownTheme : exportTheme;
      if (what === 'csv') {
        downloadBlob(new Blob([figureCsv(spec)], { type: 'text/csv' }), `${fileName}.csv`);
      } else {
        const svg = renderFigure(sized(spec, width, height, theme));
        if (what === 'svg') {
          const text = embed ? await selfContainedSvg(svg) : svg;
          downloadBlob(new Blob([text], { type: 'image/svg+xml' }), `${fileName}.svg`);
        } else {
          downloadBlob(await svgToPngBlob(svg, width, height, dpi), `${fileName}-${dpi}dpi.png`);
        }
      }
      setStatus('');
    } catch (error) {
      setStatus(error instanceof Error ? error.message : String(error));
    }
  };

  if (shown.error !== undefined)
    return <ErrorState title="This figure could not be drawn" error={shown.error} />;
  return (
    <figure className="figure">
      <div className="figure-svg" dangerouslySetInnerHTML={{ __html: shown.svg! }} />
      <details className="figure-export">
        <summary>Export</summary>
        <div className="export-controls">
          <label>
            Width (px)
            <input
              type="number"
              min={120}
              max={8000}
              value={width}
              onChange={(e) => setWidth(Number(e.target.value))}
            />
          </label>
          <label>
            Height (px)
            <input
              type="number"
              min={80}
              max={8000}
              value={height}
              onChange={(e) => setHeight(Number(e.target.value))}
            />
          </label>
          <label>
            DPI
            <select value={dpi} onChange={(e) => setDpi(Number(e.target.value))}>
              {DPIS.map((d) => (
                <option key={d} value={d}>
                  {d}
                </option>
              ))}
            </select>
          </label>
          <label>
            Theme
            <select
              value={exportTheme}
              onChange={(e) => setExportTheme(e.target.value as ThemeName | 'shown')}
            >
              <option value="light">light</option>
              <option value="dark">dark</option>
              <option value="shown">as shown</option>
            </select>
          </label>
          <label className="checkbox">
            <input type="checkbox" checked={embed} onChange={(e) => setEmbed(e.target.checked)} />
            Embed fonts in SVG
          </label>
          <div className="export-buttons">
            <button type="button" onClick={() => run('svg')}>
              Export SVG
            </button>
            <button type="button" onClick={() => run('png')}>
              Export PNG
            </button>
            <button type="button" onClick={() => run('csv')}>
              Export CSV
            </button>
          </div>
          <p className="hint">
            {width} × {height} px = {(width / 96).toFixed(2)} × {(height / 96).toFixed(2)} in; PNG{' '}
            {Math.round((width * dpi) / 96)} × {Math.round((height * dpi) / 96)} pixels
          </p>
          {status && (
            <p className="status" role="status">
              {status}
            </p>
          )}
        </div>
      </details>
    </figure>
  );
}
