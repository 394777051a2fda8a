// Export of a figure that the view shows another way (interactive tokens, the heatmap's canvas): the same
// SVG/PNG/CSV as the Figure component's, rendered only when asked, at a chosen size, DPI and theme.
import { useContext, useId, useState } from 'react';
import { figureCsv, renderFigure, type FigureSpec, type ThemeName } from '../../figures/index.js';
import { downloadBlob, selfContainedSvg, svgToPngBlob } from '../exportFigure.js';
import { ThemeContext } from '../theme.js';

const DPIS = [96, 150, 300, 600];

export function FigureExport({
  spec,
  fileName,
  width: width0 = 720,
  height: height0 = 480,
  label = 'Export figure',
  note,
}: {
  /** Built when an export is asked for (large data is copied only then). */
  spec: () => FigureSpec;
  fileName: string;
  width?: number;
  height?: number;
  label?: string;
  note?: string;
}) {
  const id = useId();
  const shownTheme = useContext(ThemeContext);
  const [width, setWidth] = useState(width0);
  const [height, setHeight] = useState(height0);
  const [dpi, setDpi] = useState(300);
  const [theme, setTheme] = useState<ThemeName | 'shown'>('light');
  const [status, setStatus] = useState('');

  const run = async (what: 'svg' | 'png' | 'csv') => {
    setStatus(`Exporting ${what.toUpperCase()}…`);
    // Let the status paint before a long render.
    await new Promise((r) => setTimeout(r, 0));
    try {
      const base = spec();
      if (what === 'csv') {
        downloadBlob(new Blob([figureCsv(base)], { type: 'text/csv' }), `${fileName}.csv`);
      } else {
        const t = theme === 'shown' ? shownTheme : theme;
        const svg = renderFigure({
          ...base,
          options: { ...base.options, width, height, theme: t },
        } as FigureSpec);
        if (what === 'svg')
          downloadBlob(new Blob([await selfContainedSvg(svg)], { type: 'image/svg+xml' }), `${fileName}.svg`);
        else downloadBlob(await svgToPngBlob(svg, width, height, dpi), `${fileName}-${dpi}dpi.png`);
      }
      setStatus('');
    } catch (e) {
      setStatus(e instanceof Error ? e.message : String(e));
    }
  };

  return (
    <details className="figure-export ms-export">
      <summary>{label}</summary>
      <div className="export-controls">
        <label htmlFor={`${id}-w`}>
          Width (px)
          <input
            id={`${id}-w`}
            type="number"
            min={120}
            max={8000}
            value={width}
            onChange={(e) => setWidth(Number(e.target.value))}
          />
        </label>
        <label htmlFor={`${id}-h`}>
          Height (px)
          <input
            id={`${id}-h`}
            type="number"
            min={80}
            max={8000}
            value={height}
            onChange={(e) => setHeight(Number(e.target.value))}
          />
        </label>
        <label htmlFor={`${id}-dpi`}>
          DPI
          <select id={`${id}-dpi`} value={dpi} onChange={(e) => setDpi(Number(e.target.value))}>
            {DPIS.map((d) => (
              <option key={d} value={d}>
                {d}
              </option>
            ))}
          </select>
        </label>
        <label htmlFor={`${id}-theme`}>
          Theme
          <select
            id={`${id}-theme`}
            value={theme}
            onChange={(e) => setTheme(e.target.value as ThemeName | 'shown')}
          >
            <option value="light">light</option>
            <option value="dark">dark</option>
            <option value="shown">as shown</option>
          </select>
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
          {note ? `${note} ` : ''}SVG with the fonts embedded; PNG {Math.round((width * dpi) / 96)} ×{' '}
          {Math.round((height * dpi) / 96)} pixels.
        </p>
        {status && (
          <p className="status" role="status">
            {status}
          </p>
        )}
      </div>
    </details>
  );
}
