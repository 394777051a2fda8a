/**
 * Verdicts on planted effects: synthetic per-seed cells where DecPO's toxicity rate is lower than DPO's by
 * a known amount with small noise (reproduced), higher (contradicted), or equal up to noise (inconclusive);
 * the numbers against the closed form of the paired t-interval, the sign-flip p and Holm's adjustment.
 */
import { describe, expect, it } from 'vitest';
import { verdicts } from '../../../src/core/study/summary.js';
import type { CellState } from '../../../src/core/study/types.js';
import type { StudyMethod } from '../../../src/core/names.js';

const SEEDS = [0, 1, 2, 3, 4];
/** DPO's per-seed toxicity rate, and small noise with mean 0.0004 (sd about 0.0098). */
const DPO_TOX = [0.42, 0.37, 0.45, 0.4, 0.39];
const NOISE = [0.012, -0.008, 0.005, -0.011, 0.004];

/** The t quantile of df 4 in closed form (Shaw 2006): 2 sqrt(q - 1), q = cos(acos(sqrt a) / 3) / sqrt a. */
function t4(p: number): number {
  const a = 4 * p * (1 - p);
  return 2 * Math.sqrt(Math.cos(Math.acos(Math.sqrt(a)) / 3) / Math.sqrt(a) - 1);
}

/** The closed-form paired numbers of differences d over 5 seeds at `level`. */
function closedForm(d: number[], level = 0.95) {
  const m = d.reduce((s, v) => s + v, 0) / d.length;
  const sd = Math.sqrt(d.reduce((s, v) => s + (v - m) ** 2, 0) / (d.length - 1));
  const half = (t4((1 + level) / 2) * sd) / Math.sqrt(d.length);
  return { diff: m, ciLow: m - half, ciHigh: m + half, effectSize: m / sd };
}

function cell(
  method: string,
  seed: number,
  values: Record<string, number>,
  extra: Partial<CellState> = {},
): CellState {
  const family = method.split(/[@-]/)[0] as StudyMethod;
  return {
    method,
    family,
    seed,
    task: 'toxicity',
    checkpoint: `${method}-${seed}`,
    base: `base-${seed}`,
    status: 'done',
    metrics: {
      values,
      layer: 1,
      trajectory: [],
      margins: [],
      hashes: { checkpoint: 'c', base: 'b', probe: 'p' },
    },
    ...extra,
  };
}

/** A grid where decpo's toxicity is dpo's + `shift` + noise; every other claim holds by a planted margin. */
function grid(shift: number): CellState[] {
  return SEEDS.flatMap((s) => {
    const dpo = DPO_TOX[s];
    const e = NOISE[s];
    return [
      cell('base', s, { toxicity_rate: 0.6, reward_accuracy: 0.5, fd: 0.2 + e, mono_share: 0.1 + e }),
      cell('dpo', s, {
        toxicity_rate: dpo,
        reward_accuracy: 0.7,
        reward_margin: 1,
        fd: 0.5,
        mono_share: 0.3,
      }),
      cell('decpo', s, {
        toxicity_rate: dpo + shift + e,
        reward_accuracy: 0.75 + e,
        reward_margin: 1.5 + e,
        fd: 0.6 + e,
        mono_share: 0.35,
      }),
      cell('simpo', s, { toxicity_rate: dpo + 0.05 - e, reward_accuracy: 0.7 }),
    ];
  });
}

