// "Save report" of the Study view: the study's self-contained HTML report (studyReportHtml: the verdicts,
// the tables with exact values, every figure of every task inline as SVG with the fonts embedded, the
// cells, spec and versions) as a download.
import { renderFigure } from '../../../shared/figures/index.js';
import { STUDY_FIGURES, studyFigureSpec, studyTasks } from '../../../shared/specs/study.js';
import { studyReportHtml, type ReportFigure } from '../../../shared/study-report.js';
import { sized } from '../components/FigureExport.js';
import { bundledFonts, downloadBlob } from '../exportFigure.js';
import type { StudyData } from './study.js';

/** Every figure the study has data for, per task, at the figures' default metrics, light theme. */
function reportFigures(study: StudyData): ReportFigure[] {
  return studyTasks(study).flatMap((task) =>
    STUDY_FIGURES.flatMap((figure) => {
      const spec = studyFigureSpec(study, figure, { task });
      if (!spec) return [];
      const svg = renderFigure(sized(spec, 720, 440, 'light', `${figure}-${task}`));
      return [{ title: spec.options?.title ?? figure, svg, task }];
    }),
  );
}

/** Downloads `study-NAME.html`. */
export async function saveStudyReport(study: StudyData): Promise<void> {
  const html = studyReportHtml(study, reportFigures(study), { fonts: await bundledFonts() });
  downloadBlob(new Blob([html], { type: 'text/html' }), `study-${study.name}.html`);
}
