// Matching features across checkpoints or models (`match` job): each B feature's best A partner by
// activation correlation, Lan et al.'s filters with their before/after counts, the pairs' correlations
// against the threshold, and SVCCA/RSA of the kept pairs with their permutation nulls.
import { useState } from 'react';
import type { OpInput } from '../../../core/api.js';
import type { OpResult } from '../../../core/api.js';
import { matchAlignmentSpec, matchScatterSpec } from '../../../shared/specs/viewFigures.js';
import { Figure } from '../components/Figure.js';
import { NumberField } from '../components/NumberField.js';
import { dec3, int, pct } from '../neurons/format.js';
import { JobForm, NullFields, useNullSettings } from './JobForm.js';
import { NullResult } from './NullResult.js';
import { useRememberedRun } from './results.js';
import { SidePair, sidesInput, type SidesPanelProps, useSides } from './TapFields.js';

type MatchInput = OpInput<'match'>;
type Rule = NonNullable<NonNullable<MatchInput['options']>['rule']>;
const RULES: { value: Rule; label: string }[] = [
  { value: 'many-to-1', label: 'many-to-1 (each feature its best partner; the paper)' },
  { value: 'one-to-one-first', label: 'one-to-one, first pair kept' },
  { value: 'one-to-one-best', label: 'one-to-one, best pair kept' },
  { value: 'hungarian', label: 'Hungarian assignment (maximum total r)' },
];

function describe(input: MatchInput, s: 'a' | 'b'): string {
  const side = input[s];
  const sae = s === 'a' ? input.saeA : input.saeB;
  return `${side.checkpoint} ${side.tap}${sae ? ` (SAE ${sae})` : ''}`;
}

export function MatchPanel({ checkpoints, recordings, saes, initial }: SidesPanelProps) {
  // The form starts from the last completed run (whose stored result is re-read), else from defaults.
  const { last, run, sent } = useRememberedRun('match', checkpoints);
  const o = last?.options ?? {};
  const sides = useSides(last, initial);
  const [direction, setDirection] = useState<'b-to-a' | 'a-to-b'>(o.direction ?? 'b-to-a');
  const [rule, setRule] = useState<Rule>(o.rule ?? 'many-to-1');
  const [thresholdOn, setThresholdOn] = useState(o.rThreshold !== null);
  const [threshold, setThreshold] = useState(o.rThreshold ?? 0.1);
  const [tokenFilters, setTokenFilters] = useState(o.tokenFilters ?? true);
  const [sharedToken, setSharedToken] = useState(o.sharedToken ?? true);
  const [topK, setTopK] = useState(o.topK ?? 5);
  const [seedBaseline, setSeedBaseline] = useState(last?.seedBaseline ?? true);
  const nulls = useNullSettings(last);
  const bothSaes = !!sides.a.sae && !!sides.b.sae;
  const submit = () =>
    run.start({
      ...sidesInput(sides),
      options: {
        direction,
        rule,
        rThreshold: thresholdOn ? threshold : null,
        tokenFilters,
        sharedToken,
        topK,
      },
      shuffles: nulls.shuffles,
      seed: nulls.seed,
      ...(bothSaes && !seedBaseline ? { seedBaseline: false } : {}),
    });
  const result = run.result;

  return (
    <div className="ms-features-panel">
      <JobForm run={run} onSubmit={submit} submitLabel="Match" failedTitle="Matching failed">
        <SidePair sides={sides} checkpoints={checkpoints} recordings={recordings} saes={saes} />
        <div className="ms-form-row">
          <label title="Which side picks its partner: the paper lets each B feature pick an A feature">
            Direction
            <select value={direction} onChange={(e) => setDirection(e.target.value as 'b-to-a' | 'a-to-b')}>
              <option value="b-to-a">each B feature → best A</option>
              <option value="a-to-b">each A feature → best B</option>
            </select>
          </label>
          <label>
            Rule
            <select value={rule} onChange={(e) => setRule(e.target.value as Rule)}>
              {RULES.map((r) => (
                <option key={r.value} value={r.value}>
                  {r.label}
                </option>
              ))}
            </select>
          </label>
          <label className="ms-check-field" title="Keep pairs with r above the threshold">
            <span>
              <input
                type="checkbox"
                checked={thresholdOn}
                onChange={(e) => setThresholdOn(e.target.checked)}
              />{' '}
              r threshold
            </span>
            <input
              type="number"
              min={-1}
              max={1}
              step={0.05}
              value={threshold}
              disabled={!thresholdOn}
              onChange={(e) => setThreshold(Number(e.target.value))}
            />
          </label>
          <NumberField
            label="Top-k tokens"
            value={topK}
            onChange={setTopK}
            min={1}
            max={100}
            title="Top activations per feature that the token filters look at"
          />
          <NullFields
            settings={nulls}
            title="Permutations of the null for SVCCA and RSA of the kept pairs (0: none)"
          />
        </div>
        <div className="ms-form-row">
          <label className="ms-check">
            <input
              type="checkbox"
              checked={tokenFilters}
              onChange={(e) => setTokenFilters(e.target.checked)}
            />{' '}
            Drop pairs whose top tokens are punctuation or special (non-concept filter)
          </label>
          <label className="ms-check">
            <input
              type="checkbox"
              checked={sharedToken}
              disabled={!tokenFilters}
              onChange={(e) => setSharedToken(e.target.checked)}
            />{' '}
            Require a shared top token
          </label>
          <label
            className="ms-check"
            title="SAE A retrained with another seed (trained once, cached) and matched to A the same way: how much two seeds share, beside how much A and B share (Paulo & Belrose 2025)"
          >
            <input
              type="checkbox"
              checked={seedBaseline}
              disabled={!bothSaes}
              onChange={(e) => setSeedBaseline(e.target.checked)}
            />{' '}
            Seed baseline (two SAEs)
          </label>
        </div>
      </JobForm>
      {result && sent && <MatchResultView result={result} input={sent} />}
    </div>
  );
}

