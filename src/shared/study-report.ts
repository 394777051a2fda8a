// The study's report as one self-contained HTML page (`monoscope study report`, and the app's export of
// the Study view): the verdicts first, then per task the method tables, the comparisons with DPO, every
// summary row and the figures, the judges against ground truth, the cells, the exact spec and the versions.
// Pure string building: every text escaped, every number printed to 4 significant digits and carried at
// full precision in a `data-value` attribute (JavaScript's shortest round-trip form), so a reader or a
// test can take the exact values back.
import type { OpResult } from '../core/api.js';
import { escapeXml } from './figures/text.js';
import { fontFaceCss, type FontData } from './figures/fonts.js';
import { renderFigure } from './figures/render.js';
import {
  judgeMetric,
  STUDY_FIGURE_TITLES,
  STUDY_FIGURES,
  studyFigureSpec,
  studyMethods,
  studyTasks,
} from './specs/study.js';

type StudyView = OpResult<'study'>;
type SummaryRow = StudyView['summary'][number];

/** A figure of the report: its SVG (from `renderFigure`), a title, and the task it belongs to if any. */
export interface ReportFigure {
  title: string;
  svg: string;
  task?: string;
}

/** Every study figure the study has data for, per task, rendered for the report. */
export function studyReportFigures(view: StudyView): ReportFigure[] {
  return studyTasks(view).flatMap((task) =>
    STUDY_FIGURES.flatMap((figure) => {
      const spec = studyFigureSpec(view, figure, { task });
      return spec
        ? [{ title: `${STUDY_FIGURE_TITLES[figure]} (${task})`, svg: renderFigure(spec), task }]
        : [];
    }),
  );
}

/** The metrics of the method table, in this order when present; any other unsuffixed metric follows. */
const HEADLINE = [
  'toxicity_rate',
  'reframe_rate',
  'reward_accuracy',
  'reward_margin',
  'mono_share',
  'mean_abs_corr',
  'fd',
  'fraction_active',
  'hoyer',
  'effective_rank',
];

const esc = (v: unknown) => escapeXml(String(v));

/** `v` to 4 significant digits (exponent form outside [1e-3, 1e5)), `—` when not finite. */
export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return '—';
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a >= 1e-3 && a < 1e5 ? String(Number(v.toPrecision(4))) : v.toExponential(3);
}

/** A number as printed, with its exact value in `data-value` and what it is in `data-field`. */
function n(v: number, field: string): string {
  return `<span class="num" data-field="${esc(field)}" data-value="${esc(v)}">${esc(formatNumber(v))}</span>`;
}

/** `mean [lo, hi]`, the three numbers under the given field names. */
function ci(mean: number, lo: number, hi: number, fields = ['mean', 'ci_low', 'ci_high']): string {
  return `${n(mean, fields[0])} <span class="ci">[${n(lo, fields[1])}, ${n(hi, fields[2])}]</span>`;
}

