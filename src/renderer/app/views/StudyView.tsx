// The Study view: the paper's study of the open project (the most recent by default, another by name),
// live while its grid runs (a job started from the form here, or `monoscope study` elsewhere): the grid of
// cells, the verdicts and the summary over seeds, and the study's figures with their export.
import { useState } from 'react';
import { Empty, ErrorState, Loading } from '../components/States.js';
import { JobProgress } from '../components/Jobs.js';
import { fmtTime } from '../components/format.js';
import { useJobs } from '../data.js';
import { VIEWS } from '../views.js';
import { ViewShell } from './ViewShell.js';
import { isNoProject, NoProject } from '../project/NoProject.js';
import { StudyFigures } from '../study/StudyFigures.js';
import { StudyForm } from '../study/StudyForm.js';
import { StudyGrid } from '../study/StudyGrid.js';
import { StudyTables } from '../study/StudyTables.js';
import { saveStudyReport } from '../study/saveReport.js';
import { studyNameOf, type StudyInput } from '../study/study.js';
import { useStudy } from '../study/useStudy.js';
import '../neurons/neurons.css';
import '../features/features.css';
import '../study/study.css';

const view = VIEWS.find((v) => v.id === 'study')!;

export function StudyView() {
  const [name, setName] = useState<string>();
  const [typed, setTyped] = useState('');
  const [startError, setStartError] = useState<string>();
  const [reportStatus, setReportStatus] = useState('');
  const { jobs, start } = useJobs();
  const { study, error, loading, reload, job, running } = useStudy(name);
  // The studies this session knows by name: the shown one and those its jobs ran.
  const known = [
    ...new Set([
      ...(study ? [study.name] : []),
      ...jobs.filter((j) => j.op === 'study').map((j) => studyNameOf(j.input)),
    ]),
  ];

  if (error && isNoProject(error)) return <NoProject view={view} error={error} />;

  const onStart = async (input: StudyInput) => {
    setStartError(undefined);
    try {
      await start('study', input);
      setName(studyNameOf(input));
    } catch (e) {
      setStartError((e as Error).message);
    }
  };

  const saveReport = async () => {
    if (!study) return;
    setReportStatus('Writing the report…');
    try {
      await saveStudyReport(study);
      setReportStatus('');
    } catch (e) {
      setReportStatus((e as Error).message);
    }
  };

  return (
    <ViewShell view={view}>
      <section className="panel" aria-labelledby="study-heading">
        <h2 id="study-heading">Study</h2>
        <form
          className="study-picker"
          onSubmit={(e) => {
            e.preventDefault();
            setName(typed.trim() || undefined);
          }}
        >
          <label className="inline-field">
            Open the study named
            <input
              type="text"
              list="study-names"
              value={typed}
              placeholder="the most recent"
              onChange={(e) => setTyped(e.target.value)}
            />
            <datalist id="study-names">
              {known.map((n) => (
                <option key={n} value={n} />
              ))}
            </datalist>
          </label>
          <button type="submit">Open</button>
        </form>
        {study && (
          <p className="study-status" data-study={study.name}>
            <span className="mono">{study.name}</span>{' '}
            {running ? (
              <span className="badge status-running">running</span>
            ) : (
              <span className="badge">not running</span>
            )}{' '}
            <span className="muted">
              created {fmtTime(study.createdAt)}, updated {fmtTime(study.updatedAt)}
            </span>{' '}
            <button type="button" onClick={saveReport}>
              Save report (HTML)
            </button>
            {reportStatus && (
              <span className="status" role="status">
                {reportStatus}
              </span>
            )}
          </p>
        )}
        {study && (
          <details className="study-spec">
            <summary>The exact spec and versions</summary>
            <pre className="mono" data-field="spec">
              {JSON.stringify(study.spec, null, 2)}
            </pre>
            <p className="hint">
              {Object.entries(study.versions)
                .map(([k, v]) => `${k} ${v}`)
                .join(' · ')}
            </p>
          </details>
        )}
        {job && (job.status === 'running' || job.status === 'queued') && <JobProgress job={job} />}
        {job?.status === 'failed' && (
          <ErrorState title="The study job failed" error={job.error ?? 'no message'} />
        )}
        {job?.status === 'cancelled' && (
          <p className="hint" role="status">
            The study was cancelled; start it again with the same settings to resume (done cells are kept).
          </p>
        )}
        {study?.running && !(job?.status === 'running' || job?.status === 'queued') && (
          <p className="hint">This study runs in another process (the CLI); it is shown as it goes.</p>
        )}
        {error ? (
          <ErrorState title="The study could not be read" error={error} onRetry={reload} />
        ) : study === undefined ? (
          loading && <Loading what="the study" />
        ) : (
          study === null &&
          !running && (
            <Empty title={name ? `No study named ${name}` : 'No study yet'}>
              Run the paper’s study from a terminal, <code>monoscope study --quick --project DIR</code>, or
              start one with the form below; its grid, tables and figures appear here as it runs.
            </Empty>
          )
        )}
      </section>

      <section className="panel" aria-labelledby="study-new-heading">
        <h2 id="study-new-heading">New study</h2>
        <StudyForm busy={running} onStart={onStart} />
        {startError && (
          <div className="state state-error" role="alert">
            <h3>The engine refused the study</h3>
            <pre className="error-message">{startError}</pre>
          </div>
        )}
      </section>

      {study && (
        <>
          <StudyGrid cells={study.cells} />
          <StudyTables study={study} />
          <StudyFigures study={study} />
        </>
      )}
    </ViewShell>
  );
}
