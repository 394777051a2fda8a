// The study's answer as tables: the summary over seeds (per task and metric: each method's mean with its
// 95% CI and n, and its paired difference to DPO with CI, sign-flip p, Holm p and d_z), the verdicts on
// the paper's claims, and the judges' agreement with the world's ground truth. Every number carries its
// exact value in `data-value` (what the store holds) and its path in the row in `data-field` (`mean`,
// `paired.ciLow`), the text is formatted.
import { useState } from 'react';
import { isBlockMetric, type StudyData, type SummaryRow, type Verdict } from './study.js';
import { NumCells, NumHeads, RowName } from './cells.js';

/** The heads of a paired difference's test columns: the sign-flip p, Holm's p, the effect size d_z. */
const TEST_HEADS = [
  'p',
  'Holm p',
  <>
    d<sub>z</sub>
  </>,
];

/** The summary of one task: a row per metric and method, the metric named once per group. */
function SummaryTable({ task, rows }: { task: string; rows: SummaryRow[] }) {
  const metrics = [...new Set(rows.map((r) => r.metric))];
  return (
    <div className="table-scroll" tabIndex={0} role="region" aria-label={`Summary of ${task}`}>
      <table className="data-table study-summary" data-table={`summary-${task}`}>
        <caption>
          Task <span className="mono">{task}</span>: mean over seeds with its 95% t-interval; the paired
          difference to DPO over the same seeds (method − dpo) with its 95% CI, the exact sign-flip test’s p,
          Holm’s adjusted p across the metric’s comparisons, and d<sub>z</sub> = mean difference / sd of the
          differences.
        </caption>
        <thead>
          <tr>
            <th scope="col">metric</th>
            <th scope="col">method</th>
            <NumHeads labels={['mean', '95% CI', 'n', 'Δ vs DPO', 'Δ 95% CI', ...TEST_HEADS]} />
          </tr>
        </thead>
        {metrics.map((metric) => {
          const group = rows.filter((r) => r.metric === metric);
          return (
            <tbody key={metric}>
              {group.map((r, i) => (
                <tr key={r.method} data-task={task} data-metric={metric} data-method={r.method}>
                  {i === 0 && (
                    <th scope="rowgroup" rowSpan={group.length} className="mono">
                      {metric}
                    </th>
                  )}
                  <RowName>{r.method}</RowName>
                  <NumCells row={r} columns={['mean', 'ci', 'n']} />
                  {r.paired ? (
                    <NumCells
                      row={r.paired}
                      prefix="paired."
                      columns={['diff', 'ci', 'p', 'pAdjusted', 'effectSize']}
                    />
                  ) : (
                    <td className="muted" colSpan={5}>
                      {r.method === 'dpo' ? 'the reference of the comparisons' : 'no paired DPO seeds'}
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          );
        })}
      </table>
    </div>
  );
}

/** The verdicts: each claim, its comparison, the word, and the numbers it rests on. */
function VerdictsTable({ verdicts }: { verdicts: Verdict[] }) {
  return (
    <div className="table-scroll" tabIndex={0} role="region" aria-label="Verdicts">
      <table className="data-table study-verdicts" data-table="verdicts">
        <caption>
          A claim is <strong>reproduced</strong> when the 95% CI of the paired difference excludes zero in the
          paper’s direction, <strong>contradicted</strong> when it excludes zero the other way, and{' '}
          <strong>inconclusive</strong> otherwise.
        </caption>
        <thead>
          <tr>
            <th scope="col">verdict</th>
            <th scope="col">claim</th>
            <th scope="col">comparison</th>
            <NumHeads labels={['Δ', '95% CI', 'n', ...TEST_HEADS]} />
          </tr>
        </thead>
        <tbody>
          {verdicts.map((v) => (
            <tr key={v.id} data-verdict={v.id}>
              <td>
                <span className={`badge verdict-${v.verdict}`} data-field="verdict">
                  {v.verdict}
                </span>
              </td>
              <th scope="row" className="study-claim">
                {v.claim} <span className="muted">({v.source})</span>
              </th>
              <td>
                <span className="mono">
                  {v.metric}: {v.a} − {v.b}
                </span>{' '}
                <span className="muted">
                  on {v.task}, the paper: {v.direction}
                </span>
              </td>
              <NumCells row={v} columns={['diff', 'ci', 'n', 'p', 'pAdjusted', 'effectSize']} />
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function StudyTables({ study }: { study: StudyData }) {
  const [blocks, setBlocks] = useState(false);
  const shown = study.summary.filter((r) => blocks || !isBlockMetric(r.metric));
  const tasks = [...new Set(shown.map((r) => r.task))];
  const hasBlocks = study.summary.some((r) => isBlockMetric(r.metric));
  return (
    <>
      <section className="panel" aria-labelledby="study-verdicts-heading">
        <h2 id="study-verdicts-heading">Verdicts</h2>
        {study.verdicts.length === 0 ? (
          <p className="muted">No verdict yet: the claims need done cells of both compared methods.</p>
        ) : (
          <VerdictsTable verdicts={study.verdicts} />
        )}
      </section>
      <section className="panel" aria-labelledby="study-summary-heading">
        <h2 id="study-summary-heading">Summary over seeds</h2>
        {hasBlocks && (
          <label className="study-check">
            <input type="checkbox" checked={blocks} onChange={(e) => setBlocks(e.target.checked)} />
            Every block’s proxies (<span className="mono">NAME@LAYER</span>)
          </label>
        )}
        {tasks.length === 0 ? (
          <p className="muted">No cell is done yet.</p>
        ) : (
          tasks.map((t) => <SummaryTable key={t} task={t} rows={shown.filter((r) => r.task === t)} />)
        )}
        {study.judges.length > 0 && (
          <div className="table-scroll" tabIndex={0} role="region" aria-label="Judges">
            <table className="data-table" data-table="judges">
              <caption>The task judges against the built-in world’s ground truth.</caption>
              <thead>
                <tr>
                  <th scope="col">task</th>
                  <th scope="col">judge</th>
                  <NumHeads labels={['accuracy', 'n']} />
                </tr>
              </thead>
              <tbody>
                {study.judges.map((j) => (
                  <tr key={j.task} data-task={j.task}>
                    <RowName>{j.task}</RowName>
                    <td className="mono">{j.metric}</td>
                    <NumCells row={j} columns={['accuracy', 'n']} />
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </>
  );
}
