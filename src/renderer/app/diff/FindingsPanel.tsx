// The mission's question for the selected crosscoder (`crosscoder.findings` job), read against its first
// checkpoint (the base): per later checkpoint, the latents specific to it (B-only in the pair (base, it)),
// how many fire, how many are monosemantic, their mean score, mean ν^ε and ν^r, and their top concepts; the
// score difference of the two fine-tunes. The findings are read from the record when the panel opens (an
// instant job); "Seed baseline" runs the job again beside a twin trained with seed + 1 (trained on first use,
// with progress; then found in the store), adding the twin's share of each set. Every number carries its
// exact value in `data-value`.
import { useEffect, useId, useRef } from 'react';
import type { OpResult } from '../../../core/api.js';
import { Num } from '../components/Num.js';
import { ErrorState, Loading } from '../components/States.js';
import type { JobView } from '../data.js';
import { JobProgress } from '../neurons/JobProgress.js';
import { useJobRun } from '../neurons/useJobRun.js';
import type { Crosscoder } from '../../../shared/specs/diff.js';

type Findings = OpResult<'crosscoder.findings'>;

/** Concepts listed per model. */
const TOP_CONCEPTS = 4;

/** Whether a job is this crosscoder's findings with the seed baseline. */
function seedJobOf(name: string) {
  return (j: JobView) => {
    const input = (j.input ?? {}) as { name?: unknown; seedBaseline?: unknown };
    return input.name === name && input.seedBaseline === true;
  };
}

type SpecificSet = Findings['specific'][number];

/** The numbers of each model's row, in order; `seed`: shown once the seed baseline is computed. */
const COLUMNS: {
  field:
    | 'count'
    | 'firing'
    | 'monosemantic'
    | 'meanScore'
    | 'meanNuError'
    | 'meanNuRecon'
    | 'seedShared'
    | 'seedFound'
    | 'seedTwinCount';
  label: string;
  definition: string;
  seed?: true;
}[] = [
  { field: 'count', label: 'Specific', definition: 'Latents tagged B-only in the pair (base, model)' },
  { field: 'firing', label: 'Firing', definition: 'Of the specific latents, those that fire on the probe' },
  {
    field: 'monosemantic',
    label: 'Monosemantic',
    definition: 'Of the firing ones, those labelled monosemantic',
  },
  {
    field: 'meanScore',
    label: 'Mean score',
    definition: 'Mean monosemanticity score (top-k share) of the firing ones',
  },
  { field: 'meanNuError', label: 'ν^ε', definition: 'Mean Latent Scaling ratio on the reconstruction error' },
  { field: 'meanNuRecon', label: 'ν^r', definition: 'Mean Latent Scaling ratio on the reconstruction' },
  {
    field: 'seedShared',
    label: 'Twin shares (weights)',
    definition:
      'Share of these latents that the seed twin shares (Hungarian-matched decoder and encoder cosines both > 0.7)',
    seed: true,
  },
  {
    field: 'seedFound',
    label: 'Twin finds (activations)',
    definition:
      'Share of these latents that the seed twin finds again (Hungarian-matched by activation correlation, r > 0.7 over the probe)',
    seed: true,
  },
  {
    field: 'seedTwinCount',
    label: 'Twin’s count',
    definition: 'The seed twin’s own count of latents specific to the model',
    seed: true,
  },
];

/** The concepts of a set of specific latents, most frequent first. */
function Concepts({ s }: { s: SpecificSet }) {
  if (s.concepts.length === 0) return <span className="ms-muted">none</span>;
  return s.concepts.slice(0, TOP_CONCEPTS).map((c, k) => (
    <span key={c.concept} data-concept={c.concept} data-latents={c.latents}>
      {k > 0 && ', '}
      {c.concept} ({c.latents})
    </span>
  ));
}