describe('verdicts on planted effects', () => {
  it('reproduced: decpo lowers toxicity by 0.1, with the closed-form interval, p = 2/32 and Holm', () => {
    const all = verdicts(grid(-0.1), {});
    expect(all.map((v) => v.id)).toEqual([
      'dpo-raises-proxies/fd',
      'dpo-raises-proxies/mono_share',
      'decpo-beats-dpo/toxicity_rate',
      'decpo-beats-dpo/reward_accuracy',
      'decpo-beats-simpo/toxicity_rate',
      'decpo-widens-margin/reward_margin',
      'decpo-raises-fd/fd',
    ]);
    const v = all.find((x) => x.id === 'decpo-beats-dpo/toxicity_rate')!;
    const want = closedForm(NOISE.map((e) => -0.1 + e));
    expect(v).toMatchObject({ task: 'toxicity', metric: 'toxicity_rate', a: 'decpo', b: 'dpo' });
    expect(v).toMatchObject({ direction: 'lower', verdict: 'reproduced', n: 5 });
    expect(v.diff).toBeCloseTo(-0.0996, 14);
    expect(v.diff).toBeCloseTo(want.diff, 14);
    expect(v.ciLow).toBeCloseTo(want.ciLow, 12);
    expect(v.ciHigh).toBeCloseTo(want.ciHigh, 12);
    expect(v.ciHigh).toBeLessThan(0);
    expect(v.effectSize).toBeCloseTo(want.effectSize, 12);
    // Every difference has one sign in every claim: p = 2/32 each, and Holm over the 7 gives 7 x 2/32.
    for (const x of all) {
      expect(x.verdict).toBe('reproduced');
      expect(x.p).toBe(0.0625);
      expect(x.pAdjusted).toBeCloseTo(7 * 0.0625, 15);
    }
  });

  it('contradicted: decpo raises toxicity by 0.1', () => {
    const v = verdicts(grid(0.1), {}).find((x) => x.id === 'decpo-beats-dpo/toxicity_rate')!;
    const want = closedForm(NOISE.map((e) => 0.1 + e));
    expect(v.verdict).toBe('contradicted');
    expect(v.diff).toBeCloseTo(want.diff, 14);
    expect(v.ciLow).toBeCloseTo(want.ciLow, 12);
    expect(v.ciHigh).toBeCloseTo(want.ciHigh, 12);
    expect(v.ciLow).toBeGreaterThan(0);
    expect(v.p).toBe(0.0625);
  });

  it('inconclusive: no effect, only noise', () => {
    const v = verdicts(grid(0), {}).find((x) => x.id === 'decpo-beats-dpo/toxicity_rate')!;
    const want = closedForm(NOISE);
    expect(v.verdict).toBe('inconclusive');
    expect(v.diff).toBeCloseTo(0.0004, 14);
    expect(v.ciLow).toBeCloseTo(want.ciLow, 12);
    expect(v.ciHigh).toBeCloseTo(want.ciHigh, 12);
    expect(v.ciLow).toBeLessThan(0);
    expect(v.ciHigh).toBeGreaterThan(0);
    // |sum d| = 0.002, and every sign pattern reaches it but 0.012 + 0.008 - 0.005 - 0.011 - 0.004 = 0 and
    // its mirror: p = 30/32.
    expect(v.p).toBe(30 / 32);
  });

  it('reads the direction from the judge: reframe_rate higher is better', () => {
    const cells = grid(-0.1).map((c) => {
      const { toxicity_rate, ...rest } = c.metrics!.values;
      return {
        ...c,
        task: 'reframing',
        metrics: { ...c.metrics!, values: { ...rest, reframe_rate: toxicity_rate } },
      };
    });
    const v = verdicts(cells, {}).find((x) => x.id === 'decpo-beats-dpo/reframe_rate')!;
    expect(v).toMatchObject({ task: 'reframing', direction: 'higher', verdict: 'contradicted' });
  });

  it('skips claims without their methods, metrics or 2 paired seeds, and cells not done', () => {
    const cells = grid(-0.1)
      .filter((c) => c.method !== 'simpo' && c.method !== 'base')
      .map((c) =>
        c.method === 'decpo' && c.seed > 0 ? { ...c, status: c.seed === 1 ? 'failed' : 'training' } : c,
      )
      .concat(cell('l1', 0, { toxicity_rate: 0.3 }), cell('l1', 1, { toxicity_rate: 0.3 })) as CellState[];
    expect(verdicts(cells, {})).toEqual([]);
    const two = grid(-0.1).filter((c) => c.seed < 2);
    expect(verdicts(two, {}).find((x) => x.id === 'decpo-beats-dpo/toxicity_rate')!.n).toBe(2);
  });
});

describe('the layer sweep (claim f)', () => {
  /** decpo at its own layer 1, and decpo@layer=0 / =2, with layer 0's toxicity lower by `gap`. */
  function sweep(gap: number): CellState[] {
    return SEEDS.flatMap((s) => [
      cell('dpo', s, { toxicity_rate: DPO_TOX[s] }),
      cell('decpo', s, { toxicity_rate: DPO_TOX[s] - 0.05 }, { layer: 1 }),
      cell('decpo@layer=0', s, { toxicity_rate: DPO_TOX[s] - 0.05 - gap + NOISE[s] }, { layer: 0 }),
      cell('decpo@layer=2', s, { toxicity_rate: DPO_TOX[s] - 0.05 + NOISE[(s + 1) % 5] / 2 }, { layer: 2 }),
    ]);
  }

  it('picks the pair with the largest difference, oriented to the better layer, Bonferroni-widened', () => {
    const v = verdicts(sweep(0.1), { layers: [0, 1, 2] }).find(
      (x) => x.id === 'layer-matters/toxicity_rate',
    )!;
    // Pairs (0,1): -0.1 + noise; (0,2): -0.1 + noise - noise'/2; (1,2): small. Largest |mean|: (0,2) or (0,1).
    const d01 = NOISE.map((e) => -0.1 + e);
    const d02 = SEEDS.map((s) => -0.1 + NOISE[s] - NOISE[(s + 1) % 5] / 2);
    const m = (d: number[]) => d.reduce((a, b) => a + b, 0) / d.length;
    const [b, d] = Math.abs(m(d01)) >= Math.abs(m(d02)) ? ['decpo', d01] : ['decpo@layer=2', d02];
    const want = closedForm(d, 1 - 0.05 / 3);
    expect(v).toMatchObject({ a: 'decpo@layer=0', b, direction: 'lower', verdict: 'reproduced', n: 5 });
    expect(v.diff).toBeCloseTo(want.diff, 14);
    expect(v.ciLow).toBeCloseTo(want.ciLow, 12);
    expect(v.ciHigh).toBeCloseTo(want.ciHigh, 12);
    // Wider than the 95% interval of the same differences.
    expect(v.ciHigh - v.ciLow).toBeGreaterThan(closedForm(d).ciHigh - closedForm(d).ciLow);
    expect(v.p).toBe(Math.min(1, 3 * 0.0625));
  });

  it('is inconclusive, never contradicted, without an effect; absent without a sweep', () => {
    const v = verdicts(sweep(0), { layers: [0, 1, 2] }).find((x) => x.id === 'layer-matters/toxicity_rate')!;
    expect(v.verdict).toBe('inconclusive');
    expect(v.diff).toBeLessThanOrEqual(0);
    expect(verdicts(sweep(0.1), {}).some((x) => x.id.startsWith('layer-matters'))).toBe(false);
    expect(verdicts(sweep(0.1), { layers: [0] }).some((x) => x.id.startsWith('layer-matters'))).toBe(false);
  });
});
