// The study's answer as tables: the summary over seeds (per task and metric: each method's mean with its
// 95% CI and n, and its paired difference to DPO with CI, sign-flip p, Holm p and d_z), the verdicts on
// the paper's claims, and the judges' agreement with the world's ground truth. Every number carries its
// exact value in `data-value` (what the store holds) and its path in the row in `data-field` (`mean`,
// `paired.ciLow`), the text is formatted.
import { useState, type ReactNode } from 'react';
import { Num } from '../components/Num.js';
import { isBlockMetric, type StudyData, type SummaryRow, type Verdict } from './study.js';

/** Header cells of numeric columns. */
function NumHeads({ labels }: { labels: ReactNode[] }) {
  return labels.map((l, i) => (
    <th key={i} scope="col" className="num">
      {l}
    </th>
  ));
}

/** `[low, high]` of a confidence interval. */
function Interval({ prefix, low, high }: { prefix: string; low: number; high: number }) {
  return (
    <>
      [<Num field={`${prefix}ciLow`} value={low} />, <Num field={`${prefix}ciHigh`} value={high} />]
    </>
  );
}

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
            <NumHeads
              labels={[
                'mean',
                '95% CI',
                'n',
                'Δ vs DPO',
                'Δ 95% CI',
                'p',
                'Holm p',
                <>
                  d<sub>z</sub>
                </>,
              ]}
            />
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
                  <th scope="row" className="mono">
                    {r.method}
                  </th>
                  <td className="num">
                    <Num field="mean" value={r.mean} />
                  </td>
                  <td className="num">
                    <Interval prefix="" low={r.ciLow} high={r.ciHigh} />
                  </td>
                  <td className="num">
                    <Num field="n" value={r.n} />
                  </td>
                  {r.paired ? (
                    <>
                      <td className="num">
                        <Num field="paired.diff" value={r.paired.diff} />
                      </td>
                      <td className="num">
                        <Interval prefix="paired." low={r.paired.ciLow} high={r.paired.ciHigh} />
                      </td>
                      <td className="num">
                        <Num field="paired.p" value={r.paired.p} />
                      </td>
                      <td className="num">
                        <Num field="paired.pAdjusted" value={r.paired.pAdjusted} />
                      </td>
                      <td className="num">
                        <Num field="paired.effectSize" value={r.paired.effectSize} />
                      </td>
                    </>
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
            <NumHeads
              labels={[
                'Δ',
                '95% CI',
                'n',
                'p',
                'Holm p',
                <>
                  d<sub>z</sub>
                </>,
              ]}
            />
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
              <td className="num">
                <Num field="diff" value={v.diff} />
              </td>
              <td className="num">
                <Interval prefix="" low={v.ciLow} high={v.ciHigh} />
              </td>
              <td className="num">
                <Num field="n" value={v.n} />
              </td>
              <td className="num">
                <Num field="p" value={v.p} />
              </td>
              <td className="num">
                <Num field="pAdjusted" value={v.pAdjusted} />
              </td>
              <td className="num">
                <Num field="effectSize" value={v.effectSize} />
              </td>
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
                    <th scope="row" className="mono">
                      {j.task}
                    </th>
                    <td className="mono">{j.metric}</td>
                    <td className="num">
                      <Num field="accuracy" value={j.accuracy} />
                    </td>
                    <td className="num">
                      <Num field="n" value={j.n} />
                    </td>
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
