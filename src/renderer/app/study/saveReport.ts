// "Save report" of the Study view: the study's self-contained HTML report, the same as `monoscope study
// report` writes (studyReportHtml with every figure of every task inline as SVG), with the app's fonts
// embedded, as a download.
import { studyReportFigures, studyReportHtml } from '../../../shared/study-report.js';
import { bundledFonts, downloadBlob } from '../exportFigure.js';
import type { StudyData } from './study.js';

/** Downloads `study-NAME.html`. */
export async function saveStudyReport(study: StudyData): Promise<void> {
  const html = studyReportHtml(study, studyReportFigures(study), { fonts: await bundledFonts() });
  downloadBlob(new Blob([html], { type: 'text/html' }), `study-${study.name}.html`);
}
