// The Compare view: base vs DPO vs DecPO (any checkpoints of one model) per layer. Picks the checkpoints,
// runs (or re-reads) the `compare` job, and draws its table as charts: per metric a grouped bar chart by
// layer, the held-out measures as bars, and every number again in an accessible table.
import { useMemo, useState } from 'react';
import { Empty, ErrorState, Loading } from '../components/States.js';
import { JobProgress } from '../components/Jobs.js';
import { useJobs, useQuery, useReloadOnJobEnd } from '../data.js';
import { VIEWS } from '../views.js';
import { ViewShell } from './ViewShell.js';
import { isNoProject, NoProject } from '../project/NoProject.js';
import { CompareCharts } from '../compare/CompareCharts.js';
import { CompareTables } from '../compare/CompareTables.js';
import { CompareCurves } from '../compare/CompareCurves.js';
import { compareProbe, defaultSelection } from '../../../shared/specs/compareSelection.js';
import type { CompareResult, OpInput } from '../../../core/api.js';

const view = VIEWS.find((v) => v.id === 'compare')!;
const TASKS = ['toxicity', 'reframing', 'none'] as const;
type Task = (typeof TASKS)[number];

export function CompareView() {
  const checkpoints = useQuery('checkpoints.list', {});
  const runs = useQuery('runs.list', {});
  const recordings = useQuery('recordings.list', {});
  const { jobs, start } = useJobs();
  useReloadOnJobEnd(checkpoints.reload, ['train', 'runs.import']);
  useReloadOnJobEnd(runs.reload, ['train', 'runs.import']);
  useReloadOnJobEnd(recordings.reload, ['compare', 'record']);
  const [chosen, setChosen] = useState<string[]>();
  const [taskChoice, setTaskChoice] = useState<Task>();
  const [startError, setStartError] = useState<string>();

  const names = useMemo(() => (checkpoints.data ?? []).map((c) => c.name), [checkpoints.data]);
  const selected = (chosen ?? defaultSelection(checkpoints.data ?? [])).filter((n) => names.includes(n));
  // The task of the project's preference runs, else toxicity.
  const runTask = (runs.data ?? [])
    .map((r) => r.task)
    .find((t): t is 'toxicity' | 'reframing' => t === 'toxicity' || t === 'reframing');
  const task: Task = taskChoice ?? runTask ?? 'toxicity';
  const input: OpInput<'compare'> | null = selected.length > 0 ? { checkpoints: selected, task } : null;
  const inputKey = JSON.stringify(input);

  const cached = useQuery('analyses.get', input ? { kind: 'compare', inputs: input } : null);
  useReloadOnJobEnd(cached.reload, ['compare']);
  const job = jobs.find((j) => j.op === 'compare' && JSON.stringify(j.input) === inputKey);
  const running = job?.status === 'running' ? job : undefined;
  const stored = cached.data?.kind === 'compare' ? cached.data.result : undefined;
  const result = stored ?? (job?.status === 'completed' ? (job.result as CompareResult) : undefined);
  const probe = result ? compareProbe(result, recordings.data ?? []) : undefined;
  // The runs that wrote the compared checkpoints.
  const comparedRuns = (runs.data ?? []).filter((r) =>
    (checkpoints.data ?? []).some((c) => selected.includes(c.name) && c.runId === r.id),
  );

  if (checkpoints.error && isNoProject(checkpoints.error))
    return <NoProject view={view} error={checkpoints.error} />;

  const toggle = (name: string) => {
    const next = selected.includes(name) ? selected.filter((n) => n !== name) : [...selected, name];
    // Keep the project's order, with the base (first picked) first.
    setChosen(
      names.filter((n) => next.includes(n)).sort((a, b) => (a === next[0] ? -1 : b === next[0] ? 1 : 0)),
    );
    setStartError(undefined);
  };
  const run = async () => {
    if (!input) return;
    setStartError(undefined);
    try {
      await start('compare', input);
    } catch (e) {
      setStartError((e as Error).message);
    }
  };

  return (
    <ViewShell view={view}>
      <section className="panel compare-setup" aria-labelledby="compare-setup-heading">
        <h2 id="compare-setup-heading">Checkpoints</h2>
        {checkpoints.error ? (
          <ErrorState
            title="The checkpoints could not be read"
            error={checkpoints.error}
            onRetry={checkpoints.reload}
          />
        ) : !checkpoints.data ? (
          <Loading what="checkpoints" />
        ) : names.length === 0 ? (
          <Empty title="No checkpoints to compare">
            Train a base model and fine-tune it (Project view), or run <code>monoscope demo</code>.
          </Empty>
        ) : (
          <div className="compare-controls">
            <fieldset className="checkpoint-picker">
              <legend>Compare (the first picked is the base)</legend>
              {checkpoints.data.map((c) => (
                <label key={c.name} className="chip">
                  <input
                    type="checkbox"
                    checked={selected.includes(c.name)}
                    onChange={() => toggle(c.name)}
                  />
                  <span className="mono">{c.name}</span>
                  {c.stage !== c.name && <span className="muted">{c.stage}</span>}
                  {selected[0] === c.name && <span className="badge">base</span>}
                </label>
              ))}
            </fieldset>
            <label className="inline-field">
              Held-out task
              <select value={task} onChange={(e) => setTaskChoice(e.target.value as Task)}>
                {TASKS.map((t) => (
                  <option key={t} value={t}>
                    {t}
                  </option>
                ))}
              </select>
            </label>
            <button type="button" className="primary" onClick={run} disabled={!input || Boolean(running)}>
              {result ? 'Recompute' : 'Compare'}
            </button>
            <p className="hint">
              Records each checkpoint’s neurons on the probe set if needed, then computes every layer’s
              statistics; results are kept in the store, so a repeated comparison comes back at once.
            </p>
          </div>
        )}
        {running && <JobProgress job={running} />}
        {startError && (
          <div className="state state-error" role="alert">
            <h3>The engine refused the comparison</h3>
            <pre className="error-message">{startError}</pre>
          </div>
        )}
        {job?.status === 'failed' && !running && (
          <ErrorState title="The comparison failed" error={job.error ?? 'no message'} onRetry={run} />
        )}
      </section>

      {input &&
        (cached.error ? (
          <ErrorState
            title="The stored comparison could not be read"
            error={cached.error}
            onRetry={cached.reload}
          />
        ) : !result ? (
          cached.loading ? (
            <Loading what="the stored comparison" />
          ) : (
            !running && (
              <Empty
                title="Not compared yet"
                action={
                  <button type="button" onClick={run}>
                    Compare {selected.join(', ')}
                  </button>
                }
              >
                These checkpoints have no stored comparison on the {task} task.
              </Empty>
            )
          )
        ) : (
          <>
            <CompareCharts result={result} probe={probe} />
            <CompareCurves runs={comparedRuns} />
            <CompareTables result={result} />
          </>
        ))}
    </ViewShell>
  );
}
