// The comparison as charts: the held-out measures, then one grouped bar chart per layer metric, each
// with what it measures; every chart exports (SVG, PNG, CSV) through the Figure component.
import { useMemo } from 'react';
import { Figure } from '../components/Figure.js';
import {
  COMPARE_METRICS,
  HELD_OUT_MEASURES,
  compareCaption,
  compareMetricSpec,
  heldOutSpec,
} from '../../../shared/specs/compare.js';
import type { CompareResult } from '../../../core/api.js';

export function CompareCharts({ result, probe }: { result: CompareResult; probe?: string }) {
  const caption = useMemo(() => compareCaption(result, { probe }), [result, probe]);
  const names = [...new Set(result.rows.map((r) => r.checkpoint))].join('-');
  return (
    <>
      {result.scores.length > 0 && (
        <section className="panel" aria-labelledby="heldout-heading">
          <h2 id="heldout-heading">Held-out scores</h2>
          <Figure spec={heldOutSpec(result, { caption })} fileName={`compare-heldout-${names}`} />
          <dl className="definitions inline">
            {HELD_OUT_MEASURES.map((m) => (
              <div key={m.key}>
                <dt>{m.key === 'judgeValue' ? result.scores[0].judgeMetric.replace(/_/g, ' ') : m.label}</dt>
                <dd>{m.what}</dd>
              </div>
            ))}
          </dl>
        </section>
      )}
      <section className="panel" aria-labelledby="layers-heading">
        <h2 id="layers-heading">Per layer, on the probe set</h2>
        <p className="caption-line">
          {Object.entries(caption)
            .map(([k, v]) => `${k}: ${v}`)
            .join(' · ')}
        </p>
        <div className="compare-grid">
          {COMPARE_METRICS.map((m) => (
            <div className="compare-cell" key={m.key} data-metric={m.key}>
              <Figure
                spec={compareMetricSpec(result, m.key, { width: 460, height: 300, caption })}
                fileName={`compare-${m.key}-${names}`}
              />
              <p className="definition">
                <strong>{m.label}</strong>
                {m.better &&
                  ` (${m.better} = more ${m.key === 'decorrelation' || m.key === 'meanAbsCorr' ? 'decorrelated' : 'monosemantic'})`}
                : {m.what}
              </p>
            </div>
          ))}
        </div>
      </section>
    </>
  );
}
