/**
 * `monoscope study report`: a study of the project as one self-contained HTML file (`studyReportHtml`: the
 * verdicts, the tables, the figures inline as SVG with the bundled fonts embedded, the cells, the spec and
 * versions) and, in a folder, the CSV of every number (`study/csv.ts`). The project is opened read-only;
 * the files are written atomically, and never onto the project's managed files.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { openProject } from '../core/store/project.js';
import { createService } from '../core/service.js';
import { checkUserOutputs, writeAll, writeUserFiles } from '../core/store/files.js';
import { silentReporter, type Reporter } from '../core/ops/progress.js';
import { cellsCsv, marginsCsv, summaryCsv, trajectoryCsv, verdictsCsv } from '../core/study/csv.js';
import type { StudyView } from '../core/study/types.js';
import { studyReportFigures, studyReportHtml } from '../shared/study-report.js';
import { bundledFontData } from './cli-figure.js';

/** The CSV files of `--csv DIR`, and what writes each. */
const CSVS: [string, (v: StudyView) => string][] = [
  ['cells.csv', (v) => cellsCsv(v.cells)],
  ['summary.csv', (v) => summaryCsv(v.summary)],
  ['trajectory.csv', (v) => trajectoryCsv(v.cells)],
  ['margins.csv', (v) => marginsCsv(v.cells)],
  ['verdicts.csv', (v) => verdictsCsv(v.verdicts)],
];

/**
 * Writes the report of the study `o.name` (default: the one run most recently) to `o.out`, and its CSVs
 * into `o.csv` when given. The paths are checked before the project is opened: a path among a project's
 * managed files (its store, checkpoints/, runs/, saes/) is refused and nothing is written. Returns the
 * files written (absolute paths).
 */
export async function writeStudyReport(
  projectDir: string,
  o: { name?: string; out: string; csv?: string },
  reporter: Reporter = silentReporter,
): Promise<{ html: string; files: string[] }> {
  const html = resolve(o.out);
  const csvDir = o.csv === undefined ? undefined : resolve(o.csv);
  const csvFiles = csvDir ? CSVS.map(([name]) => join(csvDir, name)) : [];
  checkUserOutputs([html, ...csvFiles]);
  const service = createService(openProject(projectDir, { readonly: true }));
  try {
    const view = await service.call('study.get', o.name === undefined ? {} : { name: o.name });
    if (!view)
      throw new Error(
        o.name === undefined
          ? `study report: the project ${resolve(projectDir)} has no study (run \`monoscope study\` first)`
          : `study report: no study '${o.name}' in the project ${resolve(projectDir)}`,
      );
    const done = view.cells.filter((c) => c.status === 'done').length;
    reporter.message(`study '${view.name}': ${done} of ${view.cells.length} cells done`);
    const page = studyReportHtml(view, studyReportFigures(view), { fonts: bundledFontData() });
    if (csvDir) mkdirSync(csvDir, { recursive: true });
    const texts = [page, ...(csvDir ? CSVS.map(([, write]) => write(view)) : [])];
    const files = [html, ...csvFiles];
    writeUserFiles(files.map((file, i) => ({ file, write: (fd: number) => writeAll(fd, texts[i]) })));
    return { html, files: csvFiles };
  } finally {
    service.close();
  }
}
