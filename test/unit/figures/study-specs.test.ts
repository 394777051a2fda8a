// The study's figure specs on the synthetic study: every bar, point and band equals the mean over seeds
// and its 95% t-interval recomputed here from the fixture's cells (t quantiles in closed form), null where
// the study lacks what a figure needs, and every spec renders to well-formed SVG and CSV.
import { describe, expect, it } from 'vitest';
import { STUDY_FIGURES, studyFigureSpec, type StudyFigure } from '../../../src/shared/specs/study.js';
import { renderFigure } from '../../../src/shared/figures/render.js';
import { figureCsv } from '../../../src/shared/figures/csv.js';
import type {
  FigureSpec,
  GroupedBarData,
  LineChartData,
  LineSeries,
} from '../../../src/shared/figures/types.js';
import type { CellState, StudyView } from '../../../src/core/study/types.js';
import { studyViewFixture } from '../../fixtures/study-view.js';
import { allText, byTag, parseXml } from './xml.js';

/**
 * The 0.975 quantile of Student's t for df = 1 (Cauchy: tan(π(p − ½))) and df = 2 ((2p − 1) / √(2p(1 − p))),
 * the fixture having 2 or 3 seeds per method.
 */
const T975: Record<number, number> = {
  1: Math.tan(Math.PI * 0.475),
  2: (2 * 0.975 - 1) / Math.sqrt(2 * 0.975 * 0.025),
};

/**
 * Mean and 95% t-interval of `v`, from the definition: mean ± t(0.975, n−1) · s / √n; NaN edges where s = 0,
 * as scipy.stats.t.interval gives for a zero scale (and the study's tables show).
 */
function reference(v: number[]): { mean: number; lo: number; hi: number } {
  const n = v.length;
  const mean = v.reduce((a, b) => a + b, 0) / n;
  const s = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
  if (s === 0) return { mean, lo: NaN, hi: NaN };
  const half = T975[n - 1] * (s / Math.sqrt(n));
  return { mean, lo: mean - half, hi: mean + half };
}

const done = (view: StudyView, method: string) =>
  view.cells.filter((c): c is CellState & { metrics: NonNullable<CellState['metrics']> } => {
    return c.method === method && c.status === 'done' && c.metrics !== undefined;
  });

const values = (view: StudyView, method: string, metric: string) =>
  done(view, method).map((c) => c.metrics.values[metric]);

function expectClose(actual: number, expected: number) {
  if (Number.isNaN(expected)) expect(actual).toBeNaN();
  else expect(Math.abs(actual - expected)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(expected)));
}

function line(spec: FigureSpec | null): LineChartData {
  expect(spec?.kind).toBe('line');
  return spec!.data as LineChartData;
}

function bars(spec: FigureSpec | null): GroupedBarData {
  expect(spec?.kind).toBe('groupedBar');
  return spec!.data as GroupedBarData;
}

/** A series' points and band against the reference of the values `at` each x gives. */
function expectSeries(s: LineSeries, xs: number[], at: (x: number) => number[]) {
  expect(s.x).toEqual(xs);
  xs.forEach((x, i) => {
    const r = reference(at(x));
    expectClose(s.y[i], r.mean);
    expectClose(s.band!.lo[i], r.lo);
    expectClose(s.band!.hi[i], r.hi);
  });
}

