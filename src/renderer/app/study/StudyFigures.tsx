// The study's figures (the paper's Table 2, Figures 2–3 and 7, the lambda sweep and the reward margins),
// each the Figure component with its export (SVG, PNG, CSV), for a chosen task, and a chosen metric where
// the figure takes one. Figures the study has no data for are named, not drawn.
import { useState } from 'react';
import { Figure } from '../components/Figure.js';
import {
  STUDY_FIGURES,
  STUDY_FIGURE_TITLES,
  judgeMetric,
  studyFigureSpec,
  studyTasks,
  type StudyFigure,
} from '../../../shared/specs/study.js';
import { isBlockMetric, type StudyData } from './study.js';

/**
 * The metrics a figure can draw for `task` (none: it takes no metric), and its default: the summary's
 * metrics for the method table and the sweeps (default the judge), the proxies over training steps for
 * the trajectory (default `fd`), the proxies of every block (NAME of `NAME@LAYER`) for the per-block figure.
 */
function metricChoices(
  study: StudyData,
  figure: StudyFigure,
  task: string,
): { options: string[]; first: string } {
  const summary = [...new Set(study.summary.filter((r) => r.task === task).map((r) => r.metric))];
  const judge = judgeMetric(task);
  switch (figure) {
    case 'study-methods':
    case 'study-layer-sweep':
    case 'study-lambda-sweep':
      return { options: summary.filter((m) => !isBlockMetric(m)), first: judge };
    case 'study-trajectory': {
      const names = study.cells.flatMap((c) =>
        c.task === task ? (c.metrics?.trajectory ?? []).flatMap((t) => Object.keys(t.values)) : [],
      );
      return { options: [...new Set(names)].filter((m) => !isBlockMetric(m)), first: 'fd' };
    }
    case 'study-layers':
      return {
        options: [...new Set(summary.filter(isBlockMetric).map((m) => m.split('@')[0]))],
        first: 'fd',
      };
    case 'study-margins':
      return { options: [], first: '' };
  }
}

/** The metric a figure shows until one is picked: its default when the study has it, else the first. */
function defaultMetric(study: StudyData, figure: StudyFigure, task: string): string | undefined {
  const { options, first } = metricChoices(study, figure, task);
  return options.includes(first) ? first : options[0];
}

/** One figure with its metric picker. */
function StudyFigurePanel({ study, figure, task }: { study: StudyData; figure: StudyFigure; task: string }) {
  const { options, first } = metricChoices(study, figure, task);
  const [chosen, setChosen] = useState<string>();
  const metric =
    chosen !== undefined && options.includes(chosen) ? chosen : options.includes(first) ? first : options[0];
  const spec = studyFigureSpec(study, figure, { task, metric });
  if (!spec) return null;
  return (
    <div className="study-figure" data-figure={figure}>
      {options.length > 1 && (
        <label className="inline-field study-figure-controls">
          Metric
          <select value={metric} onChange={(e) => setChosen(e.target.value)}>
            {options.map((m) => (
              <option key={m} value={m}>
                {m}
              </option>
            ))}
          </select>
        </label>
      )}
      <Figure spec={spec} fileName={[study.name, figure, task, metric].filter(Boolean).join('-')} />
      <p className="definition">{STUDY_FIGURE_TITLES[figure]}</p>
    </div>
  );
}

export function StudyFigures({ study }: { study: StudyData }) {
  const tasks = studyTasks(study);
  const [chosen, setChosen] = useState<string>();
  const task = chosen !== undefined && tasks.includes(chosen) ? chosen : tasks[0];
  if (task === undefined) return null;
  const missing = STUDY_FIGURES.filter(
    (f) => studyFigureSpec(study, f, { task, metric: defaultMetric(study, f, task) }) === null,
  );
  return (
    <section className="panel" aria-labelledby="study-figures-heading">
      <h2 id="study-figures-heading">Figures</h2>
      {tasks.length > 1 && (
        <label className="inline-field study-figure-controls">
          Task
          <select value={task} onChange={(e) => setChosen(e.target.value)}>
            {tasks.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        </label>
      )}
      <div className="study-figures">
        {STUDY_FIGURES.map((f) => (
          <StudyFigurePanel key={f} study={study} figure={f} task={task} />
        ))}
      </div>
      {missing.length > 0 && (
        <p className="hint">
          Not in this study (no done cells of what they need):{' '}
          {missing.map((f) => STUDY_FIGURE_TITLES[f]).join('; ')}.
        </p>
      )}
    </section>
  );
}
