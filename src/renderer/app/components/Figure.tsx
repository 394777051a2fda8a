// A figure in the app: the SVG drawn by the same function the CLI exports with, and an export panel
// (SVG, PNG, CSV) at a chosen size, DPI and theme.
import { useContext, useId, useMemo } from 'react';
import { renderFigure, type FigureSpec } from '../../../shared/figures/index.js';
import { ThemeContext } from '../theme.js';
import { FigureExport, sized } from './FigureExport.js';
import { ErrorState } from './States.js';

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
  const width = spec.options?.width ?? 640;
  const height = spec.options?.height ?? 400;
  const shown = useMemo(
    () => tryRender(sized(spec, width, height, shownTheme, spec.options?.id ?? pageId)),
    [spec, width, height, shownTheme, pageId],
  );
  if (shown.error !== undefined)
    return <ErrorState title="This figure could not be drawn" error={shown.error} />;
  return (
    <figure className="figure">
      <div className="figure-svg" dangerouslySetInnerHTML={{ __html: shown.svg! }} />
      <FigureExport
        spec={() => spec}
        fileName={fileName}
        width={width}
        height={height}
        label="Export"
        variant="figure"
      />
    </figure>
  );
}
