// One crosscoder read for a pair of its models: the held-out metrics per model, the tag counts, the Δ
// histogram with the tag thresholds, the shared latents' decoder cosines, Latent Scaling's ν^ε / ν^r of the
// B-only latents (each figure with its export), and the latent table. Every number carries its exact value
// in `data-value`.
import { Figure } from '../components/Figure.js';
import { Num } from '../components/Num.js';
import { duration } from '../neurons/JobProgress.js';
import {
  cosineHistogramSpec,
  deltaHistogramSpec,
  latentScalingSpec,
  pairNames,
  scaledLatents,
  sharedCosines,
  tagLabel,
  type Crosscoder,
  type CrosscoderPair,
  type LatentTag,
} from '../../../shared/specs/diff.js';
import { LatentTable } from './LatentTable.js';

const TAGS: LatentTag[] = ['a-only', 'b-only', 'shared', 'other'];

/** The held-out metrics of the crosscoder in each model (SaeMetrics' fields). */
const METRICS = [
  {
    key: 'explainedVariance',
    label: 'Explained variance',
    definition: '1 − Σ‖x − x̂‖² / Σ‖x − x̄‖² of this model’s activations on the held-out tokens.',
  },
  { key: 'l0', label: 'L0', definition: 'Mean number of non-zero latents per held-out token.' },
  { key: 'mse', label: 'MSE', definition: 'Mean over tokens and dimensions of (x − x̂)², de-normalised.' },
  {
    key: 'deadFraction',
    label: 'Dead',
    definition: 'Share of latents that never fire on the held-out tokens.',
  },
] as const;

export function CrosscoderDetails({
  crosscoder: c,
  pair,
  onPair,
  onOpenLatent,
}: {
  crosscoder: Crosscoder;
  pair: CrosscoderPair;
  onPair: (pair: CrosscoderPair) => void;
  onOpenLatent: (latent: number) => void;
}) {
  const names = pairNames(c, pair);
  const [a, b] = names;
  const file = (figure: string) => `crosscoder-${c.name}-${a}-${b}-${figure}`;
  return (
    <section className="ms-panel" aria-labelledby="crosscoder-h" data-crosscoder={c.name}>
      <h3 id="crosscoder-h">
        Crosscoder {c.name}{' '}
        <span className="ms-muted ms-small">
          {c.settings.kind}, {c.dSae} latents over <code>{c.tap}</code> of {c.checkpoints.join(', ')}; probe{' '}
          {c.probe}; trained in {duration(c.seconds)}
        </span>
      </h3>

      <table className="ms-table" aria-label="Held-out metrics per model">
        <thead>
          <tr>
            <th scope="col">Model</th>
            {METRICS.map((m) => (
              <th key={m.key} scope="col" className="num" title={m.definition}>
                {m.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {c.metrics.map((m, i) => (
            <tr key={c.checkpoints[i]} data-model={c.checkpoints[i]}>
              <th scope="row">{c.checkpoints[i]}</th>
              {METRICS.map((k) => (
                <td key={k.key} className="num">
                  <Num field={k.key} value={m[k.key]} />
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>

      {c.pairs.length > 1 && (
        <div className="ms-form-row">
          <label className="inline-field">
            Pair of models
            <select value={c.pairs.indexOf(pair)} onChange={(e) => onPair(c.pairs[Number(e.target.value)])}>
              {c.pairs.map((p, i) => (
                <option key={i} value={i}>
                  A = {c.checkpoints[p.a]}, B = {c.checkpoints[p.b]}
                </option>
              ))}
            </select>
          </label>
        </div>
      )}

      <table className="ms-table" aria-label="Tag counts" data-pair={`${a}:${b}`}>
        <caption>
          Tags of the latents for A = {a}, B = {b}: A-only when Δ &gt; {c.thresholds.specific}, B-only when Δ
          &lt; {Number((1 - c.thresholds.specific).toPrecision(6))}, shared when |Δ − 0.5| &lt;{' '}
          {c.thresholds.shared}.
        </caption>
        <tbody>
          <tr>
            {TAGS.map((t) => (
              <td key={t} className="num" data-tag={t}>
                {tagLabel(t, names)}: <Num field={`counts.${t}`} value={pair.counts[t]} />
              </td>
            ))}
          </tr>
        </tbody>
      </table>

      <div className="ms-panels">
        <div data-figure="diff-delta">
          <Figure spec={deltaHistogramSpec(c, pair)} fileName={file('delta')} />
        </div>
        <div data-figure="diff-cosine">
          {sharedCosines(pair).length > 0 ? (
            <Figure spec={cosineHistogramSpec(c, pair)} fileName={file('cosine')} />
          ) : (
            <p className="ms-muted">
              No latent is shared by {a} and {b}: no decoder cosine to draw.
            </p>
          )}
        </div>
        <div data-figure="diff-scaling">
          {scaledLatents(pair).length > 0 ? (
            <Figure spec={latentScalingSpec(c, pair)} fileName={file('scaling')} />
          ) : (
            <p className="ms-muted">No {b}-only latent: no Latent Scaling ratio to draw.</p>
          )}
          <p className="ms-what">
            Latent Scaling (Minder et al. 2025): for each {b}-only latent, ν^ε and ν^r are the ratios of the
            least-squares scale of the latent in {a} over that in {b}, fitted to the models’ reconstruction
            errors and reconstructions. Near 0: specific to {b}; near 1: {a} carries it too (an artifact).
          </p>
        </div>
      </div>

      <LatentTable crosscoder={c} pair={pair} onOpen={onOpenLatent} />
    </section>
  );
}
