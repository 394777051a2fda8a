// The Project view: the project's training runs (live while they train), their curves under TRL's metric
// names with a glossary, the form that starts a run, and the checkpoints.
import { useCallback, useEffect, useMemo, useState } from 'react';
import { Empty, ErrorState, Loading } from '../components/States.js';
import { SelectableTable, type Column } from '../components/SelectableTable.js';
import { Time } from '../components/Time.js';
import { JobProgress } from '../components/Jobs.js';
import { useJobs, useQuery, useReloadOnJobEnd, type JobView } from '../data.js';
import { VIEWS } from '../views.js';
import { ViewShell } from './ViewShell.js';
import { RunCurves, type ShownRun } from '../project/RunCurves.js';
import { TrainForm } from '../project/TrainForm.js';
import { CheckpointsTable } from '../project/CheckpointsTable.js';
import { Glossary } from '../project/Glossary.js';
import { trainJobOf, useListedJobs } from '../project/useRunSeries.js';
import { isNoProject, NoProject } from '../project/NoProject.js';
import type { OpInput } from '../../../core/api.js';
import type { OpResult } from '../../../core/api.js';

const view = VIEWS.find((v) => v.id === 'project')!;

type RunRecord = OpResult<'runs.list'>[number];

/** A run as the table shows it: the stored record, or a job that has not written its run yet. */
interface RunRow extends ShownRun {
  status: RunRecord['status'] | 'starting';
  message: string | null;
  createdAt: string;
  updatedAt: string | null;
  job?: JobView;
  /** The request that started the run (to resume it). */
  request?: Record<string, unknown>;
}

