/**
 * `monoscope study report` on the study suites' shared tiny study (run by the CLI; a copy of its project):
 * cells.csv equals the store's per-cell metrics, every number of summary.csv is recomputed in Python
 * (pandas, scipy) from cells.csv, the HTML's data-values equal summary.csv, the figures are inline, and an
 * output aimed at the project's managed files (or an unknown study) is refused with nothing written.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { csvParseRows } from 'd3';
import { cli } from './cli.js';
import { STUDY_LIMIT, copyTinyStudy } from '../helpers/study-project.js';
import { openProject } from '../../src/core/store/project.js';
import { createService } from '../../src/core/service.js';
import type { StudyView } from '../../src/core/study/types.js';

const PYTHON = '/usr/bin/python3';
const root = mkdtempSync(join(tmpdir(), 'monoscope-study-report-'));
const project = join(root, 'proj');
const out = join(root, 'r.html');
const dir = join(root, 'd');
afterAll(() => rmSync(root, { recursive: true, force: true }));

let view: StudyView;

/** Runs a Python script with arguments and returns its stdout. */
const execPython = (script: string, args: string[]) =>
  execFileSync(PYTHON, ['-c', script, ...args], { encoding: 'utf8' }).trim();

/** A CSV file as records of strings. */
function records(file: string): Record<string, string>[] {
  const [header, ...rows] = csvParseRows(readFileSync(file, 'utf8'));
  return rows.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i]])));
}

/** A CSV number field as written (`nan`, `inf`, empty for none). */
function number(field: string | undefined): number | undefined {
  if (field === undefined || field === '') return undefined;
  return field === 'nan' ? NaN : field === 'inf' ? Infinity : field === '-inf' ? -Infinity : Number(field);
}

beforeAll(async () => {
  copyTinyStudy(project);
  const service = createService(openProject(project, { readonly: true }));
  try {
    view = (await service.call('study.get', {}))!;
  } finally {
    service.close();
  }
  expect(view.cells.every((c) => c.status === 'done')).toBe(true);
  const report = cli(['study', 'report', '--project', project, '--out', out, '--csv', dir]);
  expect(report.code, report.stderr).toBe(0);
}, STUDY_LIMIT);

