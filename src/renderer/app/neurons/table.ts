// The neuron table's columns, filters and sort, as plain functions over the columns of `neurons.table`.
import type { OpResult } from '../../../core/api.js';
import { dec3, num, pct } from './format.js';

export type NeuronTableData = OpResult<'neurons.table'>;

export type NumericKey =
  'mean' | 'std' | 'max' | 'density' | 'topKShare' | 'selectivity' | 'nmi' | 'memelMean';
export type ColumnKey = 'neuron' | 'label' | 'dominantConcept' | NumericKey;

export interface Column {
  key: ColumnKey;
  label: string;
  /** What the column holds: shown in the header's tooltip and in the definitions. */
  definition: string;
  numeric: boolean;
  format: (v: number) => string;
  /** Grid track of the column. */
  width: string;
}

/** The table's columns in display order. */
export const COLUMNS: Column[] = [
  {
    key: 'neuron',
    label: 'Neuron',
    definition: 'Index of the neuron in the tap (0-based).',
    numeric: true,
    format: String,
    width: '72px',
  },
  {
    key: 'label',
    label: 'Label',
    definition:
      'Heuristic label: dead (active on ≤ 0.1% of tokens), monosemantic (top-k share ≥ 0.8 and selectivity ≥ 0.5) or polysemantic.',
    numeric: false,
    format: String,
    width: '114px',
  },
  {
    key: 'dominantConcept',
    label: 'Concept',
    definition:
      'The most frequent probe concept among the tokens of the neuron’s 20 highest activations (— when none).',
    numeric: false,
    format: String,
    width: '96px',
  },
  {
    key: 'mean',
    label: 'Mean',
    definition: 'Mean activation over the probe tokens.',
    numeric: true,
    format: num,
    width: '1fr',
  },
  {
    key: 'std',
    label: 'Std',
    definition: 'Standard deviation of the activation over the probe tokens.',
    numeric: true,
    format: num,
    width: '1fr',
  },
  {
    key: 'max',
    label: 'Max',
    definition: 'Largest activation on the probe set.',
    numeric: true,
    format: num,
    width: '1fr',
  },
  {
    key: 'density',
    label: 'Density',
    definition: 'Share of probe tokens on which the neuron is active (activation > 0).',
    numeric: true,
    format: pct,
    width: '1fr',
  },
  {
    key: 'topKShare',
    label: 'Top-k',
    definition: 'Of the 20 highest activations, the share whose token carries the dominant concept.',
    numeric: true,
    format: dec3,
    width: '1fr',
  },
  {
    key: 'selectivity',
    label: 'Selectivity',
    definition:
      'Class selectivity index (Morcos et al. 2018): (μ₁ − μ₂) / (μ₁ + μ₂), μ₁ the largest per-concept mean of max(a, 0), μ₂ the mean of the others.',
    numeric: true,
    format: dec3,
    width: '1fr',
  },
  {
    key: 'nmi',
    label: 'NMI',
    definition:
      'Normalised mutual information between the binned activation (10 bins) and the concept label.',
    numeric: true,
    format: dec3,
    width: '1fr',
  },
  {
    key: 'memelMean',
    label: 'MEmeL',
    definition:
      'Mean MEmeL spike scale φ = (a − running mean)² / running variance (Wang et al. 2023); 1 for a steady neuron, larger for a spiky one.',
    numeric: true,
    format: num,
    width: '1fr',
  },
];

/** The scores a threshold filter can use. */
export const SCORE_KEYS: NumericKey[] = [
  'topKShare',
  'selectivity',
  'nmi',
  'memelMean',
  'max',
  'mean',
  'std',
];

export interface NeuronFilter {
  /** `all`, or one of monosemantic, polysemantic, dead. */
  label: string;
  /** `all`, `none` (no dominant concept), or a concept. */
  concept: string;
  densityMin: number;
  densityMax: number;
  score: NumericKey;
  /** Keep neurons with score ≥ this; null keeps all. */
  scoreMin: number | null;
}

export const NO_FILTER: NeuronFilter = {
  label: 'all',
  concept: 'all',
  densityMin: 0,
  densityMax: 1,
  score: 'selectivity',
  scoreMin: null,
};

export interface Sort {
  key: ColumnKey;
  descending: boolean;
}

/** The value a column sorts by for neuron `i`: numbers as they are, text columns by their text. */
function sortValue(t: NeuronTableData, key: ColumnKey, i: number): number | string {
  if (key === 'neuron') return i;
  if (key === 'label') return t.label[i];
  if (key === 'dominantConcept') return t.dominantConcept[i] ?? '';
  return t[key][i];
}

/**
 * The neurons that pass `filter`, in `sort` order (ties by neuron index; NaN last whatever the direction),
 * as indices into the table's columns.
 */
export function filteredOrder(t: NeuronTableData, filter: NeuronFilter, sort: Sort): Int32Array {
  const keep: number[] = [];
  for (let i = 0; i < t.neurons; i++) {
    if (filter.label !== 'all' && t.label[i] !== filter.label) continue;
    if (
      filter.concept === 'none'
        ? t.dominantConcept[i] !== null
        : filter.concept !== 'all' && t.dominantConcept[i] !== filter.concept
    )
      continue;
    const d = t.density[i];
    if (d < filter.densityMin || d > filter.densityMax) continue;
    if (filter.scoreMin !== null && !(t[filter.score][i] >= filter.scoreMin)) continue;
    keep.push(i);
  }
  const sign = sort.descending ? -1 : 1;
  keep.sort((a, b) => {
    const va = sortValue(t, sort.key, a);
    const vb = sortValue(t, sort.key, b);
    if (typeof va === 'number' && typeof vb === 'number') {
      const na = Number.isNaN(va);
      const nb = Number.isNaN(vb);
      if (na || nb) return na === nb ? a - b : na ? 1 : -1;
      if (va !== vb) return sign * (va - vb);
    } else if (va !== vb) {
      return sign * String(va).localeCompare(String(vb));
    }
    return a - b;
  });
  return Int32Array.from(keep);
}

/** A cell's text. */
export function cellText(t: NeuronTableData, col: Column, i: number): string {
  if (col.key === 'neuron') return String(i);
  if (col.key === 'label') return t.label[i];
  if (col.key === 'dominantConcept') return t.dominantConcept[i] ?? '—';
  return col.format(t[col.key][i]);
}
