// Semantic subspaces (`subspaces` job, Lan et al. §4): per concept category, the features of A and B whose
// top tokens belong to it, paired within the category, and SVCCA and RSA of the pairs against a null.
import type { OpInput } from '../../../core/api.js';
import type { OpResult } from '../../../core/api.js';
import { formatPValue } from '../../../shared/figures/index.js';
import { Figure } from '../components/Figure.js';
import { subspacesSpec } from '../../../shared/specs/viewFigures.js';
import { dec3, int } from '../neurons/format.js';
import { JobForm, NullFields, useNullSettings } from './JobForm.js';
import { useRememberedRun } from './results.js';
import { SidePair, sidesInput, type SidesPanelProps, useSides } from './TapFields.js';

type SubspacesInput = OpInput<'subspaces'>;

const p = (v: number | undefined) => (v === undefined ? '—' : formatPValue(v));
/** The permutation p-value's definition, as the analysis computes it. */
const P_FORMULA = '(1 + #{null ≥ observed}) / (1 + N)';

export function SubspacesPanel({ checkpoints, recordings, saes, initial }: SidesPanelProps) {
  const { last, run, sent } = useRememberedRun('subspaces', checkpoints);
  const sides = useSides(last, initial);
  const nulls = useNullSettings(last);
  const submit = () => run.start({ ...sidesInput(sides), shuffles: nulls.shuffles, seed: nulls.seed });
  const r = run.result;
  return (
    <div className="ms-features-panel">
      <JobForm
        run={run}
        onSubmit={submit}
        submitLabel="Compare subspaces"
        failedTitle="Subspaces could not be compared"
      >
        <SidePair sides={sides} checkpoints={checkpoints} recordings={recordings} saes={saes} />
        <div className="ms-form-row">
          <NullFields settings={nulls} title="Permutations for each category's null (0: none)" />
        </div>
        <p className="ms-what">
          A feature belongs to a category when its top-activating tokens are words of that category (the
          built-in world’s concepts for word-level models). Within a category each B feature is paired with
          its most correlated A feature, one-to-one; categories with 2 or fewer features on a side are
          skipped.
        </p>
      </JobForm>
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
            <th className="num" title={`p = ${P_FORMULA}`}>
              p
            </th>
            <th className="num">RSA</th>
            <th className="num" title={`p = ${P_FORMULA}`}>
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
        p = {scored[0]?.similarity?.svcca.null?.formula ?? P_FORMULA} over each category’s own null (B’s pairs
        shuffled).
      </p>
      {spec && <Figure spec={spec} fileName="subspaces" />}
    </section>
  );
}
