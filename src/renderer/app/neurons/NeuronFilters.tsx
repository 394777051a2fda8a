// Filters of the neuron table: a text search, label, dominant concept, density range and a minimum score.
import { useId } from 'react';
import { COLUMNS, NO_FILTER, SCORE_KEYS, type NeuronFilter, type NumericKey } from './table.js';
import { int } from './format.js';

const labelOf = (k: NumericKey) => COLUMNS.find((c) => c.key === k)!.label;

export function NeuronFilters({
  filter,
  onChange,
  concepts,
  shown,
  total,
}: {
  filter: NeuronFilter;
  onChange: (f: NeuronFilter) => void;
  concepts: string[];
  shown: number;
  total: number;
}) {
  const id = useId();
  const set = (patch: Partial<NeuronFilter>) => onChange({ ...filter, ...patch });
  const pctInput = (v: string, fallback: number) => {
    const x = Number(v);
    return v.trim() === '' || !Number.isFinite(x) ? fallback : Math.min(1, Math.max(0, x / 100));
  };
  const active = JSON.stringify(filter) !== JSON.stringify(NO_FILTER);
  return (
    <fieldset className="ms-filters">
      <legend className="visually-hidden">Filters</legend>
      <label htmlFor={`${id}-search`} title="Rows whose concept, top token or label contains this text">
        Search
        <input
          id={`${id}-search`}
          type="search"
          placeholder="concept or token"
          value={filter.search}
          onChange={(e) => set({ search: e.target.value })}
        />
      </label>
      <label htmlFor={`${id}-label`}>
        Label
        <select id={`${id}-label`} value={filter.label} onChange={(e) => set({ label: e.target.value })}>
          <option value="all">all</option>
          <option value="monosemantic">monosemantic</option>
          <option value="polysemantic">polysemantic</option>
          <option value="dead">dead</option>
        </select>
      </label>
      <label htmlFor={`${id}-concept`}>
        Concept
        <select
          id={`${id}-concept`}
          value={filter.concept}
          onChange={(e) => set({ concept: e.target.value })}
        >
          <option value="all">all</option>
          <option value="none">none</option>
          {concepts.map((c) => (
            <option key={c} value={c}>
              {c}
            </option>
          ))}
        </select>
      </label>
      <label htmlFor={`${id}-dmin`} title="Share of probe tokens on which the neuron is active (> 0)">
        Density from (%)
        <input
          id={`${id}-dmin`}
          type="number"
          min={0}
          max={100}
          step={1}
          value={Math.round(filter.densityMin * 1000) / 10}
          onChange={(e) => set({ densityMin: pctInput(e.target.value, 0) })}
        />
      </label>
      <label htmlFor={`${id}-dmax`}>
        to (%)
        <input
          id={`${id}-dmax`}
          type="number"
          min={0}
          max={100}
          step={1}
          value={Math.round(filter.densityMax * 1000) / 10}
          onChange={(e) => set({ densityMax: pctInput(e.target.value, 1) })}
        />
      </label>
      <label htmlFor={`${id}-score`}>
        Score
        <select
          id={`${id}-score`}
          value={filter.score}
          onChange={(e) => set({ score: e.target.value as NumericKey })}
        >
          {SCORE_KEYS.map((k) => (
            <option key={k} value={k}>
              {labelOf(k)}
            </option>
          ))}
        </select>
      </label>
      <label htmlFor={`${id}-min`}>
        at least
        <input
          id={`${id}-min`}
          type="number"
          step={0.05}
          placeholder="any"
          value={filter.scoreMin ?? ''}
          onChange={(e) =>
            set({
              scoreMin:
                e.target.value.trim() === '' || !Number.isFinite(Number(e.target.value))
                  ? null
                  : Number(e.target.value),
            })
          }
        />
      </label>
      <div className="ms-filter-count" aria-live="polite">
        {int(shown)} of {int(total)} neurons
        {active && (
          <button type="button" className="ms-link" onClick={() => onChange(NO_FILTER)}>
            Clear filters
          </button>
        )}
      </div>
    </fieldset>
  );
}
