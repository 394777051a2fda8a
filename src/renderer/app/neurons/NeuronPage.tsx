// A neuron's page, in the order feature browsers made standard (Anthropic's, sae_vis, Neuronpedia): header
// with the label and its rule, activation histogram and density, top-activating contexts, quantile samples,
// concept means, logit effects, correlated neurons, counterparts in the other checkpoints, live text.
import { useContext, useId, useMemo, useState, type ReactNode } from 'react';
import type { OpInput } from '../../../core/api.js';
import { themeOf } from '../../../shared/figures/index.js';
import { Figure } from '../components/Figure.js';
import {
  neuronConceptsSpec,
  neuronContextsSpec,
  neuronHistogramSpec,
  neuronLogitsSpec,
  unbinned,
} from '../../../shared/specs/viewFigures.js';
import { ErrorState, Loading } from '../components/States.js';
import { Counterparts } from './Counterparts.js';
import { FigureExport } from '../components/FigureExport.js';
import { dec3, int, num, pct } from './format.js';
import { LiveBox } from './LiveBox.js';
import { TokenText, tokenBackground } from './TokenText.js';
import type { NeuronTableData } from './table.js';
import { useNeuronPage, type NeuronPageData } from './usePage.js';
import { ThemeContext } from '../theme.js';

type Ref = OpInput<'neurons.page'>['ref'];

/** A titled panel of a page, with a line on what it shows. */
export function Panel({
  title,
  what,
  children,
  className,
}: {
  title: string;
  what?: ReactNode;
  children: ReactNode;
  className?: string;
}) {
  const id = useId();
  return (
    <section className={`ms-panel ${className ?? ''}`} aria-labelledby={id}>
      <h3 id={id}>{title}</h3>
      {what && <p className="ms-what">{what}</p>}
      {children}
    </section>
  );
}

/** A labelled number with its definition on hover. */
function Stat({ label, value, definition }: { label: string; value: string; definition: string }) {
  return (
    <div className="ms-stat" title={definition}>
      <dt>{label}</dt>
      <dd>{value}</dd>
    </div>
  );
}