/** The run named in the location hash (`#/project/RUN`). */
function runFromHash(): string | undefined {
  const parts = window.location.hash.replace(/^#\/?/, '').split('/');
  return parts[0] === 'project' && parts[1] ? decodeURIComponent(parts[1]) : undefined;
}

function rowsOf(runs: RunRecord[], jobs: JobView[]): RunRow[] {
  const rows: RunRow[] = runs.map((r) => {
    const job = trainJobOf(jobs, r.id);
    return {
      ...r,
      stored: true,
      job,
      status: job?.status === 'running' ? 'running' : r.status,
      updatedAt: r.status === 'running' ? null : r.updatedAt,
      request: (r.config.request ?? undefined) as Record<string, unknown> | undefined,
    };
  });
  // Jobs whose run is not in the store yet (it is written once the data is built).
  for (const j of jobs) {
    const input = (j.input ?? {}) as Record<string, unknown>;
    if (j.op !== 'train' || j.status !== 'running' || typeof input.name !== 'string') continue;
    if (rows.some((r) => r.id === input.name)) continue;
    rows.push({
      id: input.name,
      stage: String(input.stage ?? ''),
      task: typeof input.task === 'string' ? input.task : null,
      config: { request: input },
      backend: {},
      seed: typeof input.seed === 'number' ? input.seed : 0,
      stored: false,
      status: 'starting',
      message: null,
      createdAt: j.startedAt,
      updatedAt: null,
      job: j,
      request: input,
    });
  }
  return rows;
}

const STATUS_HELP: Record<RunRow['status'], string> = {
  starting: 'The job is building its data.',
  running: 'Training now.',
  completed: 'Finished; its checkpoint is in the list.',
  failed: 'Stopped by an error.',
  cancelled: 'Stopped on request; its state is saved.',
  interrupted: 'Its process ended without finishing (killed or crashed); its last saved state is kept.',
};

const COLUMNS: Column<RunRow>[] = [
  { key: 'id', header: 'Run', cell: (r) => <span className="mono">{r.id}</span> },
  {
    key: 'status',
    header: 'Status',
    cell: (r) => (
      <span className={`badge status-${r.status}`} title={STATUS_HELP[r.status]}>
        {r.status}
      </span>
    ),
  },
  { key: 'stage', header: 'Stage', cell: (r) => r.stage },
  { key: 'task', header: 'Task', cell: (r) => r.task ?? '–' },
  {
    key: 'backend',
    header: 'Backend',
    cell: (r) =>
      r.config.source === 'imported' ? (
        <span title="Trained elsewhere; brought in from its trainer_state.json">imported</span>
      ) : (
        String(r.backend.backend ?? '–')
      ),
  },
  { key: 'started', header: 'Started', cell: (r) => <Time iso={r.createdAt} /> },
  { key: 'ended', header: 'Ended', cell: (r) => <Time iso={r.updatedAt} /> },
];

export function ProjectView() {
  const runs = useQuery('runs.list', {});
  const checkpoints = useQuery('checkpoints.list', {});
  const recordings = useQuery('recordings.list', {});
  useReloadOnJobEnd(recordings.reload, ['record', 'compare']);
  const { jobs, start } = useJobs();
  useReloadOnJobEnd(runs.reload, ['train', 'runs.import']);
  useReloadOnJobEnd(checkpoints.reload, ['train', 'runs.import']);
  const [picked, setPicked] = useState<string | undefined>(runFromHash);
  const [resumeError, setResumeError] = useState<string>();
  // The engine's job list as read at opening: before it arrives, a running run may only look orphaned.
  const listedJobs = useListedJobs();

  const rows = useMemo(() => rowsOf(runs.data ?? [], jobs), [runs.data, jobs]);
  // A job that streams steps has written its run: read the runs again to show its stored record.
  const unstored = rows
    .filter((r) => !r.stored && (r.job?.steps.length ?? 0) > 0)
    .map((r) => r.id)
    .join(',');
  const reloadRuns = runs.reload;
  useEffect(() => {
    if (unstored) reloadRuns();
  }, [unstored, reloadRuns]);
  const select = useCallback((id: string) => {
    setPicked(id);
    setResumeError(undefined);
    window.history.replaceState(window.history.state, '', `#/project/${encodeURIComponent(id)}`);
  }, []);
  const onStarted = useCallback(
    (name: string) => {
      select(name);
      runs.reload();
    },
    [select, runs],
  );

  const choices = useMemo(
    () =>
      (checkpoints.data ?? []).map((c) => ({
        name: c.name,
        nLayer: typeof c.config.nLayer === 'number' ? c.config.nLayer : undefined,
        tapKinds: c.tapKinds,
      })),
    [checkpoints.data],
  );

  // The picked run, else the running one, else the newest.
  const selected =
    rows.find((r) => r.id === picked) ?? rows.find((r) => r.status === 'running') ?? rows[rows.length - 1];
  const shown = useMemo(() => (selected ? [selected] : []), [selected]);
  // Marked running in the store, yet no job trains it (the app or the server stopped during training).
  const orphaned =
    selected?.status === 'running' &&
    selected.job?.status !== 'running' &&
    listedJobs !== null &&
    trainJobOf(listedJobs, selected.id)?.status !== 'running';

  if (runs.error && isNoProject(runs.error)) return <NoProject view={view} error={runs.error} />;

  const resume = async (r: RunRow) => {
    setResumeError(undefined);
    try {
      const { restart: _restart, ...request } = r.request ?? {};
      await start('train', request as OpInput<'train'>);
    } catch (e) {
      setResumeError((e as Error).message);
    }
  };

  return (
    <ViewShell view={view}>
      <div className="project-top">
        <section className="panel" aria-labelledby="runs-heading">
          <h2 id="runs-heading">Runs</h2>
          {runs.error ? (
            <ErrorState title="The runs could not be read" error={runs.error} onRetry={runs.reload} />
          ) : runs.loading && !runs.data ? (
            <Loading what="runs" />
          ) : rows.length === 0 ? (
            <Empty title="No training runs yet">
              Start one with the form below, or from a terminal: <code>monoscope demo</code>.
            </Empty>
          ) : (
            <SelectableTable
              label="Training runs"
              rows={rows}
              columns={COLUMNS}
              rowKey={(r) => r.id}
              selected={selected ? [selected.id] : []}
              onSelect={(r) => select(r.id)}
            />
          )}
        </section>
        <section className="panel" aria-labelledby="checkpoints-heading">
          <h2 id="checkpoints-heading">Checkpoints</h2>
          <CheckpointsTable state={checkpoints} recordings={recordings.data} />
        </section>
      </div>

      <section className="panel run-detail" aria-labelledby="curves-heading">
        <h2 id="curves-heading">
          Training curves{selected ? <span className="mono"> · {selected.id}</span> : null}
        </h2>
        {selected && (
          <div className="run-status">
            {selected.job?.status === 'running' && <JobProgress job={selected.job} />}
            {selected.status === 'failed' && (
              <p className="field-error" role="alert">
                Failed: {selected.message ?? selected.job?.error ?? 'no message'}
              </p>
            )}
            {(selected.status === 'cancelled' ||
              selected.status === 'failed' ||
              selected.status === 'interrupted' ||
              orphaned) &&
              selected.request && (
                <p className="resume-hint">
                  {orphaned
                    ? 'This run is marked running but no job trains it (the app or server stopped). '
                    : ''}
                  Its training state is saved (where it stopped, or at the last checkpoint step if the process
                  died): starting the same run again resumes it there.{' '}
                  <button type="button" onClick={() => resume(selected)}>
                    Resume {selected.id}
                  </button>
                </p>
              )}
            {resumeError && (
              <p className="field-error" role="alert">
                {resumeError}
              </p>
            )}
          </div>
        )}
        {runs.loading && !runs.data ? <Loading what="training curves" /> : <RunCurves runs={shown} />}
      </section>

      <div className="project-bottom">
        <section className="panel" aria-labelledby="form-heading">
          <h2 id="form-heading">New training run</h2>
          {checkpoints.error ? (
            <ErrorState
              title="The checkpoints could not be read"
              error={checkpoints.error}
              onRetry={checkpoints.reload}
            />
          ) : checkpoints.loading && !checkpoints.data ? (
            <Loading what="checkpoints" />
          ) : (
            <TrainForm checkpoints={choices} onStarted={onStarted} />
          )}
        </section>
        <section className="panel" aria-labelledby="glossary-heading">
          <h2 id="glossary-heading">Metrics (TRL names)</h2>
          <Glossary />
        </section>
      </div>
    </ViewShell>
  );
}
