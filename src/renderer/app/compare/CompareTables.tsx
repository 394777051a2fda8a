// The comparison's numbers as tables (what the charts show, for screen readers and for copying): the
// held-out scores, then one table per layer with a row per checkpoint.
import type { ReactNode } from 'react';
import { fmtNumber, fmtPercent } from '../components/format.js';
import { COMPARE_METRICS, HELD_OUT_MEASURES, tapLabels } from '../../../shared/specs/compare.js';
import type { CompareResult } from '../../../core/api.js';

/**
 * A scrollable table with a row per checkpoint and a column per measure (its header `headerOf` the measure,
 * its definition on hover; a percentage where the measure is one), named `name` for screen readers.
 */
function MeasuresTable<T extends { checkpoint: string }>({
  name,
  table,
  caption,
  measures,
  rows,
  headerOf = (m) => m.label,
}: {
  name: string;
  /** The table's `data-table` attribute. */
  table: string;
  caption: ReactNode;
  measures: { key: keyof T & string; label: string; what: string; percent?: boolean }[];
  rows: T[];
  headerOf?: (m: { key: keyof T & string; label: string }) => string;
}) {
  return (
    <div className="table-scroll" tabIndex={0} role="region" aria-label={name}>
      <table className="data-table" data-table={table}>
        <caption>{caption}</caption>
        <thead>
          <tr>
            <th scope="col">checkpoint</th>
            {measures.map((m) => (
              <th scope="col" className="num" key={m.key} title={m.what}>
                {headerOf(m)}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={row.checkpoint} data-checkpoint={row.checkpoint}>
              <th scope="row" className="mono">
                {row.checkpoint}
              </th>
              {measures.map((m) => (
                <td className="num" key={m.key} data-field={m.key} data-value={String(row[m.key])}>
                  {m.percent ? fmtPercent(row[m.key] as number) : fmtNumber(row[m.key] as number)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function CompareTables({ result }: { result: CompareResult }) {
  const labels = tapLabels(result.taps);
  return (
    <section className="panel" aria-labelledby="numbers-heading">
      <h2 id="numbers-heading">The numbers</h2>
      {result.scores.length > 0 && (
        <MeasuresTable
          name="Held-out scores"
          table="heldout"
          caption={
            <>
              Held-out {result.task} pairs (reference {result.base}, β = {result.beta}; mean |corr| of block{' '}
              {result.scores[0].layer})
            </>
          }
          measures={HELD_OUT_MEASURES}
          rows={result.scores}
          headerOf={(m) =>
            m.key === 'judgeValue' ? result.scores[0].judgeMetric.replace(/_/g, ' ') : m.label
          }
        />
      )}
      {result.taps.map((tap, t) => (
        <MeasuresTable
          key={tap}
          name={`${tap} statistics`}
          table={tap}
          caption={
            <>
              {labels[t]} · <span className="mono">{tap}</span> (probe set, non-special tokens)
            </>
          }
          measures={COMPARE_METRICS}
          rows={result.rows.filter((r) => r.tap === tap)}
        />
      ))}
    </section>
  );
}