describe('study figure specs', () => {
  const view = studyViewFixture();

  it('study-methods: one bar per method (the judge by default), its mean and CI over the done seeds', () => {
    const data = bars(studyFigureSpec(view, 'study-methods'));
    const methods = ['base', 'sft', 'dpo', 'decpo', 'simpo', 'l1']; // the sweeps have their own figures
    expect(data.groups).toEqual(['toxicity_rate']);
    expect(data.series.map((s) => s.name)).toEqual(methods);
    for (const s of data.series) {
      const v = values(view, s.name, 'toxicity_rate');
      expect(v.length).toBe(3);
      const r = reference(v);
      expectClose(s.values[0], r.mean);
      const [lo, hi] = s.errors![0] as [number, number];
      expectClose(lo, r.lo);
      expectClose(hi, r.hi);
    }
    const accuracy = bars(studyFigureSpec(view, 'study-methods', { metric: 'reward_accuracy' }));
    expectClose(accuracy.series[2].values[0], reference(values(view, 'dpo', 'reward_accuracy')).mean);
    // Without the judge (a pairs file, or not measured), the held-out reward accuracy.
    const unjudged = { ...view, summary: view.summary.filter((r) => r.metric !== 'toxicity_rate') };
    expect(bars(studyFigureSpec(unjudged, 'study-methods')).groups).toEqual(['reward_accuracy']);
  });

  it('study-trajectory: fd of the regularized block per step for dpo and decpo (step 0 the base)', () => {
    const data = line(studyFigureSpec(view, 'study-trajectory'));
    expect(data.series.map((s) => s.name)).toEqual(['dpo', 'decpo']);
    for (const s of data.series)
      expectSeries(s, [0, 25, 50, 75, 100], (step) =>
        done(view, s.name).map((c) => c.metrics.trajectory.find((t) => t.step === step)!.values.fd),
      );
    const hoyer = line(studyFigureSpec(view, 'study-trajectory', { metric: 'hoyer' }));
    expectSeries(hoyer.series[0], [0, 25, 50, 75, 100], (step) =>
      done(view, 'dpo').map((c) => c.metrics.trajectory.find((t) => t.step === step)!.values.hoyer),
    );
  });

  it('study-layers: fd per block for base, dpo and decpo', () => {
    const data = bars(studyFigureSpec(view, 'study-layers'));
    expect(data.groups).toEqual(['L0', 'L1', 'L2']);
    expect(data.series.map((s) => s.name)).toEqual(['base', 'dpo', 'decpo']);
    for (const s of data.series)
      [0, 1, 2].forEach((layer) => {
        const r = reference(values(view, s.name, `fd@${layer}`));
        expectClose(s.values[layer], r.mean);
        const [lo, hi] = s.errors![layer] as [number, number];
        expectClose(lo, r.lo);
        expectClose(hi, r.hi);
      });
  });

  it('study-layer-sweep: the judge per regularized layer, DPO as a dashed reference with its CI', () => {
    const spec = studyFigureSpec(view, 'study-layer-sweep');
    const [sweep, dpo] = line(spec).series;
    expectSeries(sweep, [0, 1, 2], (layer) => values(view, `decpo@layer=${layer}`, 'toxicity_rate'));
    const r = reference(values(view, 'dpo', 'toxicity_rate'));
    expect(dpo).toMatchObject({ name: 'dpo', kind: 'eval', x: [0, 2] });
    for (const i of [0, 1]) {
      expectClose(dpo.y[i], r.mean);
      expectClose(dpo.band!.lo[i], r.lo);
      expectClose(dpo.band!.hi[i], r.hi);
    }
    expect(spec?.options).not.toHaveProperty('logX');
  });

  it('study-lambda-sweep: the judge per lambda on a log x axis, decpo at its own lambda (n = 2 where a cell failed)', () => {
    const spec = studyFigureSpec(view, 'study-lambda-sweep');
    expect(spec?.options).toMatchObject({ logX: true });
    const [sweep, dpo] = line(spec).series;
    expectSeries(sweep, [1e-4, 1e-3, 1e-2, 0.1], (lambda) => {
      const v = values(view, lambda === 1e-3 ? 'decpo' : `decpo@lambda=${lambda}`, 'toxicity_rate');
      expect(v.length).toBe(lambda === 0.1 ? 2 : 3);
      return v;
    });
    expect(dpo.x).toEqual([1e-4, 0.1]);
  });

  it('study-margins: the reward margin per step, train and eval, for each preference method', () => {
    const data = line(studyFigureSpec(view, 'study-margins'));
    const methods = ['dpo', 'decpo', 'simpo', 'l1'];
    expect(data.series.map((s) => s.name)).toEqual(methods.flatMap((m) => [`${m} train`, `${m} eval`]));
    for (const s of data.series) {
      const [method, kind] = s.name.split(' ') as [string, 'train' | 'eval'];
      expect(s).toMatchObject({ kind, group: method });
      const steps = kind === 'train' ? [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100] : [0, 50, 100];
      expectSeries(s, steps, (step) =>
        done(view, method).map((c) => c.metrics.margins.find((m) => m.step === step)![kind]!),
      );
    }
  });

  it('a step whose values are the same over every seed has no band there, as the tables have no interval', () => {
    // DPO's fd at step 50 set to 0.5 on every seed: the t-interval is NaN (sd = 0), the band has a gap.
    const flat: StudyView = {
      ...view,
      cells: view.cells.map((c) =>
        c.method === 'dpo' && c.metrics
          ? {
              ...c,
              metrics: {
                ...c.metrics,
                trajectory: c.metrics.trajectory.map((t) =>
                  t.step === 50 ? { ...t, values: { ...t.values, fd: 0.5 } } : t,
                ),
              },
            }
          : c,
      ),
    };
    const spec = studyFigureSpec(flat, 'study-trajectory');
    const [dpo, decpo] = line(spec).series;
    expectSeries(dpo, [0, 25, 50, 75, 100], (step) =>
      done(flat, 'dpo').map((c) => c.metrics.trajectory.find((t) => t.step === step)!.values.fd),
    );
    expect(dpo.y[2]).toBe(0.5);
    expect([dpo.band!.lo[2], dpo.band!.hi[2]]).toEqual([NaN, NaN]);
    // Drawn: DPO's band in two pieces about the gap, DecPO's whole.
    const bands = byTag(parseXml(renderFigure(spec!)), 'path').filter(
      (p) => p.attrs['fill-opacity'] === '0.16',
    );
    expect(bands.map((p) => p.attrs.d!.match(/M/g)!.length)).toEqual([2, 1]);
    expect(decpo.band!.lo.every(Number.isFinite)).toBe(true);
  });

  it('is null where the study lacks what a figure needs', () => {
    const plain: StudyView = {
      ...view,
      cells: view.cells
        .filter((c) => !c.method.includes('@'))
        .map((c) => (c.metrics ? { ...c, metrics: { ...c.metrics, trajectory: [], margins: [] } } : c)),
      summary: view.summary.filter((r) => !r.method.includes('@') && !r.metric.includes('@')),
    };
    for (const figure of [
      'study-layer-sweep',
      'study-lambda-sweep',
      'study-trajectory',
      'study-margins',
      'study-layers',
    ] as StudyFigure[])
      expect(studyFigureSpec(plain, figure), figure).toBeNull();
    expect(studyFigureSpec(plain, 'study-methods')).not.toBeNull();
    for (const figure of STUDY_FIGURES) {
      expect(studyFigureSpec(view, figure, { task: 'reframing' }), figure).toBeNull();
      expect(studyFigureSpec({ ...view, cells: [], summary: [] }, figure), figure).toBeNull();
    }
    expect(studyFigureSpec(view, 'study-methods', { metric: 'no_such_metric' })).toBeNull();
  });

  it('every figure renders to well-formed SVG, with bands and error bars, and to CSV', () => {
    for (const figure of STUDY_FIGURES) {
      const spec = studyFigureSpec(view, figure)!;
      const root = parseXml(renderFigure(spec));
      expect(root.name).toBe('svg');
      // The lambda sweep's x axis is logarithmic: decades labelled 10⁻⁴ … 10⁻¹.
      if (figure === 'study-lambda-sweep')
        for (const decade of ['10⁻⁴', '10⁻³', '10⁻²', '10⁻¹']) expect(allText(root)).toContain(decade);
      const paths = byTag(root, 'path');
      if (spec.kind === 'line')
        expect(paths.filter((p) => p.attrs['fill-opacity'] === '0.16').length).toBeGreaterThan(0);
      else expect(paths.some((p) => /M[\d.]+ [\d.]+V/.test(p.attrs.d ?? ''))).toBe(true);
      const csv = figureCsv(spec).trimEnd().split('\n');
      if (spec.kind === 'line') {
        expect(csv[0]).toBe('series,kind,x,y,y_lo,y_hi');
        const series = (spec.data as LineChartData).series;
        expect(csv.length - 1).toBe(series.reduce((a, s) => a + s.x.length, 0));
        const [name, , x, y, lo, hi] = csv[1].split(',');
        expect([name, Number(x), Number(y), Number(lo), Number(hi)]).toEqual([
          series[0].name,
          series[0].x[0],
          series[0].y[0],
          series[0].band!.lo[0],
          series[0].band!.hi[0],
        ]);
      } else expect(csv[0]).toBe('group,series,value,error_lo,error_hi');
    }
  });
});
