// A crosscoder latent's page (`crosscoder.latent`), laid out like a neuron page: its concept and
// monosemanticity, its decoder norm in each model, Δ / tag / cosine / ν for each pair of models, and per
// model the activation histogram and the top-activating contexts, each figure with its export.
import { Figure } from '../components/Figure.js';
import { FigureExport } from '../components/FigureExport.js';
import { Num } from '../components/Num.js';
import { ErrorState, Loading } from '../components/States.js';
import { useQuery } from '../data.js';
import { Panel } from '../neurons/NeuronPage.js';
import { TokenText } from '../neurons/TokenText.js';
import { pct } from '../neurons/format.js';
import {
  latentContextsSpec,
  latentHistogramSpec,
  tagLabel,
  type LatentPageData,
} from '../../../shared/specs/diff.js';

function ModelPanel({ p, m }: { p: LatentPageData; m: number }) {
  const model = p.models[m];
  const max = Math.max(1e-9, ...model.top.map((t) => t.activation));
  const file = (figure: string) => `crosscoder-${p.name}-latent${p.latent}-${model.checkpoint}-${figure}`;
  return (
    <Panel
      title={`In ${model.checkpoint}`}
      what={`Fires on ${pct(p.concept.density[m])} of the probe tokens. Its top contexts: the ranked token is outlined and shaded by the activation; hover a token for its concept label.`}
      className="ms-latent-model"
    >
      <div data-model={model.checkpoint}>
        <Figure spec={latentHistogramSpec(p, m)} fileName={file('histogram')} />
        {model.top.length === 0 ? (
          <p className="ms-muted">The latent never fires in {model.checkpoint} on the probe.</p>
        ) : (
          <>
            <ol className="ms-examples">
              {model.top.map((t, i) => (
                <li key={i} className="ms-example">
                  <span className="ms-example-value num" data-value={t.activation}>
                    {t.activation.toPrecision(3)}
                  </span>
                  <TokenText
                    tokens={t.tokens}
                    values={t.tokens.map((_, k) => (k === t.target ? t.activation : 0))}
                    max={max}
                    focus={t.target}
                    concepts={t.labels}
                  />
                </li>
              ))}
            </ol>
            <FigureExport
              spec={() => latentContextsSpec(p, m)}
              fileName={file('contexts')}
              label="Export contexts figure"
            />
          </>
        )}
      </div>
    </Panel>
  );
}

export function LatentPage({ name, latent, onBack }: { name: string; latent: number; onBack: () => void }) {
  const page = useQuery('crosscoder.latent', { name, latent });
  const p = page.data?.name === name && page.data.latent === latent ? page.data : undefined;
  const back = (
    <div className="ms-page-nav">
      <button type="button" onClick={onBack}>
        ← All latents
      </button>
    </div>
  );
  if (page.error)
    return (
      <article className="ms-page">
        {back}
        <ErrorState title={`Latent ${latent} could not be read`} error={page.error} onRetry={page.reload} />
      </article>
    );
  if (!p)
    return (
      <article className="ms-page" aria-busy="true">
        {back}
        <Loading what={`latent ${latent}`} />
      </article>
    );
  return (
    <article className="ms-page" data-latent-page={`${p.name}/${p.latent}`}>
      {back}
      <header className="ms-page-head">
        <h2>
          Latent {p.latent} <span className="ms-muted">of crosscoder {p.name}</span>
        </h2>
        <p>
          <span className={`ms-badge ${p.concept.monosemantic ? 'monosemantic' : 'polysemantic'}`}>
            {p.concept.monosemantic ? 'monosemantic' : 'polysemantic'}
          </span>{' '}
          score <Num field="score" value={p.concept.score} />
          {p.concept.concept && (
            <>
              {' '}
              · dominant concept <strong data-field="concept">{p.concept.concept}</strong>
            </>
          )}
        </p>
      </header>
      <table className="ms-table" aria-label="Decoder norms">
        <thead>
          <tr>
            <th scope="col">Model</th>
            <th scope="col" className="num" title="‖d^m‖, the latent's decoder vector norm in the model">
              Decoder norm
            </th>
            <th scope="col" className="num" title="Share of probe tokens where the latent fires">
              Density
            </th>
          </tr>
        </thead>
        <tbody>
          {p.checkpoints.map((ck, m) => (
            <tr key={ck} data-model={ck}>
              <th scope="row">{ck}</th>
              <td className="num">
                <Num field="decoderNorm" value={p.decoderNorms[m]} />
              </td>
              <td className="num">
                <Num field="density" value={p.concept.density[m]} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <table className="ms-table" aria-label="Pairs of models">
        <thead>
          <tr>
            <th scope="col">A</th>
            <th scope="col">B</th>
            <th scope="col" className="num">
              Δ
            </th>
            <th scope="col">Tag</th>
            <th scope="col" className="num">
              cos
            </th>
            <th scope="col" className="num">
              ν^ε
            </th>
            <th scope="col" className="num">
              ν^r
            </th>
          </tr>
        </thead>
        <tbody>
          {p.pairs.map((q) => {
            const names: [string, string] = [p.checkpoints[q.a], p.checkpoints[q.b]];
            return (
              <tr key={`${q.a}-${q.b}`} data-pair={names.join(':')}>
                <td>{names[0]}</td>
                <td>{names[1]}</td>
                <td className="num">
                  <Num field="delta" value={q.delta} />
                </td>
                <td>{tagLabel(q.tag, names)}</td>
                <td className="num">
                  <Num field="cosine" value={q.cosine} />
                </td>
                <td className="num">
                  <Num field="nuError" value={q.nuError} />
                </td>
                <td className="num">
                  <Num field="nuRecon" value={q.nuRecon} />
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <div className="ms-panels">
        {p.models.map((_, m) => (
          <ModelPanel key={m} p={p} m={m} />
        ))}
      </div>
    </article>
  );
}
