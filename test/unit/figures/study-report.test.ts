// The study report's HTML on the synthetic study: every summary row and verdict is there with its numbers
// (each data-value reads back as exactly the row's value), the verdict words, the cells with their hashes,
// the exact spec, the figures inline, no external request, and every string escaped.
import { describe, expect, it } from 'vitest';
import { formatNumber, studyReportFigures, studyReportHtml } from '../../../src/shared/study-report.js';
import { STUDY_FIGURES } from '../../../src/shared/specs/study.js';
import type { StudyView } from '../../../src/core/study/types.js';
import { studyViewFixture } from '../../fixtures/study-view.js';
import { parseXml } from './xml.js';

const decode = (s: string) =>
  s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');

function attributes(text: string): Record<string, string> {
  return Object.fromEntries([...text.matchAll(/([\w-]+)="([^"]*)"/g)].map((m) => [m[1], decode(m[2])]));
}

/** The table rows of `html` that carry attribute `name`: their attributes and their numbers by field. */
function rows(html: string, name: string) {
  return [...html.matchAll(/<tr ([^>]*)>(.*?)<\/tr>/gs)]
    .map((m) => ({ attrs: attributes(m[1]), body: m[2] }))
    .filter((r) => name in r.attrs)
    .map((r) => ({
      ...r,
      numbers: Object.fromEntries(
        [
          ...r.body.matchAll(/<span class="num" data-field="([^"]*)" data-value="([^"]*)">([^<]*)<\/span>/g),
        ].map((m) => [m[1], { value: Number(m[2]), shown: m[3] }]),
      ),
    }));
}

describe('study report HTML', () => {
  const view = studyViewFixture();
  const html = studyReportHtml(view, studyReportFigures(view));

  it('has every summary row with its numbers, exactly', () => {
    const found = rows(html, 'data-row');
    expect(found.length).toBe(view.summary.length);
    for (const r of view.summary) {
      const row = found.find(
        (f) =>
          f.attrs['data-task'] === r.task &&
          f.attrs['data-method'] === r.method &&
          f.attrs['data-metric'] === r.metric,
      );
      expect(row, `${r.method} ${r.metric}`).toBeDefined();
      const expected: Record<string, number> = {
        mean: r.mean,
        sd: r.sd,
        ci_low: r.ciLow,
        ci_high: r.ciHigh,
        n: r.n,
        ...(r.paired && {
          diff: r.paired.diff,
          diff_ci_low: r.paired.ciLow,
          diff_ci_high: r.paired.ciHigh,
          pairs: r.paired.n,
          p: r.paired.p,
          p_holm: r.paired.pAdjusted,
          d_z: r.paired.effectSize,
        }),
      };
      expect(Object.keys(row!.numbers).sort()).toEqual(Object.keys(expected).sort());
      for (const [field, value] of Object.entries(expected)) {
        expect(Object.is(row!.numbers[field].value, value), `${r.method} ${r.metric} ${field}`).toBe(true);
        expect(row!.numbers[field].shown).toBe(formatNumber(value));
      }
    }
  });

  it('puts the verdicts first, each with its word and numbers', () => {
    expect(html.indexOf('<h2>Verdicts</h2>')).toBeLessThan(html.indexOf('<h2>Task: toxicity</h2>'));
    const found = rows(html, 'data-verdict');
    expect(found.map((f) => f.attrs['data-verdict'])).toEqual(view.verdicts.map((v) => v.id));
    for (const [i, v] of view.verdicts.entries()) {
      const { numbers, body, attrs } = found[i];
      expect(attrs['data-word']).toBe(v.verdict);
      expect(body).toContain(`<span class="verdict ${v.verdict}">${v.verdict}</span>`);
      const expected = {
        diff: v.diff,
        ci_low: v.ciLow,
        ci_high: v.ciHigh,
        n: v.n,
        p: v.p,
        p_holm: v.pAdjusted,
        d_z: v.effectSize,
      };
      for (const [field, value] of Object.entries(expected)) expect(numbers[field].value).toBe(value);
    }
    for (const word of ['reproduced', 'contradicted', 'inconclusive'])
      expect(view.verdicts.some((v) => v.verdict === word) && html.includes(`>${word}</span>`)).toBe(true);
  });

  it('shows the method table and the comparisons with DPO per metric, and the judges', () => {
    const decpo = view.summary.find((r) => r.method === 'decpo' && r.metric === 'toxicity_rate')!;
    expect(html).toContain('toxicity_rate (judge)');
    expect(html).toContain(`data-field="mean" data-value="${decpo.mean}">${formatNumber(decpo.mean)}</span>`);
    expect(html).toContain(`data-field="diff" data-value="${decpo.paired!.diff}"`);
    expect(html).toContain(`data-field="accuracy" data-value="${view.judges[0].accuracy}"`);
  });

  it('lists every cell with its status, checkpoint, content hashes and seconds', () => {
    const found = rows(html, 'data-cell');
    expect(found.length).toBe(view.cells.length);
    view.cells.forEach((c, i) => {
      expect(found[i].attrs['data-cell']).toBe(c.checkpoint);
      expect(found[i].body).toContain(`<span class="status ${c.status}">${c.status}</span>`);
      if (c.metrics) for (const h of Object.values(c.metrics.hashes)) expect(found[i].body).toContain(h);
      if (c.seconds) expect(found[i].numbers.train_s.value).toBe(c.seconds.train);
      if (c.message) expect(found[i].body).toContain(c.message);
    });
  });

  it('carries the exact spec, the versions and the figures inline, and requests nothing', () => {
    const spec = html.match(/<pre data-spec>(.*?)<\/pre>/s)![1];
    expect(JSON.parse(decode(spec))).toEqual(view.spec);
    for (const v of Object.values(view.versions)) expect(html).toContain(`<code>${v}</code>`);
    const svgs = [...html.matchAll(/<svg[\s\S]*?<\/svg>/g)].map((m) => m[0]);
    expect(svgs.length).toBe(STUDY_FIGURES.length);
    for (const svg of svgs) expect(parseXml(svg).name).toBe('svg');
    expect(html).not.toMatch(/<script|<link|<img|<iframe|src=|href=|url\((?!data:|#)|@import/i);
    expect(html.startsWith('<!doctype html>')).toBe(true);
  });

  it('embeds the fonts it is given as data: URLs', () => {
    const withFonts = studyReportHtml(view, [], {
      fonts: [{ family: 'Inter', weight: 400, data: new Uint8Array([0, 1, 2, 3]) }],
    });
    expect(withFonts).toContain(
      "@font-face{font-family:'Inter';font-weight:400;font-style:normal;src:url(data:font/ttf;base64,AAECAw==)",
    );
  });

  it('escapes every string', () => {
    const evil = `sft<script>alert("x")</script>&'`;
    const rename = (m: string) => (m === 'sft' ? evil : m);
    const copy: StudyView = {
      ...view,
      name: `q<b>`,
      cells: view.cells.map((c) => ({
        ...c,
        method: rename(c.method),
        message: c.message && `${c.message} <i>`,
      })),
      summary: view.summary.map((r) => ({ ...r, method: rename(r.method) })),
      verdicts: view.verdicts.map((v, i) => (i === 0 ? { ...v, claim: `${v.claim} <em>&` } : v)),
      spec: { ...view.spec, pairs: '</pre><script>' },
      versions: { ...view.versions, monoscope: '<1.0>' },
    };
    const out = studyReportHtml(copy, [
      { title: 'a <title>', svg: '<svg xmlns="http://www.w3.org/2000/svg"></svg>' },
    ]);
    expect(out).not.toContain('<script');
    expect(out).not.toContain('q<b>');
    expect(out).toContain('Study q&lt;b&gt;');
    expect(out).not.toContain('<i>');
    expect(out).not.toContain('<em>');
    expect(out).not.toContain('<1.0>');
    expect(out).not.toContain('<title>)');
    expect(out).toContain('sft&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&apos;');
    const row = rows(out, 'data-row').find(
      (r) => r.attrs['data-method'] === evil && r.attrs['data-metric'] === 'fd',
    );
    expect(row?.numbers.mean.value).toBe(
      view.summary.find((r) => r.method === 'sft' && r.metric === 'fd')!.mean,
    );
    expect(JSON.parse(decode(out.match(/<pre data-spec>(.*?)<\/pre>/s)![1]))).toEqual(copy.spec);
  });

  it('formats numbers to 4 significant digits', () => {
    expect([0.123456, 41.5, 1e-4, -0.0012346, 123456, 0, NaN, 3].map(formatNumber)).toEqual([
      '0.1235',
      '41.5',
      '1.000e-4',
      '-0.001235',
      '1.235e+5',
      '0',
      '—',
      '3',
    ]);
  });
});
