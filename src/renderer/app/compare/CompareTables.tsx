// The comparison's numbers as tables (what the charts show, for screen readers and for copying): the
// held-out scores, then one table per layer with a row per checkpoint.
import { fmtNumber, fmtPercent } from '../components/format.js';
import { COMPARE_METRICS, HELD_OUT_MEASURES, tapLabels, type CompareResultLike } from './specs.js';

/** A checkpoint's row: its name, then each measure's value (a percentage where the measure is one). */
function CheckpointRow<T extends { checkpoint: string }>({
  row,
  measures,
}: {
  row: T;
  measures: { key: keyof T & string; percent?: boolean }[];
}) {
  return (
    <tr data-checkpoint={row.checkpoint}>
      <th scope="row" className="mono">
        {row.checkpoint}
      </th>
      {measures.map((m) => (
        <td className="num" key={m.key} data-field={m.key} data-value={String(row[m.key])}>
          {m.percent ? fmtPercent(row[m.key] as number) : fmtNumber(row[m.key] as number)}
        </td>
      ))}
    </tr>
  );
}

export function CompareTables({ result }: { result: CompareResultLike }) {
  const labels = tapLabels(result.taps);
  return (
    <section className="panel" aria-labelledby="numbers-heading">
      <h2 id="numbers-heading">The numbers</h2>
      {result.scores.length > 0 && (
        <div className="table-scroll" tabIndex={0} role="region" aria-label="Held-out scores">
          <table className="data-table" data-table="heldout">
            <caption>
              Held-out {result.task} pairs (reference {result.base}, β = 0.1; mean |corr| of block{' '}
              {result.scores[0].layer})
            </caption>
            <thead>
              <tr>
                <th scope="col">checkpoint</th>
                {HELD_OUT_MEASURES.map((m) => (
                  <th scope="col" className="num" key={m.key} title={m.what}>
                    {m.key === 'judgeValue' ? result.scores[0].judgeMetric.replace(/_/g, ' ') : m.label}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {result.scores.map((s) => (
                <CheckpointRow key={s.checkpoint} row={s} measures={HELD_OUT_MEASURES} />
              ))}
            </tbody>
          </table>
        </div>
      )}
      {result.taps.map((tap, t) => (
        <div className="table-scroll" tabIndex={0} role="region" aria-label={`${tap} statistics`} key={tap}>
          <table className="data-table" data-table={tap}>
            <caption>
              {labels[t]} · <span className="mono">{tap}</span> (probe set, non-special tokens)
            </caption>
            <thead>
              <tr>
                <th scope="col">checkpoint</th>
                {COMPARE_METRICS.map((m) => (
                  <th scope="col" className="num" key={m.key} title={m.what}>
                    {m.label}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {result.rows
                .filter((r) => r.tap === tap)
                .map((r) => (
                  <CheckpointRow key={r.checkpoint} row={r} measures={COMPARE_METRICS} />
                ))}
            </tbody>
          </table>
        </div>
      ))}
    </section>
  );
}