function FindingsTable({ f }: { f: Findings }) {
  const columns = COLUMNS.filter((col) => !col.seed || f.seed !== undefined);
  return (
    <div className="table-scroll">
      <table className="ms-table" aria-label="Specific latents per model">
        <caption>
          Latents specific to each model against {f.base} (B-only in the pair ({f.base}, model)). Score: the
          mean top-k share of those that fire; ν^ε, ν^r: Latent Scaling’s mean (near 0 truly specific, near 1
          an artifact).
        </caption>
        <thead>
          <tr>
            <th scope="col">Model</th>
            <th scope="col" className="num" title={`Latents shared with ${f.base}`}>
              Shared
            </th>
            {columns.map((col) => (
              <th key={col.field} scope="col" className="num" title={col.definition}>
                {col.label}
              </th>
            ))}
            <th scope="col">Top concepts</th>
          </tr>
        </thead>
        <tbody>
          {f.specific.map((s, i) => (
            <tr key={s.checkpoint} data-model={s.checkpoint}>
              <th scope="row">{s.checkpoint}</th>
              <td className="num">
                <Num field="shared" value={f.shared[i].count} />
              </td>
              {columns.map((col) => (
                <td key={col.field} className="num">
                  <Num field={col.field} value={s[col.field]} />
                </td>
              ))}
              <td data-list="concepts">
                <Concepts s={s} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function FindingsPanel({ crosscoder: c }: { crosscoder: Crosscoder }) {
  const id = useId();
  const plain = useJobRun('crosscoder.findings');
  const seeded = useJobRun('crosscoder.findings', seedJobOf(c.name));
  // The findings without a baseline are read once per crosscoder shown (the job answers at once).
  const readFor = useRef<string | undefined>(undefined);
  const key = `${c.name}:${c.weightsHash}`;
  const { start } = plain;
  useEffect(() => {
    if (readFor.current === key) return;
    readFor.current = key;
    void start({ name: c.name });
  }, [key, c.name, start]);
  const mine = (r: Findings | undefined) => (r?.name === c.name ? r : undefined);
  const f = mine(seeded.result) ?? mine(plain.result);
  const [first, second] = f?.specific ?? [];
  return (
    <section className="ms-panel" aria-labelledby={`${id}-h`} data-findings={c.name}>
      <h3 id={`${id}-h`}>Findings: latents specific to each fine-tune</h3>
      <p className="ms-what">
        The first checkpoint, {c.checkpoints[0]}, is read as the base: for each other model, the latents the
        crosscoder tags specific to it against {c.checkpoints[0]}, what concepts they carry (the probe’s
        concept labels) and how monosemantic they are.
      </p>
      {plain.error && !f ? (
        <ErrorState title="The findings could not be read" error={plain.error} />
      ) : !f ? (
        <Loading what="findings" />
      ) : (
        <>
          <FindingsTable f={f} />
          {f.scoreDifference !== undefined && first && second && (
            <p data-result="score-difference">
              Score difference {second.checkpoint} − {first.checkpoint}:{' '}
              <Num field="scoreDifference" value={f.scoreDifference} />{' '}
              <span className="ms-muted ms-small">
                (positive: {second.checkpoint}’s specific latents are more monosemantic than{' '}
                {first.checkpoint}’s)
              </span>
            </p>
          )}
          {f.seed && (
            <p data-result="seed">
              Seed baseline: the twin <code>{f.seed.name}</code> (seed {f.seed.seed}) shares{' '}
              <Num field="seed.allShared" value={f.seed.allShared} /> of all latents by their weights and
              finds <Num field="seed.allFound" value={f.seed.allFound} /> again by their activations, beside
              the shares of each set of specific latents above.
            </p>
          )}
        </>
      )}
      <p className="ms-what">
        Paulo &amp; Belrose (2025): dictionaries that differ only in seed share only part of their latents.
        The seed baseline trains the same crosscoder with seed {c.settings.seed + 1} (
        <code>
          {c.name}-seed{c.settings.seed + 1}
        </code>
        , once; kept in the project) and reports the share of each set of specific latents it finds again.
      </p>
      <button
        type="button"
        className="ms-primary"
        disabled={seeded.running}
        onClick={() => void seeded.start({ name: c.name, seedBaseline: true })}
      >
        Seed baseline
      </button>
      {seeded.job && seeded.running && <JobProgress job={seeded.job} onCancel={seeded.cancel} />}
      {seeded.error && <ErrorState title="The seed baseline failed" error={seeded.error} />}
    </section>
  );
}