/** The two scores of the kept pairs, each shown with its null. */
const MEASURES = [
  { measure: 'svcca', title: 'SVCCA' },
  { measure: 'rsa', title: 'RSA' },
] as const;

function MatchResultView({ result, input }: { result: OpResult<'match'>; input: MatchInput }) {
  const { rThreshold: thr, similarity } = result;
  const caption = {
    A: describe(input, 'a'),
    B: describe(input, 'b'),
    rule: result.rule,
    direction: result.direction,
    ...(thr === null ? {} : { threshold: thr }),
  };
  const scatter = matchScatterSpec(result, thr, { A: caption.A, B: caption.B });
  const alignment = matchAlignmentSpec(result, caption);
  return (
    <section className="ms-panel ms-result" aria-label="Matching result" data-result="match">
      <h3>
        {int(result.kept)} pairs kept{' '}
        <span className="ms-muted ms-small">
          {result.reused ? '(read from the store)' : '(computed)'} · {int(result.n)} tokens
        </span>
      </h3>
      <p>
        Mean r over all candidate pairs <strong>{dec3(result.meanCorrelation)}</strong>; over the kept pairs{' '}
        <strong>{dec3(result.meanCorrelationFiltered)}</strong>.
      </p>
      {result.seedBaseline && <SeedBaselineView result={result} baseline={result.seedBaseline} />}
      <div className="ms-panels">
        <div>
          <h4>Filters, in order</h4>
          <table className="ms-table" aria-label="Filters">
            <thead>
              <tr>
                <th>Filter</th>
                <th>Applied</th>
                <th className="num">Before</th>
                <th className="num">After</th>
                <th className="num">Dropped</th>
              </tr>
            </thead>
            <tbody>
              {result.filters.map((f) => (
                <tr key={f.filter} className={f.applied ? undefined : 'ms-muted'}>
                  <td>{f.filter}</td>
                  <td>{f.applied ? 'yes' : 'no'}</td>
                  <td className="num">{int(f.before)}</td>
                  <td className="num">{int(f.after)}</td>
                  <td className="num">{int(f.before - f.after)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <p className="ms-what">
            The first row counts tokens (special tokens masked); the others count pairs. Filters after Lan et
            al. (2024): non-concept top tokens, a shared top token, one-to-one, and the r threshold.
          </p>
        </div>
        <div>
          {result.pairs.length > 0 ? (
            <Figure spec={scatter} fileName="match-pair-correlations" />
          ) : (
            <p className="ms-muted">No pair survived the filters.</p>
          )}
        </div>
      </div>
      {result.pairs.length > 0 && (
        <div className="ms-panels">
          <div>
            <Figure spec={alignment} fileName="match-alignment" />
          </div>
          <div className="ms-what">
            Points on the diagonal are features matched to the same index: for raw neurons of one model
            fine-tuned two ways, the neuron kept its identity.
          </div>
        </div>
      )}
      {similarity ? (
        <div className="ms-panels">
          {MEASURES.map(({ measure, title }) => (
            <NullResult
              key={measure}
              title={title}
              result={similarity[measure]}
              nullHistogram={result[`${measure}NullHistogram`]}
              statistic={title}
              fileName={`match-${measure}-null`}
              caption={caption}
              datapoints="pairs"
            />
          ))}
        </div>
      ) : (
        <p className="ms-muted">
          No SVCCA/RSA of the pairs:{' '}
          {(input.shuffles ?? 1000) === 0 ? 'no shuffles were asked for' : 'fewer than 3 pairs were kept'}.
        </p>
      )}
    </section>
  );
}

type SeedBaseline = NonNullable<OpResult<'match'>['seedBaseline']>;

/** The seed baseline beside the match: "A↔B share X% (seeds share Y%)" and the two pairs' numbers. */
function SeedBaselineView({ result, baseline: b }: { result: OpResult<'match'>; baseline: SeedBaseline }) {
  const s = result.similarity;
  return (
    <div data-result="seed-baseline">
      <p>
        A↔B share <strong data-value="share">{pct(b.share)}</strong> of features (seeds share{' '}
        <strong data-value="seed-share">{pct(b.seedShare)}</strong>)
      </p>
      <table className="ms-table" aria-label="Seed baseline">
        <thead>
          <tr>
            <th></th>
            <th className="num">A vs B</th>
            <th className="num">A vs A′ (seed {b.seed})</th>
          </tr>
        </thead>
        <tbody>
          <tr>
            <td>Features kept</td>
            <td className="num">{pct(b.share)}</td>
            <td className="num">{pct(b.seedShare)}</td>
          </tr>
          <tr>
            <td>Latents shared (cosine &gt; 0.7)</td>
            <td className="num">{b.sharedAB ? pct(b.sharedAB.fraction) : '—'}</td>
            <td className="num">{pct(b.sharedSeeds.fraction)}</td>
          </tr>
          <tr>
            <td>SVCCA of kept pairs</td>
            <td className="num">{dec3(s?.svcca.score)}</td>
            <td className="num">{dec3(b.seedSvcca?.score)}</td>
          </tr>
          <tr>
            <td>RSA of kept pairs</td>
            <td className="num">{dec3(s?.rsa.score)}</td>
            <td className="num">{dec3(b.seedRsa?.score)}</td>
          </tr>
        </tbody>
      </table>
      <p className="ms-what">
        A′ is SAE A trained again on the same tap with another seed (Paulo &amp; Belrose 2025): what two seeds
        share is the yardstick for what A and B share. Latents are shared when their Hungarian-matched decoder
        and encoder rows both have cosine above 0.7 (A vs B only when the taps have the same width).
      </p>
    </div>
  );
}