function table(head: string[], rows: string[][], attrs: string[] = []): string {
  const th = head.map((h) => `<th>${h}</th>`).join('');
  const body = rows
    .map((r, i) => `<tr${attrs[i] ? ' ' + attrs[i] : ''}>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`)
    .join('\n');
  return `<table><thead><tr>${th}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

function verdictsSection(view: StudyView): string {
  if (view.verdicts.length === 0) return '<h2>Verdicts</h2><p>No verdict yet: no claim has cells done.</p>';
  const rows = view.verdicts.map((v) => [
    `${esc(v.claim)}<div class="muted">${esc(v.source)} · <code>${esc(v.id)}</code></div>`,
    `<span class="verdict ${esc(v.verdict)}">${esc(v.verdict)}</span>`,
    `${esc(v.metric)} (${esc(v.task)})<div class="muted">${esc(v.a)} − ${esc(v.b)}, expected ${esc(v.direction)}</div>`,
    ci(v.diff, v.ciLow, v.ciHigh, ['diff', 'ci_low', 'ci_high']),
    n(v.n, 'n'),
    n(v.p, 'p'),
    n(v.pAdjusted, 'p_holm'),
    n(v.effectSize, 'd_z'),
  ]);
  return (
    '<h2>Verdicts</h2><p>Each claim of the paper against a paired difference over seeds: <b>reproduced</b> when ' +
    "its 95% CI excludes zero in the paper's direction, <b>contradicted</b> when it excludes zero the other way, " +
    '<b>inconclusive</b> otherwise. p: exact sign-flip test, two-sided; Holm p across the verdicts; d_z: mean ' +
    'difference / sd of the differences.</p>' +
    table(
      ['claim', 'verdict', 'metric', 'difference [95% CI]', 'n', 'p', 'Holm p', 'd_z'],
      rows,
      view.verdicts.map((v) => `data-verdict="${esc(v.id)}" data-word="${esc(v.verdict)}"`),
    )
  );
}

/** The method table (mean [CI] per headline metric) and each method against DPO (difference [CI], p). */
function methodTables(view: StudyView, task: string, rows: SummaryRow[]): string {
  const names = new Set(rows.map((r) => r.metric).filter((m) => !m.includes('@')));
  const metrics = [
    ...HEADLINE.filter((m) => names.has(m)),
    ...[...names].filter((m) => !HEADLINE.includes(m)),
  ];
  const methods = studyMethods(view).filter((m) => rows.some((r) => r.method === m));
  const find = (method: string, metric: string) =>
    rows.find((r) => r.method === method && r.metric === metric);
  const means = methods.map((method) => [
    esc(method),
    ...metrics.map((metric) => {
      const r = find(method, metric);
      return r ? `${ci(r.mean, r.ciLow, r.ciHigh)} <span class="muted">n=${esc(r.n)}</span>` : '';
    }),
  ]);
  const compared = methods.filter((m) => metrics.some((metric) => find(m, metric)?.paired));
  const paired = compared.map((method) => [
    esc(method),
    ...metrics.map((metric) => {
      const p = find(method, metric)?.paired;
      return p
        ? `${ci(p.diff, p.ciLow, p.ciHigh, ['diff', 'diff_ci_low', 'diff_ci_high'])}<div class="muted">p ${n(p.p, 'p')} · Holm ${n(p.pAdjusted, 'p_holm')} · d_z ${n(p.effectSize, 'd_z')}</div>`
        : '';
    }),
  ]);
  const head = ['method', ...metrics.map((m) => (m === judgeMetric(task) ? `${esc(m)} (judge)` : esc(m)))];
  return (
    `<h3>Methods (mean [95% CI] over seeds)</h3>${table(head, means)}` +
    (compared.length > 0
      ? `<h3>Against DPO (method − DPO over the same seeds [95% CI])</h3>${table(head, paired)}`
      : '')
  );
}

/** Every summary row of the task, one line each, with every number of the row. */
function summaryRows(rows: SummaryRow[]): string {
  const head = ['method', 'metric', 'mean', 'sd', 'ci_low', 'ci_high', 'n']
    .concat(['against', 'diff', 'diff_ci_low', 'diff_ci_high', 'pairs', 'p', 'p_holm', 'd_z'])
    .map(esc);
  const body = rows.map((r) => [
    esc(r.method),
    esc(r.metric),
    n(r.mean, 'mean'),
    n(r.sd, 'sd'),
    n(r.ciLow, 'ci_low'),
    n(r.ciHigh, 'ci_high'),
    n(r.n, 'n'),
    ...(r.paired
      ? [
          esc(r.paired.against),
          n(r.paired.diff, 'diff'),
          n(r.paired.ciLow, 'diff_ci_low'),
          n(r.paired.ciHigh, 'diff_ci_high'),
          n(r.paired.n, 'pairs'),
          n(r.paired.p, 'p'),
          n(r.paired.pAdjusted, 'p_holm'),
          n(r.paired.effectSize, 'd_z'),
        ]
      : ['', '', '', '', '', '', '', '']),
  ]);
  const attrs = rows.map(
    (r) =>
      `data-row="summary" data-task="${esc(r.task)}" data-method="${esc(r.method)}" data-metric="${esc(r.metric)}"`,
  );
  return `<details><summary>Every summary row (${rows.length})</summary>${table(head, body, attrs)}</details>`;
}

function figureBlock(f: ReportFigure): string {
  // Inline SVG in HTML: without an XML declaration.
  const svg = f.svg.replace(/^<\?xml[^>]*\?>\s*/, '');
  return `<figure>${svg}<figcaption>${esc(f.title)}</figcaption></figure>`;
}

function cellsSection(view: StudyView): string {
  const rows = view.cells.map((c) => [
    esc(c.method),
    n(c.seed, 'seed'),
    esc(c.task),
    `<span class="status ${esc(c.status)}">${esc(c.status)}</span>${c.message ? `<div class="muted">${esc(c.message)}</div>` : ''}`,
    `<code>${esc(c.checkpoint)}</code>`,
    c.metrics
      ? ['checkpoint', 'base', 'probe']
          .map((k) => `${k} <code>${esc(c.metrics!.hashes[k as 'checkpoint' | 'base' | 'probe'])}</code>`)
          .join('<br>')
      : '',
    c.seconds ? `${n(c.seconds.train, 'train_s')} + ${n(c.seconds.measure, 'measure_s')}` : '',
  ]);
  const done = view.cells.filter((c) => c.status === 'done').length;
  return (
    `<h2>Cells (${done} of ${view.cells.length} done)</h2>` +
    table(
      ['method', 'seed', 'task', 'status', 'checkpoint', 'content hashes', 'seconds (train + measure)'],
      rows,
      view.cells.map((c) => `data-cell="${esc(c.checkpoint)}" data-seed="${esc(c.seed)}"`),
    )
  );
}

const STYLE = `
body{font-family:Inter,system-ui,-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;margin:2rem auto;max-width:1200px;padding:0 1rem;color:#1a1a1a;font-size:14px}
h1{font-size:1.6rem}h2{margin-top:2.2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}h3{margin-top:1.4rem}
table{border-collapse:collapse;margin:.6rem 0;font-size:13px}th,td{border-bottom:1px solid #e4e4e4;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f6f6}.num{font-variant-numeric:tabular-nums}.ci,.muted{color:#666}.muted{font-size:12px}
code,pre{font-family:'DejaVu Sans Mono',Menlo,Consolas,monospace;font-size:12px}code{word-break:break-all}pre{background:#f6f6f6;padding:.8rem;overflow:auto}
.verdict{font-weight:600;padding:.1rem .4rem;border-radius:3px}.reproduced{background:#d9f2e3;color:#0b6b34}
.contradicted{background:#fbdcdc;color:#9c1c1c}.inconclusive{background:#eee;color:#444}
figure{margin:1rem 0}figure svg{max-width:100%;height:auto}figcaption{color:#666;font-size:12px}
.status.failed{color:#9c1c1c}.status.done{color:#0b6b34}`;

/**
 * The report of `view` as one HTML document: no external requests (inline CSS and SVG; the figures' fonts
 * embedded when `o.fonts` gives them, else the system's). `figures` are placed under their task, or after
 * the tasks when they name none.
 */
export function studyReportHtml(
  view: StudyView,
  figures: ReportFigure[],
  o: { fonts?: FontData[] } = {},
): string {
  const tasks = studyTasks(view);
  const taskSections = tasks.map((task) => {
    const rows = view.summary.filter((r) => r.task === task);
    const own = figures.filter((f) => f.task === task);
    return (
      `<section data-task="${esc(task)}"><h2>Task: ${esc(task)}</h2>` +
      (rows.length > 0
        ? methodTables(view, task, rows) + summaryRows(rows)
        : '<p>No cell of this task is done yet.</p>') +
      (own.length > 0 ? `<h3>Figures</h3>${own.map(figureBlock).join('\n')}` : '') +
      '</section>'
    );
  });
  const loose = figures.filter((f) => f.task === undefined || !tasks.includes(f.task));
  const judges = view.judges.map((j) => [esc(j.task), esc(j.metric), n(j.accuracy, 'accuracy'), n(j.n, 'n')]);
  const versions = Object.entries(view.versions).map(([k, v]) => [esc(k), `<code>${esc(v)}</code>`]);
  const title = `Study ${view.name}`;
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<title>${esc(title)} · Monoscope</title>`,
    `<style>${o.fonts ? fontFaceCss(o.fonts) : ''}${STYLE}</style>`,
    '</head><body>',
    `<h1>${esc(title)}</h1>`,
    `<p class="muted">Created ${esc(view.createdAt)} · updated ${esc(view.updatedAt)}${view.running ? ' · <b>running</b>: the numbers are of the cells done so far' : ''}</p>`,
    verdictsSection(view),
    ...taskSections,
    loose.length > 0 ? `<h2>Figures</h2>${loose.map(figureBlock).join('\n')}` : '',
    '<h2>Judges against ground truth</h2>',
    judges.length > 0
      ? table(['task', 'metric', 'accuracy', 'n'], judges)
      : '<p>No built-in task: no judge to check.</p>',
    cellsSection(view),
    '<h2>Spec</h2>',
    `<pre data-spec>${esc(JSON.stringify(view.spec, null, 2))}</pre>`,
    '<h2>Versions</h2>',
    table(['component', 'version'], versions),
    '</body></html>',
    '',
  ].join('\n');
}
