// The training curves of the selected runs: one exportable figure per panel (stored series merged with
// the running job's steps), the metric's definition under each, smoothing, and the saturation warning.
import { useMemo, useState } from 'react';
import { Figure } from '../components/Figure.js';
import { useReloadOnJobEnd } from '../data.js';
import { Empty, ErrorState, Loading } from '../components/States.js';
import { fmtNumber, fmtPercent } from '../components/format.js';
import {
  curvePanelSpec,
  mergeLive,
  metricInfo,
  panelsWithData,
  runsCaption,
  saturation,
  type CurveRun,
  type RunLike,
} from '../../../shared/specs/metrics.js';
import { useLiveSteps, useRunSeries } from './useRunSeries.js';

export interface ShownRun extends RunLike {
  /** Whether the store has the run yet (a job that just started may not have written it). */
  stored: boolean;
}

export function RunCurves({ runs }: { runs: ShownRun[] }) {
  const series = useRunSeries(runs.filter((r) => r.stored).map((r) => r.id));
  // A finished job has written its last steps: read the store again.
  useReloadOnJobEnd(series.reload, ['train']);
  const live = useLiveSteps(runs.map((r) => r.id));
  const [smoothing, setSmoothing] = useState(0);

  const curveRuns: CurveRun[] = useMemo(
    () =>
      runs.map((r) => ({
        id: r.id,
        stage: r.stage,
        series: mergeLive(series.data?.[r.id] ?? {}, live[r.id] ?? []),
      })),
    [runs, series.data, live],
  );
  const panels = useMemo(() => panelsWithData(curveRuns.map((r) => r.series)), [curveRuns]);
  const caption = useMemo(() => runsCaption(runs), [runs]);

  if (runs.length === 0)
    return <Empty title="No run selected">Pick a run in the table to see its curves.</Empty>;
  if (series.error)
    return (
      <ErrorState title="The run's metrics could not be read" error={series.error} onRetry={series.reload} />
    );
  if (panels.length === 0) {
    if (series.loading) return <Loading what="training curves" />;
    return (
      <Empty title="No metrics logged yet">
        {runs.some((r) => r.stored)
          ? 'The run has not finished a step yet; curves appear as it trains.'
          : 'Waiting for the first training step…'}
      </Empty>
    );
  }
  const sat = runs.length === 1 ? saturation(curveRuns[0].series) : null;
  return (
    <div className="run-curves">
      <div className="curves-controls">
        <label>
          Smoothing (EMA weight) <output>{smoothing.toFixed(2)}</output>
          <input
            type="range"
            min={0}
            max={0.95}
            step={0.05}
            value={smoothing}
            onChange={(e) => setSmoothing(Number(e.target.value))}
          />
        </label>
        <span className="hint">Solid: training steps · dashed with dots: held-out (eval_) evaluations.</span>
      </div>
      {sat?.saturated && (
        <div className="warning" role="alert">
          <strong>The DPO loss looks saturated.</strong> Over the last {sat.window} steps the loss is{' '}
          {fmtNumber(sat.loss)}, reward accuracy {fmtPercent(sat.accuracy)}, and the margin still grows (
          {fmtNumber(sat.marginStart)} → {fmtNumber(sat.marginEnd)}). Every pair is already ranked right, so
          further steps mostly push the policy away from the reference (huggingface/trl #1236): stop earlier,
          lower the learning rate, raise β, or use the ipo or hinge loss.
        </div>
      )}
      <div className="curves-grid">
        {panels.map((metrics) => {
          const spec = curvePanelSpec(curveRuns, metrics, {
            width: 520,
            height: 320,
            smoothing,
            caption,
          });
          const name = `curves-${runs.map((r) => r.id).join('-')}-${metrics.join('-').replace(/\//g, '_')}`;
          return (
            <div className="curve-cell" key={metrics.join('|')} data-panel={metrics.join('|')}>
              <Figure spec={spec} fileName={name} />
              <dl className="definitions">
                {metrics.map((m) => {
                  const info = metricInfo(m);
                  return (
                    <div key={m}>
                      <dt>{m}</dt>
                      <dd>
                        {info?.what ?? 'A metric the run logged.'}
                        {info?.note && <span className="note"> {info.note}</span>}
                      </dd>
                    </div>
                  );
                })}
              </dl>
            </div>
          );
        })}
      </div>
    </div>
  );
}