describe('monoscope study report', () => {
  it('writes cells.csv equal to the store', () => {
    const rows = records(join(dir, 'cells.csv'));
    const done = view.cells.filter((c) => c.status === 'done');
    expect(rows.length).toBe(done.length);
    for (const c of done) {
      const row = rows.find((r) => r.method === c.method && Number(r.seed) === c.seed && r.task === c.task);
      expect(row, `${c.method} ${c.seed}`).toBeDefined();
      for (const [metric, value] of Object.entries(c.metrics!.values))
        expect(Object.is(number(row![metric]), value), `${c.method} ${c.seed} ${metric}`).toBe(true);
    }
  });

  it('writes summary.csv whose every number Python recomputes from cells.csv', () => {
    // The definitions: mean and 95% t-interval over seeds (scipy's t quantile), and per (task, metric)
    // each method - dpo over the shared seeds: its t-interval, the exact two-sided sign-flip p over all
    // 2^n sign patterns, Holm's step-down adjustment across the table, d_z = mean / sd of the differences.
    const script = `
import sys, itertools, numpy as np, pandas as pd
from scipy import stats
cells = pd.read_csv(sys.argv[1]); summary = pd.read_csv(sys.argv[2])
def ci(x):
    x = np.asarray(x, float); n = len(x); m = x.mean(); s = x.std(ddof=1) if n > 1 else np.nan
    # No interval for one value, nor for constant values (scale 0), as SciPy's t.interval answers NaN.
    h = stats.t.ppf(0.975, n - 1) * s / np.sqrt(n) if n > 1 and s > 0 else np.nan
    return m, m - h, m + h, n, s
def signflip(d):
    d = np.asarray(d, float); obs = abs(d.mean())
    flips = [abs((np.array(s) * d).mean()) for s in itertools.product([1, -1], repeat=len(d))]
    return sum(f >= obs * (1 - 1e-12) for f in flips) / len(flips)
# SciPy 1.10's t.ppf is accurate to about 1e-9 relative (ours matches mpmath to 1e-15: see stats.test.ts),
# so an interval's ends agree to about 1e-9 of its half-width: hence atol 1e-9 (the metrics are of order 1).
checked = 0
for (task, metric), table in summary.groupby(['task', 'metric']):
    ps = {}
    for _, row in table.iterrows():
        x = cells[(cells.task == task) & (cells.method == row.method)][['seed', metric]].dropna()
        m, lo, hi, n, s = ci(x[metric])
        got = [row['mean'], row.ci_low, row.ci_high, row.n]
        assert np.allclose(got, [m, lo, hi, n], rtol=1e-9, atol=1e-9, equal_nan=True), (task, metric, row.method, got, [m, lo, hi, n])
        checked += 4
        if row.method == 'dpo' or pd.isna(row.diff_vs_dpo):
            continue
        ref = cells[(cells.task == task) & (cells.method == 'dpo')][['seed', metric]].dropna()
        j = x.merge(ref, on='seed', suffixes=('', '_dpo'))
        d = (j[metric] - j[metric + '_dpo']).to_numpy()
        dm, dlo, dhi, dn, ds = ci(d)
        got = [row.diff_vs_dpo, row.diff_ci_low, row.diff_ci_high, row.n_pairs, row.p_value, row.effect_size_dz]
        want = [dm, dlo, dhi, dn, signflip(d), dm / ds]
        assert np.allclose(got, want, rtol=1e-9, atol=1e-9, equal_nan=True), (task, metric, row.method, got, want)
        ps[row.method] = (row.p_value, row.p_holm)
        checked += 6
    order = sorted(ps, key=lambda k: ps[k][0]); running = 0.0
    for rank, k in enumerate(order):
        running = max(running, min(1.0, (len(order) - rank) * ps[k][0]))
        assert abs(ps[k][1] - running) <= 1e-12, (task, metric, k, ps[k][1], running)
        checked += 1
print(checked)
`;
    const checked = Number(execPython(script, [join(dir, 'cells.csv'), join(dir, 'summary.csv')]));
    // 4 numbers per row, 6 more and a Holm p per comparison with DPO.
    const paired = view.summary.filter((r) => r.paired).length;
    expect(paired).toBeGreaterThan(0);
    expect(checked).toBe(4 * view.summary.length + 7 * paired);
    for (const name of ['trajectory.csv', 'margins.csv', 'verdicts.csv'])
      expect(existsSync(join(dir, name))).toBe(true);
  });

  it("prints summary.csv's numbers in the HTML, exactly, with the verdicts and the figures inline", () => {
    const html = readFileSync(out, 'utf8');
    const summary = records(join(dir, 'summary.csv'));
    expect(summary.length).toBe(view.summary.length);
    expect(summary.length).toBeGreaterThan(0);
    const decode = (s: string) =>
      s
        .replace(/&lt;/g, '<')
        .replace(/&gt;/g, '>')
        .replace(/&quot;/g, '"')
        .replace(/&apos;/g, "'")
        .replace(/&amp;/g, '&');
    const htmlRows = [
      ...html.matchAll(
        /<tr data-row="summary" data-task="([^"]*)" data-method="([^"]*)" data-metric="([^"]*)">(.*?)<\/tr>/gs,
      ),
    ];
    expect(htmlRows.length).toBe(summary.length);
    const fields: [string, string][] = [
      ['mean', 'mean'],
      ['ci_low', 'ci_low'],
      ['ci_high', 'ci_high'],
      ['n', 'n'],
      ['diff_vs_dpo', 'diff'],
      ['diff_ci_low', 'diff_ci_low'],
      ['diff_ci_high', 'diff_ci_high'],
      ['p_value', 'p'],
      ['p_holm', 'p_holm'],
      ['effect_size_dz', 'd_z'],
      ['n_pairs', 'pairs'],
    ];
    for (const row of summary) {
      const match = htmlRows.find(
        (m) => decode(m[1]) === row.task && decode(m[2]) === row.method && decode(m[3]) === row.metric,
      );
      expect(match, `${row.method} ${row.metric}`).toBeDefined();
      const values = Object.fromEntries(
        [...match![4].matchAll(/data-field="([^"]*)" data-value="([^"]*)"/g)].map((m) => [
          m[1],
          Number(m[2]),
        ]),
      );
      for (const [csvField, htmlField] of fields) {
        const expected = number(row[csvField]);
        if (expected === undefined) expect(values[htmlField]).toBeUndefined();
        else
          expect(Object.is(values[htmlField], expected), `${row.method} ${row.metric} ${csvField}`).toBe(
            true,
          );
      }
    }
    for (const v of view.verdicts) expect(html).toContain(`data-verdict="${v.id}" data-word="${v.verdict}"`);
    expect(html).toMatch(/<svg[^>]*data-figure/);
    expect(html).toContain('@font-face');
    expect(html).not.toMatch(/<script|<link|src=|href=/i);
  });

  it('exports a study figure (SVG, PNG, CSV) whose bars are the summary over seeds', () => {
    const files = ['m.svg', 'm.png', 'm.csv'].map((f) => join(root, f));
    const r = cli(
      ['export', 'figure', '--project', project, '--figure', 'study-methods', '--study', view.name].concat([
        '--out',
        files[0],
        '--png',
        files[1],
        '--csv',
        files[2],
      ]),
    );
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(files[0], 'utf8')).toMatch(/^<svg[^>]*data-figure="groupedBarChart"/);
    expect(readFileSync(files[1]).subarray(1, 4).toString()).toBe('PNG');
    const bars = records(files[2]);
    const judged = view.summary.filter((s) => s.metric === bars[0].group && !s.method.includes('@'));
    expect(bars.map((b) => b.series)).toEqual(judged.map((s) => s.method));
    expect(bars.length).toBeGreaterThanOrEqual(2);
    for (const b of bars) {
      const row = view.summary.find((s) => s.method === b.series && s.metric === b.group)!;
      expect([Number(b.value), Number(b.error_lo), Number(b.error_hi)]).toEqual([
        row.mean,
        row.ciLow,
        row.ciHigh,
      ]);
    }
    const none = cli(
      ['export', 'figure', '--project', project, '--figure', 'study-trajectory', '--study', 'nope'].concat([
        '--out',
        join(root, 'n.svg'),
      ]),
    );
    expect(none.code).not.toBe(0);
    expect(none.stderr).toMatch(/no study 'nope'/);
  });

  it('refuses an output among the managed files, and writes nothing', () => {
    const store = join(project, 'monoscope.db');
    const before = createHash('sha256').update(readFileSync(store)).digest('hex');
    const elsewhere = join(root, 'never');
    for (const args of [
      ['--out', store, '--csv', elsewhere],
      ['--out', join(root, 'never.html'), '--csv', join(project, 'runs', 'csv')],
    ]) {
      const r = cli(['study', 'report', '--project', project, ...args]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/inside the Monoscope project/);
    }
    expect(createHash('sha256').update(readFileSync(store)).digest('hex')).toBe(before);
    expect(existsSync(elsewhere)).toBe(false);
    expect(existsSync(join(root, 'never.html'))).toBe(false);
    expect(existsSync(join(project, 'runs', 'csv'))).toBe(false);
  });

  it('names an unknown study, and a project without one, as errors', () => {
    const r = cli(['study', 'report', '--project', project, '--name', 'nope', '--out', join(root, 'x.html')]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/no study 'nope'/);
    const empty = join(root, 'empty');
    openProject(empty, { create: true }).close();
    const e = cli(['study', 'report', '--project', empty, '--out', join(root, 'y.html')]);
    expect(e.code).not.toBe(0);
    expect(e.stderr).toMatch(/has no study/);
    expect(existsSync(join(root, 'x.html')) || existsSync(join(root, 'y.html'))).toBe(false);
  });
});
