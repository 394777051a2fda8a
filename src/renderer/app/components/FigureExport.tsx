// Export of a figure as SVG, PNG (at a chosen DPI) and CSV, at a chosen size and theme: the panel under
// every figure the app shows (Figure.tsx), and on its own for figures a view shows another way (interactive
// tokens, the heatmap's canvas). The SVG is the one the CLI's `export figure` writes for the same spec.
import { useContext, useState } from 'react';
import { figureCsv, renderFigure, type FigureSpec, type ThemeName } from '../../../shared/figures/index.js';
import { downloadBlob, selfContainedSvg, svgToPngBlob } from '../exportFigure.js';
import { ThemeContext } from '../theme.js';
import { NumberField } from './NumberField.js';

const DPIS = [96, 150, 300, 600];

/** `spec` with size, theme and (when given) the id prefix set. */
export function sized(
  spec: FigureSpec,
  width: number,
  height: number,
  theme: ThemeName,
  id?: string,
): FigureSpec {
  return { ...spec, options: { ...spec.options, width, height, theme, ...(id ? { id } : {}) } } as FigureSpec;
}

/**
 * The export controls of a figure. `spec` is built only when an export is asked for (large data is copied
 * only then). Under a shown figure (`variant` 'figure') a checkbox offers to embed the fonts in the SVG and
 * the hint gives the size in inches; on its own ('standalone') the SVG always carries the fonts.
 */
export function FigureExport({
  spec,
  fileName,
  width: width0 = 720,
  height: height0 = 480,
  label = 'Export figure',
  note,
  variant = 'standalone',
}: {
  spec: () => FigureSpec;
  fileName: string;
  width?: number;
  height?: number;
  label?: string;
  note?: string;
  variant?: 'figure' | 'standalone';
}) {
  const shownTheme = useContext(ThemeContext);
  const [width, setWidth] = useState(width0);
  const [height, setHeight] = useState(height0);
  const [dpi, setDpi] = useState(300);
  const [theme, setTheme] = useState<ThemeName | 'shown'>('light');
  const [embed, setEmbed] = useState(variant === 'standalone');
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
        const svg = renderFigure(sized(base, width, height, theme === 'shown' ? shownTheme : theme));
        if (what === 'svg') {
          const text = embed ? await selfContainedSvg(svg) : svg;
          downloadBlob(new Blob([text], { type: 'image/svg+xml' }), `${fileName}.svg`);
        } else {
          downloadBlob(await svgToPngBlob(svg, width, height, dpi), `${fileName}-${dpi}dpi.png`);
        }
      }
      setStatus('');
    } catch (e) {
      setStatus(e instanceof Error ? e.message : String(e));
    }
  };

  const pngSize = `${Math.round((width * dpi) / 96)} × ${Math.round((height * dpi) / 96)} pixels`;
  return (
    <details className={variant === 'figure' ? 'figure-export' : 'figure-export ms-export'}>
      <summary>{label}</summary>
      <div className="export-controls">
        <NumberField label="Width (px)" value={width} onChange={setWidth} min={120} max={8000} />
        <NumberField label="Height (px)" value={height} onChange={setHeight} min={80} max={8000} />
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
          <select value={theme} onChange={(e) => setTheme(e.target.value as ThemeName | 'shown')}>
            <option value="light">light</option>
            <option value="dark">dark</option>
            <option value="shown">as shown</option>
          </select>
        </label>
        {variant === 'figure' && (
          <label className="checkbox">
            <input type="checkbox" checked={embed} onChange={(e) => setEmbed(e.target.checked)} />
            Embed fonts in SVG
          </label>
        )}
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
          {variant === 'figure'
            ? `${width} × ${height} px = ${(width / 96).toFixed(2)} × ${(height / 96).toFixed(2)} in; PNG ${pngSize}`
            : `${note ? `${note} ` : ''}SVG with the fonts embedded; PNG ${pngSize}.`}
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
