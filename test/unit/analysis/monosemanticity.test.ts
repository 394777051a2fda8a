import { describe, expect, it } from 'vitest';
import {
  binIndex,
  monosemanticity,
  normalizedMutualInformation,
  topIndices,
} from '../../../src/core/analysis/monosemanticity.js';
import { Rng } from '../../../src/core/model/rng.js';

/** 600 tokens, concepts colour / animal / food / none in turn; four planted neurons. */
function planted() {
  const rng = new Rng(7);
  const names = ['colour', 'animal', 'food', null] as const;
  const rows = 600;
  const cols = 4;
  const concepts: (string | null)[] = [];
  const data = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const c = names[r % 4];
    concepts.push(c);
    const noise = () => 0.05 * rng.normal();
    // 0: monosemantic for colour. 1: polysemantic, colour and animal alike. 2: dead (never positive). 3: noise.
    data[r * cols + 0] = c === 'colour' ? 2 + noise() : Math.min(0, noise());
    data[r * cols + 1] = c === 'colour' || c === 'animal' ? 2 + noise() : Math.min(0, noise());
    data[r * cols + 2] = -0.1 - Math.abs(noise());
    data[r * cols + 3] = rng.normal();
  }
  return { x: { data, rows, cols }, concepts };
}

describe('monosemanticity', () => {
  it('finds a planted monosemantic neuron and not a planted polysemantic one; labels the dead one', () => {
    const { x, concepts } = planted();
    const res = monosemanticity(x, concepts, { topK: 20 });
    const [mono, poly, dead, noise] = res.neurons;
    expect(mono.label).toBe('monosemantic');
    expect(mono.dominantConcept).toBe('colour');
    expect(mono.topKShare).toBe(1);
    // Per-concept means of max(a,0): colour ~2, others ~0 -> selectivity ~1.
    expect(mono.selectivity).toBeGreaterThan(0.95);
    expect(poly.label).toBe('polysemantic');
    expect(poly.topKShare).toBeLessThan(0.8);
    // mu1 ~ 2, mu2 = mean(2, 0) = 1 -> (2 - 1) / (2 + 1) = 1/3.
    expect(poly.selectivity).toBeCloseTo(1 / 3, 1);
    expect(dead.label).toBe('dead');
    expect(dead.fractionActive).toBe(0);
    expect(noise.label).toBe('polysemantic');
    expect(mono.nmi).toBeGreaterThan(noise.nmi);
    expect(res.shares).toEqual({ monosemantic: 0.25, polysemantic: 0.5, dead: 0.25 });
    expect(res.concepts).toEqual(['animal', 'colour', 'food']);
  });

  it('thresholds are options', () => {
    const { x, concepts } = planted();
    const res = monosemanticity(x, concepts, { thresholds: { minTopKShare: 0.4, minSelectivity: 0.3 } });
    expect(res.neurons[1].label).toBe('monosemantic');
  });

  it('masks special-token rows', () => {
    const x = { data: Float32Array.from([5, 1, 1, 1]), rows: 4, cols: 1 };
    const res = monosemanticity(x, ['food', 'colour', 'colour', 'colour'], {
      topK: 1,
      tokenIds: [0, 9, 9, 9],
      specialIds: [0],
    });
    expect(res.n).toBe(3);
    expect(res.neurons[0].dominantConcept).toBe('colour');
  });

  it('MEmeL phi against the running mean and variance, by hand', () => {
    // Activations 0, 2, 1, 7: phi_2 = (1 - 1)^2 / 2 = 0; phi_3 = (7 - 1)^2 / 1 = 36.
    const x = { data: Float32Array.from([0, 2, 1, 7]), rows: 4, cols: 1 };
    const n = monosemanticity(x, [null, null, null, null]).neurons[0];
    expect(n.memelMax).toBeCloseTo(36, 10);
    expect(n.memelMean).toBeCloseTo(18, 10);
    expect(n.memelSpikeShare).toBe(0.5);
  });

  it('rejects a label count that does not match the rows', () => {
    expect(() => monosemanticity({ data: new Float32Array(4), rows: 2, cols: 2 }, ['a'])).toThrow(
      /1 concept labels for 2/,
    );
  });
});

describe('NMI and helpers', () => {
  it('is 1 for identical partitions, 0 for independent ones, and a hand value otherwise', () => {
    expect(
      normalizedMutualInformation(Int32Array.from([0, 0, 1, 1]), Int32Array.from([1, 1, 0, 0]), 2, 2),
    ).toBeCloseTo(1, 12);
    expect(
      normalizedMutualInformation(Int32Array.from([0, 1, 0, 1]), Int32Array.from([0, 0, 1, 1]), 2, 2),
    ).toBeCloseTo(0, 12);
    // U = [0,0,1,1], V = [0,0,0,1]: I = ln2 - 3/4 ln3 + ... computed: H(U) = ln 2, H(V) = -(3/4 ln 3/4 + 1/4 ln 1/4).
    const hu = Math.log(2);
    const hv = -(0.75 * Math.log(0.75) + 0.25 * Math.log(0.25));
    const mi =
      0.5 * Math.log(0.5 / (0.5 * 0.75)) +
      0.25 * Math.log(0.25 / (0.5 * 0.75)) +
      0.25 * Math.log(0.25 / (0.5 * 0.25));
    expect(
      normalizedMutualInformation(Int32Array.from([0, 0, 1, 1]), Int32Array.from([0, 0, 0, 1]), 2, 2),
    ).toBeCloseTo(mi / ((hu + hv) / 2), 12);
  });

  it('bins equal-width with the top edge in the last bin; top indices keep the earlier of ties', () => {
    expect([...binIndex([0, 0.5, 1, 0.99], 2, 0, 1)]).toEqual([0, 1, 1, 1]);
    expect(topIndices([3, 1, 3, 2, 5], 3)).toEqual([4, 0, 2]);
  });
});
