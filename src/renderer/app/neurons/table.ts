// The neuron table's rows, columns, filters and sort, as plain functions over the columns of
// `neurons.table`: of one tap, or of every layer of a tap kind (`blocks.*.mlp.post`) one after another.
import type { OpResult } from '../../../core/api.js';
import { dec3, num, pct } from './format.js';

export type NeuronTableData = OpResult<'neurons.table'>;

export type NumericKey =
  'mean' | 'std' | 'max' | 'density' | 'topKShare' | 'selectivity' | 'nmi' | 'memelMean';
export type ColumnKey = 'layer' | 'neuron' | 'label' | 'dominantConcept' | 'topToken' | NumericKey;
type TextKey = 'label' | 'dominantConcept' | 'topToken';

const NUMERIC_KEYS: NumericKey[] = [
  'mean',
  'std',
  'max',
  'density',
  'topKShare',
  'selectivity',
  'nmi',
  'memelMean',
];

/**
 * The table's rows: the neurons of one or more taps (each tap's table as `neurons.table` gives it, in
 * `tables`), their columns concatenated; row i is neuron `neuronOf[i]` of tap `tables[tapOf[i]]`, in block
 * `layer[i]`.
 */
export interface NeuronRows extends Pick<NeuronTableData, 'checkpoint' | 'rows' | 'thresholds' | TextKey> {
  tables: NeuronTableData[];
  /** The tap, or the taps' pattern (`blocks.*.mlp.post`). */
  tap: string;
  /** Rows in all. */
  neurons: number;
  concepts: string[];
  shares: Record<'monosemantic' | 'polysemantic' | 'dead', number>;
  tapOf: Int32Array;
  neuronOf: Int32Array;
  layer: Int32Array;
  numeric: Record<NumericKey, Float32Array>;
}

/** Block index of a tap name (`blocks.{i}.…`), −1 for another name. */
export function layerOf(tap: string): number {
  const m = /^blocks\.(\d+)\./.exec(tap);
  return m ? Number(m[1]) : -1;
}

/** The rows of `tables` (one per tap, in order) as one table named `tap`, shares over all rows. */
export function neuronRows(tap: string, tables: NeuronTableData[]): NeuronRows {
  const total = tables.reduce((s, t) => s + t.neurons, 0);
  const tapOf = new Int32Array(total);
  const neuronOf = new Int32Array(total);
  const layer = new Int32Array(total);
  const numeric = Object.fromEntries(NUMERIC_KEYS.map((k) => [k, new Float32Array(total)])) as Record<
    NumericKey,
    Float32Array
  >;
  const label: NeuronTableData['label'] = [];
  const text: Record<'dominantConcept' | 'topToken', (string | null)[]> = {
    dominantConcept: [],
    topToken: [],
  };
  let at = 0;
  tables.forEach((t, k) => {
    for (let i = 0; i < t.neurons; i++) {
      tapOf[at + i] = k;
      neuronOf[at + i] = i;
      layer[at + i] = layerOf(t.tap);
    }
    for (const key of NUMERIC_KEYS) numeric[key].set(t[key], at);
    label.push(...t.label);
    text.dominantConcept.push(...t.dominantConcept);
    text.topToken.push(...t.topToken);
    at += t.neurons;
  });
  const count = (name: string) => label.filter((l) => l === name).length / Math.max(1, total);
  return {
    tables,
    checkpoint: tables[0].checkpoint,
    tap,
    rows: tables[0].rows,
    thresholds: tables[0].thresholds,
    neurons: total,
    concepts: [...new Set(tables.flatMap((t) => t.concepts))],
    shares: { monosemantic: count('monosemantic'), polysemantic: count('polysemantic'), dead: count('dead') },
    tapOf,
    neuronOf,
    layer,
    numeric,
    label,
    dominantConcept: text.dominantConcept,
    topToken: text.topToken,
  };
}

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
    key: 'layer',
    label: 'Layer',
    definition: 'The block of the tap the neuron is in (shown when the table holds every layer).',
    numeric: true,
    format: String,
    width: '58px',
  },
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
    key: 'topToken',
    label: 'Top token',
    definition: 'The probe token of the neuron’s largest activation (special tokens left out).',
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

/** The columns of a table of one tap, or with the layer of each row when it holds several. */
export function columnsOf(t: NeuronRows): Column[] {
  return t.tables.length > 1 ? COLUMNS : COLUMNS.filter((c) => c.key !== 'layer');
}

export interface NeuronFilter {
  /** Text a row's concept, top token or label must contain (case-insensitive); '' keeps all. */
  search: string;
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
  search: '',
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

/** The value a column sorts by for row `i`: numbers as they are, text columns by their text. */
function sortValue(t: NeuronRows, key: ColumnKey, i: number): number | string {
  if (key === 'layer') return t.layer[i];
  if (key === 'neuron') return t.neuronOf[i];
  if (key === 'label') return t.label[i];
  if (key === 'dominantConcept' || key === 'topToken') return t[key][i] ?? '';
  return t.numeric[key][i];
}

/**
 * The rows that pass `filter`, in `sort` order (ties by row, i.e. by layer then neuron; NaN last whatever the
 * direction), as indices into the table's rows.
 */
export function filteredOrder(t: NeuronRows, filter: NeuronFilter, sort: Sort): Int32Array {
  const search = filter.search.trim().toLowerCase();
  const has = (s: string | null) => s !== null && s.toLowerCase().includes(search);
  const keep: number[] = [];
  for (let i = 0; i < t.neurons; i++) {
    if (filter.label !== 'all' && t.label[i] !== filter.label) continue;
    if (
      filter.concept === 'none'
        ? t.dominantConcept[i] !== null
        : filter.concept !== 'all' && t.dominantConcept[i] !== filter.concept
    )
      continue;
    const d = t.numeric.density[i];
    if (d < filter.densityMin || d > filter.densityMax) continue;
    if (filter.scoreMin !== null && !(t.numeric[filter.score][i] >= filter.scoreMin)) continue;
    if (search && !has(t.dominantConcept[i]) && !has(t.topToken[i]) && !has(t.label[i])) continue;
    keep.push(i);
  }
  // Sort keys read once into arrays: a comparator that reads columns by key is slow over 36,864 rows.
  const keys = keep.map((i) => sortValue(t, sort.key, i));
  const at = keep.map((_, k) => k);
  const sign = sort.descending ? -1 : 1;
  at.sort((p, q) => {
    const va = keys[p];
    const vb = keys[q];
    if (typeof va === 'number' && typeof vb === 'number') {
      const na = Number.isNaN(va);
      const nb = Number.isNaN(vb);
      if (na || nb) return na === nb ? keep[p] - keep[q] : na ? 1 : -1;
      if (va !== vb) return sign * (va - vb);
    } else if (va !== vb) {
      return sign * String(va).localeCompare(String(vb));
    }
    return keep[p] - keep[q];
  });
  return Int32Array.from(at, (k) => keep[k]);
}

/** A cell's text. */
export function cellText(t: NeuronRows, col: Column, i: number): string {
  if (col.key === 'layer') return String(t.layer[i]);
  if (col.key === 'neuron') return String(t.neuronOf[i]);
  if (col.key === 'label') return t.label[i];
  if (col.key === 'dominantConcept' || col.key === 'topToken') return t[col.key][i] ?? '—';
  return col.format(t.numeric[col.key][i]);
}
