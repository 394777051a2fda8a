// The live grid: per task a table of methods × seeds, each cell with where it stands (pending, training
// step/steps with a small bar, measuring, done, failed with its message, cancelled).
import { fmtDuration, fmtInt } from '../components/format.js';
import { gridTables, statusCounts, type Cell } from './study.js';
import { RowName } from './cells.js';

/** One cell's status, as words and (while training) a bar. */
function CellStatus({ cell }: { cell: Cell }) {
  if (cell.status === 'training') {
    const fraction = cell.steps ? Math.min(1, (cell.step ?? 0) / cell.steps) : undefined;
    return (
      <>
        <span className="study-cell-word">training</span>
        {cell.steps !== undefined && (
          <span className="study-cell-steps" data-field="step" data-value={String(cell.step ?? 0)}>
            {fmtInt(cell.step ?? 0)}/{fmtInt(cell.steps)}
          </span>
        )}
        <span
          className="study-cell-bar"
          role="progressbar"
          aria-label={`${cell.method}, seed ${cell.seed}: training`}
          aria-valuemin={0}
          aria-valuemax={100}
          aria-valuenow={fraction === undefined ? undefined : Math.round(fraction * 100)}
        >
          <span style={{ width: `${(fraction ?? 0) * 100}%` }} />
        </span>
      </>
    );
  }
  if (cell.status === 'failed')
    return (
      <>
        <span className="study-cell-word">failed</span>
        {cell.message && <span className="study-cell-message">{cell.message}</span>}
      </>
    );
  return (
    <>
      <span className="study-cell-word">{cell.status}</span>
      {cell.status === 'done' && cell.seconds && (
        <span className="study-cell-time" title="training + measuring">
          {fmtDuration(cell.seconds.train + cell.seconds.measure)}
        </span>
      )}
    </>
  );
}

export function StudyGrid({ cells }: { cells: Cell[] }) {
  const counts = statusCounts(cells);
  return (
    <section className="panel" aria-labelledby="study-grid-heading">
      <h2 id="study-grid-heading">Grid</h2>
      <p className="caption-line" data-field="counts">
        {cells.length} cells: {counts.map(([s, n]) => `${n} ${s}`).join(' · ')}
      </p>
      {gridTables(cells).map((t) => (
        <div
          className="table-scroll"
          key={t.task}
          tabIndex={0}
          role="region"
          aria-label={`Grid of ${t.task}`}
        >
          <table className="data-table study-grid" data-grid={t.task}>
            <caption>
              Task <span className="mono">{t.task}</span>: methods × seeds
            </caption>
            <thead>
              <tr>
                <th scope="col">method</th>
                {t.seeds.map((s) => (
                  <th scope="col" key={s}>
                    seed {s}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {t.methods.map((m) => (
                <tr key={m} data-method={m}>
                  <RowName>{m}</RowName>
                  {t.seeds.map((s) => {
                    const cell = t.cells.get(`${m}|${s}`);
                    return cell ? (
                      <td
                        key={s}
                        className={`study-cell status-${cell.status}`}
                        data-seed={s}
                        data-status={cell.status}
                        title={`${cell.checkpoint}${cell.message ? `: ${cell.message}` : ''}`}
                      >
                        <CellStatus cell={cell} />
                      </td>
                    ) : (
                      <td key={s} className="study-cell muted" data-seed={s}>
                        –
                      </td>
                    );
                  })}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ))}
    </section>
  );
}
