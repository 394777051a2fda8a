// Semantic subspaces (`subspaces` job, Lan et al. §4): per concept category, the features of A and B whose
// top tokens belong to it, paired within the category, and SVCCA and RSA of the pairs against a null.
import { useEffect, useState } from 'react';
import type { OpInput } from '../../../core/api.js';
import type { OpResult } from '../../../core/service.js';
import { formatPValue } from '../../figures/index.js';
import { Figure } from '../components/Figure.js';
import { subspacesSpec } from '../components/viewFigures.js';
import { ErrorState } from '../components/States.js';
import { dec3, int } from '../neurons/format.js';
import { JobProgress } from '../neurons/JobProgress.js';
import type { CheckpointInfo, RecordingInfo } from '../neurons/taps.js';
import { useJobRun } from '../neurons/useJobRun.js';
import { knownSides, lastInput, rememberInput, useRereadLast } from './results.js';
import { SideFields, refOf, type SaeInfo, type Side } from './TapFields.js';

type SubspacesInput = OpInput<'subspaces'>;

const p = (v: number | undefined) => (v === undefined ? '—' : formatPValue(v));

export function SubspacesPanel({
  checkpoints,
  recordings,
  saes,
  initial,
}: {
  checkpoints: CheckpointInfo[];
  recordings: RecordingInfo[];
  saes: SaeInfo[];
  initial: [Side, Side];
}) {
  const [last] = useState(() => lastInput<SubspacesInput>('subspaces', (i) => knownSides(i, checkpoints)));
  const [a, setA] = useState<Side>(last ? { ...last.a, sae: last.saeA ?? '' } : initial[0]);
  const [b, setB] = useState<Side>(last ? { ...last.b, sae: last.saeB ?? '' } : initial[1]);
  const [shuffles, setShuffles] = useState(last?.shuffles ?? 1000);
  const [seed, setSeed] = useState(last?.seed ?? 0);
  // The panel shows its latest job, also one started before the tab was left.
  const run = useJobRun('subspaces', () => true);
  const sent = run.job?.input as SubspacesInput | undefined;
  const start = run.start;
  useRereadLast(run.job ? undefined : last, start);
  useEffect(() => {
    if (run.result && sent) rememberInput('subspaces', sent);
  }, [run.result, sent]);
  const submit = () =>
    start({
      a: refOf(a),
      b: refOf(b),
      ...(a.sae ? { saeA: a.sae } : {}),
      ...(b.sae ? { saeB: b.sae } : {}),
      shuffles,
      seed,
    });
  const r = run.result;
  return (
    <div className="ms-features-panel">
      <form
        className="ms-form"
        onSubmit={(e) => {
          e.preventDefault();
          if (!run.running) submit();
        }}
      >
        <div className="ms-sides">
          <SideFields
            side="A"
            value={a}
            onChange={setA}
            checkpoints={checkpoints}
            recordings={recordings}
            saes={saes}
          />
          <SideFields
            side="B"
            value={b}
            onChange={setB}
            checkpoints={checkpoints}
            recordings={recordings}
            saes={saes}
          />
        </div>
        <div className="ms-form-row">
          <label title="Permutations for each category's null (0: none)">
            Shuffles
            <input
              type="number"
              min={0}
              max={100000}

              value={shuffles}
              onChange={(e) => setShuffles(Number(e.target.value))}
            />
          </label>
          <label>
            Seed
            <input type="number" min={0} value={seed} onChange={(e) => setSeed(Number(e.target.value))} />
          </label>
        </div>
        <p className="ms-what">
          A feature belongs to a category when its top-activating tokens are words of that category (the
          built-in world’s concepts for word-level models). Within a category each B feature is paired with
          its most correlated A feature, one-to-one; categories with 2 or fewer features on a side are
          skipped.
        </p>
        <button type="submit" className="ms-primary" disabled={run.running}>
          Compare subspaces
        </button>
      </form>
      {run.job && run.running && <JobProgress job={run.job} onCancel={run.cancel} />}
      {run.error && <ErrorState title="Subspaces could not be compared" error={run.error} />}
      {r && sent && <SubspacesResult result={r} input={sent} />}
    </div>
  );
}

function SubspacesResult({ result, input }: { result: OpResult<'subspaces'>; input: SubspacesInput }) {
  const { categories } = result;
  const scored = categories.filter((c) => c.similarity);
  const caption = {
    A: `${input.a.checkpoint} ${input.a.tap}${input.saeA ? ` SAE ${input.saeA}` : ''}`,
    B: `${input.b.checkpoint} ${input.b.tap}${input.saeB ? ` SAE ${input.saeB}` : ''}`,
    'null N': input.shuffles ?? 1000,
  };
  const spec = scored.length > 0 ? subspacesSpec(result, caption) : undefined;
  return (
    <section className="ms-panel ms-result" data-result="subspaces" aria-label="Subspaces result">
      <h3>
        {scored.length} of {categories.length} categories scored
      </h3>
      <table className="ms-table" aria-label="Categories">
        <thead>
          <tr>
            <th>Category</th>
            <th className="num" title="Features of A in the category">
              A
            </th>
            <th className="num" title="Features of B in the category">
              B
            </th>
            <th className="num" title="One-to-one pairs within the category">
              Pairs
            </th>
            <th className="num">SVCCA</th>
            <th className="num" title="p = (1 + #{null ≥ observed}) / (1 + N)">
              p
            </th>
            <th className="num">RSA</th>
            <th className="num" title="p = (1 + #{null ≥ observed}) / (1 + N)">
              p
            </th>
            <th>Note</th>
          </tr>
        </thead>
        <tbody>
          {categories.map((c) => (
            <tr key={c.category}>
              <td>{c.category}</td>
              <td className="num">{int(c.nA)}</td>
              <td className="num">{int(c.nB)}</td>
              <td className="num">{int(c.pairs.length)}</td>
              <td className="num">{dec3(c.similarity?.svcca.score)}</td>
              <td className="num">{p(c.similarity?.svcca.null?.pValue)}</td>
              <td className="num">{dec3(c.similarity?.rsa.score)}</td>
              <td className="num">{p(c.similarity?.rsa.null?.pValue)}</td>
              <td className="ms-muted ms-small">{c.skipped ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="ms-what">
        p = {scored[0]?.similarity?.svcca.null?.formula ?? '(1 + #{null ≥ observed}) / (1 + N)'} over each
        category’s own null (B’s pairs shuffled).
      </p>
      {spec && <Figure spec={spec} fileName="subspaces" />}
    </section>
  );
}
