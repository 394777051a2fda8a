// The training curves of the compared checkpoints' preference runs, overlaid in their stage colours (the
// margin, the accuracy, the loss and the regularized block's mean |corr| over training).
import { Figure } from '../components/Figure.js';
import { ErrorState } from '../components/States.js';
import { useReloadOnJobEnd } from '../data.js';
import {
  curvePanelSpec,
  metricInfo,
  panelsWithData,
  runsCaption,
  type RunLike,
} from '../../../shared/specs/metrics.js';
import { isPreferenceStage } from '../project/trainForm.js';
import { useRunSeries } from '../project/useRunSeries.js';

const PANELS = ['rewards/margins', 'rewards/accuracies', 'loss', 'decorr/mean_abs_corr'];

export function CompareCurves({ runs }: { runs: RunLike[] }) {
  const preference = runs.filter((r) => isPreferenceStage(r.stage));
  const series = useRunSeries(preference.map((r) => r.id));
  useReloadOnJobEnd(series.reload, ['train']);
  const curveRuns = preference.map((r) => ({ id: r.id, stage: r.stage, series: series.data?.[r.id] ?? {} }));
  if (preference.length === 0) return null;
  if (series.error)
    return (
      <ErrorState title="The runs' metrics could not be read" error={series.error} onRetry={series.reload} />
    );
  const panels = panelsWithData(curveRuns.map((r) => r.series)).filter((p) => PANELS.includes(p[0]));
  const caption = runsCaption(preference);
  return (
    <section className="panel" aria-labelledby="compare-curves-heading">
      <h2 id="compare-curves-heading">Training of {preference.map((r) => r.id).join(', ')}</h2>
      <div className="compare-grid">
        {panels.map((metrics) => (
          <div className="compare-cell" key={metrics.join('|')} data-curve={metrics.join('|')}>
            <Figure
              spec={curvePanelSpec(curveRuns, metrics, { width: 460, height: 300, caption })}
              fileName={`compare-curves-${preference.map((r) => r.id).join('-')}-${metrics.join('-').replace(/\//g, '_')}`}
            />
            <p className="definition">
              <strong className="mono">{metrics[0]}</strong>: {metricInfo(metrics[0])?.what}
            </p>
          </div>
        ))}
      </div>
    </section>
  );
}
