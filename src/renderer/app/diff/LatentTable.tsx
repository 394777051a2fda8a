// The latents of a crosscoder for a pair of models: index, Δ, tag, decoder cosine, ν^ε, ν^r, concept and
// monosemanticity, sortable by any column and filtered by tag; each number's exact value in `data-value`. A
// latent's index opens its page.
import { useState } from 'react';
import { Num } from '../components/Num.js';
import { int } from '../neurons/format.js';
import {
  pairNames,
  tagLabel,
  type Crosscoder,
  type CrosscoderPair,
  type LatentTag,
} from '../../../shared/specs/diff.js';

/** Rows shown before "Show all". */
const PAGE = 200;

interface Row {
  latent: number;
  delta: number;
  tag: LatentTag;
  cosine: number | null;
  nuError: number | null;
  nuRecon: number | null;
  concept: string | null;
  score: number;
  monosemantic: boolean;
}

type SortKey = Exclude<keyof Row, 'monosemantic'>;

const COLUMNS: { key: SortKey; label: string; numeric: boolean; definition: string }[] = [
  { key: 'latent', label: 'Latent', numeric: true, definition: 'Index of the latent in the dictionary.' },
  {
    key: 'delta',
    label: 'Δ',
    numeric: true,
    definition:
      'Relative decoder norm ((‖d^A‖ − ‖d^B‖) / max(‖d^A‖, ‖d^B‖) + 1) / 2: 1 only in A, 0 only in B.',
  },
  {
    key: 'tag',
    label: 'Tag',
    numeric: false,
    definition: 'A-only, B-only or shared, from Δ and the thresholds.',
  },
  {
    key: 'cosine',
    label: 'cos',
    numeric: true,
    definition: 'Cosine of the latent’s decoder vectors in A and B.',
  },
  {
    key: 'nuError',
    label: 'ν^ε',
    numeric: true,
    definition: 'Latent Scaling on the reconstruction error (B-only latents): near 0 specific to B.',
  },
  {
    key: 'nuRecon',
    label: 'ν^r',
    numeric: true,
    definition: 'Latent Scaling on the reconstruction (B-only latents): near 0 specific to B.',
  },
  {
    key: 'concept',
    label: 'Concept',
    numeric: false,
    definition: 'The dominant probe concept of the latent’s top activations.',
  },
  {
    key: 'score',
    label: 'Mono',
    numeric: true,
    definition:
      'Monosemanticity score of the latent (as the Neurons view scores neurons); ✓ when monosemantic.',
  },
];

/** The table's rows for a pair. */
function rowsOf(c: Crosscoder, pair: CrosscoderPair): Row[] {
  return pair.delta.map((delta, i) => ({
    latent: i,
    delta,
    tag: pair.tag[i],
    cosine: pair.cosine[i],
    nuError: pair.nuError[i],
    nuRecon: pair.nuRecon[i],
    concept: c.concepts[i]?.concept ?? null,
    score: c.concepts[i]?.score ?? NaN,
    monosemantic: c.concepts[i]?.monosemantic ?? false,
  }));
}

/** Compares two cells; missing values (null, NaN) sort last in either direction. */
function compareCells(x: number | string | null, y: number | string | null, descending: boolean): number {
  const missing = (v: number | string | null) => v === null || (typeof v === 'number' && Number.isNaN(v));
  if (missing(x) || missing(y)) return Number(missing(x)) - Number(missing(y));
  const order = typeof x === 'number' ? x - (y as number) : String(x).localeCompare(String(y));
  return descending ? -order : order;
}

export function LatentTable({
  crosscoder: c,
  pair,
  onOpen,
}: {
  crosscoder: Crosscoder;
  pair: CrosscoderPair;
  onOpen: (latent: number) => void;
}) {
  const names = pairNames(c, pair);
  const [sort, setSort] = useState<{ key: SortKey; descending: boolean }>({ key: 'delta', descending: true });
  const [tag, setTag] = useState<LatentTag | ''>('');
  const [all, setAll] = useState(false);
  const rows = rowsOf(c, pair)
    .filter((r) => tag === '' || r.tag === tag)
    .sort((x, y) => compareCells(x[sort.key], y[sort.key], sort.descending) || x.latent - y.latent);
  const shown = all ? rows : rows.slice(0, PAGE);
  const sortBy = (key: SortKey) =>
    setSort((s) =>
      s.key === key ? { key, descending: !s.descending } : { key, descending: key !== 'latent' },
    );
  return (
    <div className="ms-latents">
      <h4>Latents</h4>
      <div className="ms-form-row">
        <label className="inline-field">
          Tag
          <select value={tag} onChange={(e) => setTag(e.target.value as LatentTag | '')}>
            <option value="">all ({int(pair.delta.length)})</option>
            {(['a-only', 'b-only', 'shared', 'other'] as const).map((t) => (
              <option key={t} value={t}>
                {tagLabel(t, names)} ({int(pair.counts[t])})
              </option>
            ))}
          </select>
        </label>
      </div>
      <div className="table-scroll">
        <table className="ms-table" aria-label="Latents" data-table="latents">
          <thead>
            <tr>
              {COLUMNS.map((col) => {
                const sorted = sort.key === col.key;
                return (
                  <th
                    key={col.key}
                    scope="col"
                    className={col.numeric ? 'num' : undefined}
                    aria-sort={sorted ? (sort.descending ? 'descending' : 'ascending') : 'none'}
                  >
                    <button
                      type="button"
                      className="ms-link"
                      onClick={() => sortBy(col.key)}
                      title={col.definition}
                    >
                      {col.label}
                      <span className="ms-sort" aria-hidden="true">
                        {sorted ? (sort.descending ? '▼' : '▲') : ''}
                      </span>
                    </button>
                  </th>
                );
              })}
            </tr>
          </thead>
          <tbody>
            {shown.map((r) => (
              <tr key={r.latent} data-latent={r.latent} data-tag={r.tag}>
                <td className="num">
                  <button
                    type="button"
                    className="ms-link"
                    onClick={() => onOpen(r.latent)}
                    title={`Open the page of latent ${r.latent}`}
                  >
                    {r.latent}
                  </button>
                </td>
                <td className="num">
                  <Num field="delta" value={r.delta} />
                </td>
                <td>{tagLabel(r.tag, names)}</td>
                <td className="num">
                  <Num field="cosine" value={r.cosine} />
                </td>
                <td className="num">
                  <Num field="nuError" value={r.nuError} />
                </td>
                <td className="num">
                  <Num field="nuRecon" value={r.nuRecon} />
                </td>
                <td>{r.concept ?? '–'}</td>
                <td className="num">
                  <Num field="score" value={r.score} /> {r.monosemantic ? '✓' : ''}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {rows.length > shown.length && (
        <button type="button" onClick={() => setAll(true)}>
          Show all {int(rows.length)} latents
        </button>
      )}
    </div>
  );
}
