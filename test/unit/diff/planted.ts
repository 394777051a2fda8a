/**
 * Planted activations for crosscoder tests: two models that share some concepts (the same direction in
 * both) and each have private ones (present in one model's activations only). Each concept is present in a
 * token independently with probability 1/4 (so one concept's presence says nothing of another's), with a
 * coefficient in [1, 3); each model adds a constant offset.
 */
import type { Matrix } from '../../../src/core/analysis/matrix.js';
import { Rng } from '../../../src/core/model/rng.js';

export interface PlantedConcept {
  kind: 'shared' | 'a-only' | 'b-only';
  /** The concept's direction in model A and in model B (null where the model lacks it). */
  a: number[] | null;
  b: number[] | null;
}

export function plantedPair(
  rows: number,
  seed: number,
  d = 8,
  counts = { shared: 4, aOnly: 2, bOnly: 2 },
): { xs: [Matrix, Matrix]; concepts: PlantedConcept[] } {
  const r = new Rng(seed);
  const unit = () => {
    const v = Array.from({ length: d }, () => r.normal());
    const s = Math.hypot(...v);
    return v.map((x) => x / s);
  };
  const concepts: PlantedConcept[] = [
    ...Array.from({ length: counts.shared }, () => {
      const v = unit();
      return { kind: 'shared' as const, a: v, b: v };
    }),
    ...Array.from({ length: counts.aOnly }, () => ({ kind: 'a-only' as const, a: unit(), b: null })),
    ...Array.from({ length: counts.bOnly }, () => ({ kind: 'b-only' as const, a: null, b: unit() })),
  ];
  const xa = new Float32Array(rows * d);
  const xb = new Float32Array(rows * d);
  for (let t = 0; t < rows; t++) {
    for (const c of concepts) {
      if (r.next() >= 0.25) continue;
      const coef = 1 + 2 * r.next();
      for (let j = 0; j < d; j++) {
        if (c.a) xa[t * d + j] += coef * c.a[j];
        if (c.b) xb[t * d + j] += coef * c.b[j];
      }
    }
    for (let j = 0; j < d; j++) {
      xa[t * d + j] += 0.3;
      xb[t * d + j] -= 0.2;
    }
  }
  return {
    xs: [
      { data: xa, rows, cols: d },
      { data: xb, rows, cols: d },
    ],
    concepts,
  };
}