/** Tokens with a value each (logit effects), shaded by |value| / max. */
export function LogitList({
  items,
  max,
  sign,
}: {
  items: { id: number; token: string; value: number }[];
  max: number;
  sign: 'positive' | 'negative';
}) {
  const theme = themeOf(useContext(ThemeContext));
  return (
    <table
      className="ms-table ms-logits"
      aria-label={sign === 'positive' ? 'Tokens promoted' : 'Tokens suppressed'}
    >
      <tbody>
        {items.map((t) => (
          <tr key={t.id}>
            <td>
              <span
                className="ms-token"
                style={{ background: tokenBackground(t.value, max, theme.positive, theme.negative, 0.8) }}
              >
                {JSON.stringify(t.token).slice(1, -1)}
              </span>
            </td>
            <td className="num" data-value={t.value}>
              {num(t.value)}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Example({
  e,
  max,
  right,
}: {
  e: NeuronPageData['quantiles'][number]['samples'][number];
  max: number;
  right?: string;
}) {
  return (
    <li className="ms-example">
      <span className="ms-example-value num">{num(e.value)}</span>
      <TokenText
        tokens={e.text}
        values={e.values}
        max={max}
        focus={e.position - e.contextStart}
        concepts={e.concepts}
        ambiguous={e.ambiguous}
      />
      {right && <span className="ms-muted ms-small">{right}</span>}
    </li>
  );
}

/** One quantile group; its samples are rendered only while it is open (ten groups of five add up). */
function QuantileGroup({
  g,
  max,
  open: open0,
}: {
  g: NeuronPageData['quantiles'][number];
  max: number;
  open: boolean;
}) {
  const [open, setOpen] = useState(open0);
  return (
    <details
      className="ms-quantile"
      open={open}
      onToggle={(e) => setOpen((e.target as HTMLDetailsElement).open)}
    >
      <summary>
        Quantiles {Math.round(100 * g.quantileLo)}–{Math.round(100 * g.quantileHi)}%{' '}
        <span className="ms-muted">
          (values {num(g.valueLo)} to {num(g.valueHi)}, {g.samples.length} samples)
        </span>
      </summary>
      {open && (
        <ol className="ms-examples">
          {g.samples.map((e) => (
            <Example key={e.row} e={e} max={max} />
          ))}
        </ol>
      )}
    </details>
  );
}

export function NeuronPage({
  refInput,
  version,
  neuron,
  table,
  onOpen,
  onBack,
  onStep,
  position,
}: {
  refInput: Ref;
  /** Names the recording (its id), so that a new recording is asked again. */
  version: number;
  neuron: number;
  /** The tap's table, for the labels of linked neurons. */
  table?: NeuronTableData;
  onOpen: (checkpoint: string, neuron: number) => void;
  onBack: () => void;
  /** Previous (−1) or next (+1) neuron in the table's order; absent at the ends. */
  onStep?: (delta: -1 | 1) => void;
  position?: { index: number; count: number };
}) {
  const [nonce, setNonce] = useState(0);
  const [logDensity, setLogDensity] = useState(false);
  const [examplesShown, setExamplesShown] = useState(10);
  const input = useMemo(() => ({ ref: refInput, neuron }), [refInput, neuron]);
  const page = useNeuronPage(input, version, nonce);
  const p = page.data;

  const header = (
    <div className="ms-page-nav">
      <button type="button" onClick={onBack} title="Back to the table (Escape)">
        ← All neurons
      </button>
      {onStep && (
        <>
          <button
            type="button"
            onClick={() => onStep(-1)}
            disabled={!position || position.index <= 0}
            title="Previous neuron in the table ([)"
          >
            ‹ Prev
          </button>
          <button
            type="button"
            onClick={() => onStep(1)}
            disabled={!position || position.index >= position.count - 1}
            title="Next neuron in the table (])"
          >
            Next ›
          </button>
        </>
      )}
      {position && position.index >= 0 && (
        <span className="ms-muted ms-small">
          {int(position.index + 1)} of {int(position.count)} in the table’s order
        </span>
      )}
    </div>
  );

  if (page.error) {
    return (
      <article className="ms-page">
        {header}
        <ErrorState
          title={`Neuron ${neuron} could not be read`}
          error={page.error}
          onRetry={() => setNonce((n) => n + 1)}
        />
      </article>
    );
  }
  if (!p) {
    return (
      <article className="ms-page ms-page-loading" aria-busy="true">
        {header}
        <Loading what={`neuron ${neuron}`} />
      </article>
    );
  }

  const t = p.thresholds;
  const max = Math.max(p.stats.max, 1e-9);
  const focusMax = p.topExamples.length > 0 ? Math.max(...p.topExamples.map((e) => e.value)) : max;
  const logitMax = Math.max(
    ...p.logitEffects.positive.map((x) => Math.abs(x.value)),
    ...p.logitEffects.negative.map((x) => Math.abs(x.value)),
    1e-9,
  );
  const labelOf = (j: number) => table?.label[j];
  /** The export file name of one of the page's figures. */
  const fileName = (figure: string) => `${p.checkpoint}-${p.tap}-n${p.neuron}-${figure}`;
  return (
    <article
      className={page.stale ? 'ms-page stale' : 'ms-page'}
      aria-busy={page.stale}
      data-neuron={p.neuron}
      data-loaded={page.stale ? undefined : `${p.checkpoint}/${p.tap}/${p.neuron}`}
    >
      {header}
      <header className="ms-page-head">
        <h2>
          Neuron {p.neuron} <span className="ms-muted">of {int(p.neurons)}</span>
        </h2>
        <p className="ms-page-where">
          <code>{p.tap}</code> · checkpoint <strong>{p.checkpoint}</strong> · {int(p.rows)} probe tokens
        </p>
        <p>
          <span className={`ms-badge ${p.mono.label}`}>{p.mono.label}</span>{' '}
          <span className="ms-muted ms-small">heuristic label from the probe’s concept labels</span>
          {p.mono.dominantConcept && (
            <>
              {' '}
              · dominant concept <strong>{p.mono.dominantConcept}</strong>
            </>
          )}
        </p>
        <p className="ms-what">
          <strong>Mono score.</strong> Monosemantic when the top-{20} share ≥ {t.minTopKShare} and selectivity
          ≥ {t.minSelectivity}; dead when active (&gt; {t.activeThreshold}) on at most{' '}
          {pct(t.deadMaxFraction)} of tokens; otherwise polysemantic.
        </p>
        <dl className="ms-stats">
          <Stat
            label="Density"
            value={pct(p.stats.density)}
            definition="Share of probe tokens with activation above the active threshold (0)."
          />
          <Stat
            label="log₁₀ density"
            value={p.stats.density > 0 ? num(Math.log10(p.stats.density)) : '−∞'}
            definition="Density on a log scale, as feature browsers show it."
          />
          <Stat label="Mean" value={num(p.stats.mean)} definition="Mean activation over the probe tokens." />
          <Stat label="Std" value={num(p.stats.std)} definition="Standard deviation of the activation." />
          <Stat label="Min" value={num(p.stats.min)} definition="Smallest activation." />
          <Stat label="Max" value={num(p.stats.max)} definition="Largest activation." />
          <Stat
            label="Top-k share"
            value={dec3(p.mono.topKShare)}
            definition="Share of the 20 highest activations whose token carries the dominant concept."
          />
          <Stat
            label="Selectivity"
            value={`${dec3(p.mono.selectivity)}${p.mono.selectiveConcept ? ` (${p.mono.selectiveConcept})` : ''}`}
            definition="Class selectivity index (Morcos et al. 2018): (μ₁ − μ₂)/(μ₁ + μ₂) over per-concept means of max(a, 0); μ₁'s concept in brackets."
          />
          <Stat
            label="NMI"
            value={dec3(p.mono.nmi)}
            definition="Normalised mutual information of the binned activation and the concept label."
          />
          <Stat
            label="MEmeL"
            value={`${num(p.mono.memelMean)} / ${num(p.mono.memelMax)}`}
            definition="MEmeL spike scale φ (Wang et al. 2023), mean / max over the probe; spike share (φ > 9) below."
          />
          <Stat
            label="Spike share"
            value={pct(p.mono.memelSpikeShare)}
            definition="Share of tokens with MEmeL φ > 9 (|z| > 3 against the running statistics)."
          />
        </dl>
      </header>

      <div className="ms-panels">
        <Panel
          title="Activation histogram"
          what={
            <>
              {int(p.rows)} tokens in {p.histogram.counts.length} bins. Bins are coloured by the quantile band
              of the active values their centre falls in (the groups sampled below); grey bins are inactive (≤
              0).
              {unbinned(p.histogram) > 0 &&
                ` ${int(unbinned(p.histogram))} NaN or infinite values are not binned.`}
            </>
          }
        >
          <label className="ms-check">
            <input type="checkbox" checked={logDensity} onChange={(e) => setLogDensity(e.target.checked)} />{' '}
            log density
          </label>
          <Figure
            spec={neuronHistogramSpec(p, logDensity ? 'log10-density' : 'count')}
            fileName={fileName('histogram')}
          />
        </Panel>

        <Panel
          title="Concept means"
          what="Mean activation on the tokens of each probe concept (tokens per concept in the caption)."
        >
          {p.conceptMeans.length > 0 ? (
            <Figure spec={neuronConceptsSpec(p)} fileName={fileName('concepts')} />
          ) : (
            <p className="ms-muted">This probe set has no concept labels.</p>
          )}
        </Panel>
      </div>

      <Panel
        title="Top-activating contexts"
        className="ms-wide"
        what="The tokens around the neuron’s highest activations (special tokens excluded). Colour strength is the activation; the outlined token is the one ranked; hover a token for its value and concept."
      >
        {p.topExamples.length === 0 ? (
          <p className="ms-muted">No examples: the neuron never activates on the probe set.</p>
        ) : (
          <>
            <ol className="ms-examples">
              {p.topExamples.slice(0, examplesShown).map((e) => (
                <Example key={e.row} e={e} max={focusMax} right={`#${e.rank + 1}`} />
              ))}
            </ol>
            {p.topExamples.length > examplesShown && (
              <button type="button" onClick={() => setExamplesShown(p.topExamples.length)}>
                Show all {p.topExamples.length}
              </button>
            )}
            <FigureExport
              spec={() => neuronContextsSpec(p)}
              fileName={fileName('contexts')}
              label="Export contexts figure"
            />
          </>
        )}
      </Panel>

      <Panel
        title="Quantile samples"
        className="ms-wide"
        what="Random examples from intervals (quantiles) of the neuron’s active values, the highest interval first: what it does when it fires weakly, not only at its peak."
      >
        {p.quantiles.length === 0 ? (
          <p className="ms-muted">No active values to sample.</p>
        ) : (
          <div className="ms-quantiles">
            {[...p.quantiles].reverse().map((g) => (
              <QuantileGroup key={g.group} g={g} max={focusMax} open={g.group >= p.quantiles.length - 2} />
            ))}
          </div>
        )}
      </Panel>

      <div className="ms-panels">
        <Panel
          title="Logit effects"
          what="The neuron’s output direction through the unembedding (W_out[j] · W_Uᵀ, final LayerNorm ignored): the tokens it pushes up and down."
        >
          <div className="ms-logit-cols">
            <div>
              <h4>Promotes</h4>
              <LogitList items={p.logitEffects.positive} max={logitMax} sign="positive" />
            </div>
            <div>
              <h4>Suppresses</h4>
              <LogitList items={p.logitEffects.negative} max={logitMax} sign="negative" />
            </div>
          </div>
          <Figure spec={neuronLogitsSpec(p)} fileName={fileName('logits')} />
        </Panel>

        <Panel
          title="Correlated neurons"
          what="Neurons of this tap whose activations correlate most with this one’s (Pearson r over the probe’s non-special tokens, by |r|)."
        >
          <table className="ms-table">
            <thead>
              <tr>
                <th>Neuron</th>
                <th className="num">r</th>
                <th>Label</th>
              </tr>
            </thead>
            <tbody>
              {p.correlated.map((c) => (
                <tr key={c.neuron}>
                  <td>
                    <button type="button" className="ms-link" onClick={() => onOpen(p.checkpoint, c.neuron)}>
                      neuron {c.neuron}
                    </button>
                  </td>
                  <td className="num">{dec3(c.r)}</td>
                  <td>
                    {labelOf(c.neuron) ? (
                      <span className={`ms-badge ${labelOf(c.neuron)}`}>{labelOf(c.neuron)}</span>
                    ) : (
                      '—'
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </Panel>
      </div>

      <Panel
        title="In the other checkpoints"
        className="ms-wide"
        what="The same index in the project’s other checkpoints (base → DPO → DecPO), and the neuron there that best matches this one by activation correlation on the same tokens."
      >
        <Counterparts refInput={refInput} neuron={p.neuron} density={p.stats.density} onOpen={onOpen} />
      </Panel>

      <Panel title="Test your own text" className="ms-wide">
        <LiveBox refInput={refInput} neuron={p.neuron} scaleMax={focusMax} />
      </Panel>
    </article>
  );
}
