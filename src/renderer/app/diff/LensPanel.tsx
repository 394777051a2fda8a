// The activation-difference lens (`diff.lens` job): two checkpoints, the taps and the probe; per layer the
// norm of the mean difference h_B − h_A beside the norm of mean h_A (a figure with its export), and the
// tokens the difference promotes and suppresses through the unembedding.
import { useId, useState } from 'react';
import { Figure } from '../components/Figure.js';
import { Num } from '../components/Num.js';
import { NumberField } from '../components/NumberField.js';
import { JobForm } from '../features/JobForm.js';
import { LogitList } from '../neurons/NeuronPage.js';
import type { CheckpointInfo } from '../neurons/taps.js';
import { useJobRun } from '../neurons/useJobRun.js';
import { lensSpec, type DiffLens } from '../../../shared/specs/diff.js';

/** A layer's tokens as LogitList shows them. */
function tokens(list: DiffLens['layers'][number]['promoted']) {
  return list.map((t) => ({ id: t.id, token: t.token, value: t.logit }));
}

function LensResult({ r }: { r: DiffLens }) {
  return (
    <div data-result="diff.lens">
      <Figure spec={lensSpec(r)} fileName={`lens-${r.a}-${r.b}`} />
      <div className="table-scroll">
        <table className="ms-table" aria-label="Lens per layer">
          <thead>
            <tr>
              <th scope="col">Tap</th>
              <th scope="col" className="num" title="‖mean(h_B − h_A)‖ over the probe">
                ‖mean Δh‖
              </th>
              <th scope="col" className="num" title="‖mean h_A‖ over the probe">
                ‖mean h_A‖
              </th>
              <th scope="col">Promoted</th>
              <th scope="col">Suppressed</th>
            </tr>
          </thead>
          <tbody>
            {r.layers.map((l) => {
              const max = Math.max(
                1e-9,
                ...l.promoted.map((t) => Math.abs(t.logit)),
                ...l.suppressed.map((t) => Math.abs(t.logit)),
              );
              return (
                <tr key={l.tap} data-layer={l.layer}>
                  <th scope="row">
                    <code>{l.tap}</code>
                  </th>
                  <td className="num">
                    <Num field="norm" value={l.norm} />
                  </td>
                  <td className="num">
                    <Num field="baseNorm" value={l.baseNorm} />
                  </td>
                  <td data-list="promoted">
                    <LogitList items={tokens(l.promoted)} max={max} sign="positive" />
                  </td>
                  <td data-list="suppressed">
                    <LogitList items={tokens(l.suppressed)} max={max} sign="negative" />
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </div>
  );
}

export function LensPanel({ checkpoints }: { checkpoints: CheckpointInfo[] }) {
  const id = useId();
  const names = checkpoints.map((c) => c.name);
  const [a, setA] = useState(names[0] ?? '');
  const [b, setB] = useState(names[1] ?? names[0] ?? '');
  const [taps, setTaps] = useState('blocks.*.resid_post');
  const [probe, setProbe] = useState('builtin');
  const [topK, setTopK] = useState(10);
  const run = useJobRun('diff.lens');
  const picker = (label: string, value: string, set: (v: string) => void) => (
    <label>
      {label}
      <select value={value} onChange={(e) => set(e.target.value)}>
        {names.map((n) => (
          <option key={n} value={n}>
            {n}
          </option>
        ))}
      </select>
    </label>
  );
  return (
    <section className="ms-panel" aria-labelledby={`${id}-h`}>
      <h3 id={`${id}-h`}>Activation-difference lens</h3>
      <p className="ms-what">
        The mean of h_B − h_A of each tap over the probe, read through B’s unembedding (a logit lens of the
        difference): the tokens fine-tuning pushes up and down at each layer.
      </p>
      <JobForm
        run={run}
        onSubmit={() =>
          run.start({
            a,
            b,
            taps: taps.trim() || 'blocks.*.resid_post',
            probe: probe.trim() || 'builtin',
            topK,
          })
        }
        submitLabel="Run lens"
        failedTitle="The lens failed"
        valid={a !== '' && b !== '' && a !== b}
      >
        <div className="ms-form-row">
          {picker('Lens A', a, setA)}
          {picker('Lens B', b, setB)}
          <label>
            Taps
            <input type="text" value={taps} onChange={(e) => setTaps(e.target.value)} />
          </label>
          <label>
            Lens probe
            <input type="text" value={probe} onChange={(e) => setProbe(e.target.value)} />
          </label>
          <NumberField label="Tokens per layer" value={topK} onChange={setTopK} min={1} max={100} />
        </div>
        {a === b && <p className="ms-form-error">Pick two different checkpoints.</p>}
      </JobForm>
      {run.result && <LensResult r={run.result} />}
    </section>
  );
}
