// The form that trains a crosscoder (`crosscoder.train` job): 2 or 3 checkpoints, the tap they share, the
// probe, BatchTopK or L1, the dictionary's size, its sparsity and the steps; the job's progress under it.
import { useId, useState } from 'react';
import { NumberField } from '../components/NumberField.js';
import { JobForm } from '../features/JobForm.js';
import { dec3, num } from '../neurons/format.js';
import { duration } from '../neurons/JobProgress.js';
import { tapsOf, type CheckpointInfo } from '../neurons/taps.js';
import type { JobRun } from '../neurons/useJobRun.js';

/** The taps a crosscoder reads (the API's `Tap`): MLP pre- and post-activations and the residual stream. */
const CROSSCODER_TAP = /^blocks\.\d+\.(mlp\.pre|mlp\.post|resid_post)$/;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function CrosscoderForm({
  checkpoints,
  names,
  run,
}: {
  checkpoints: CheckpointInfo[];
  /** Crosscoders the project has. */
  names: string[];
  run: JobRun<'crosscoder.train'>;
}) {
  const id = useId();
  const [picked, setPicked] = useState<string[]>(() => checkpoints.slice(0, 3).map((c) => c.name));
  const taps = tapsOf(checkpoints.find((c) => c.name === picked[0])).filter((t) => CROSSCODER_TAP.test(t));
  const [tap, setTap] = useState('');
  const shownTap = taps.includes(tap) ? tap : (taps[0] ?? '');
  const [probe, setProbe] = useState('builtin');
  const [name, setName] = useState('');
  const [kind, setKind] = useState<'batchtopk' | 'l1'>('batchtopk');
  const [latents, setLatents] = useState(1024);
  const [k, setK] = useState(32);
  /** L1 coefficient as typed; empty: the engine's default. */
  const [l1, setL1] = useState('');
  const [steps, setSteps] = useState(1000);
  const layer = /^blocks\.(\d+)\./.exec(shownTap)?.[1] ?? '0';
  const suggested = `${picked.join('-')}-L${layer}-${kind}-${latents}`;
  const finalName = name.trim() || suggested;
  const validName = NAME.test(finalName);
  const validModels = picked.length >= 2 && picked.length <= 3;
  const toggle = (ck: string, on: boolean) =>
    setPicked((cur) =>
      on
        ? checkpoints.map((c) => c.name).filter((n) => n === ck || cur.includes(n))
        : cur.filter((n) => n !== ck),
    );
  const submit = () =>
    run.start({
      name: finalName,
      checkpoints: picked,
      tap: shownTap,
      probe: probe.trim() || 'builtin',
      kind,
      latents,
      steps,
      ...(kind === 'batchtopk' ? { k } : l1.trim() ? { l1: Number(l1) } : {}),
    });
  return (
    <section className="ms-panel" aria-labelledby={`${id}-h`}>
      <h3 id={`${id}-h`}>Train a crosscoder</h3>
      <p className="ms-what">
        One sparse dictionary over the same tap of 2 or 3 checkpoints on the same probe tokens: each latent is
        encoded from every model’s activations and decoded by one decoder per model. BatchTopK keeps the k·B
        largest activations of a batch of B tokens; L1 penalises activations weighted by the sum of the
        latent’s decoder norms.
      </p>
      <JobForm
        run={run}
        onSubmit={submit}
        submitLabel="Train crosscoder"
        failedTitle="Crosscoder training failed"
        valid={validName && validModels && shownTap !== ''}
      >
        <fieldset className="ms-side">
          <legend>Checkpoints (2 or 3; the first is A)</legend>
          <div className="ms-form-row">
            {checkpoints.map((c) => (
              <label key={c.name} className="ms-check">
                <input
                  type="checkbox"
                  checked={picked.includes(c.name)}
                  onChange={(e) => toggle(c.name, e.target.checked)}
                />{' '}
                {c.name}
              </label>
            ))}
          </div>
        </fieldset>
        <div className="ms-form-row">
          <label>
            Tap
            <select value={shownTap} onChange={(e) => setTap(e.target.value)}>
              {taps.map((t) => (
                <option key={t} value={t}>
                  {t}
                </option>
              ))}
            </select>
          </label>
          <label>
            Probe
            <input type="text" value={probe} onChange={(e) => setProbe(e.target.value)} />
          </label>
          <label>
            Name
            <input
              type="text"
              value={name}
              placeholder={suggested}
              onChange={(e) => setName(e.target.value)}
              aria-invalid={!validName}
            />
          </label>
          <label>
            Kind
            <select value={kind} onChange={(e) => setKind(e.target.value as 'batchtopk' | 'l1')}>
              <option value="batchtopk">BatchTopK</option>
              <option value="l1">L1</option>
            </select>
          </label>
          <NumberField
            label="Latents"
            value={latents}
            onChange={setLatents}
            min={1}
            max={65536}
            title="Dictionary size (d_sae)"
          />
          {kind === 'batchtopk' ? (
            <NumberField
              label="k"
              value={k}
              onChange={setK}
              min={1}
              max={4096}
              title="Mean active latents per token"
            />
          ) : (
            <label title="Coefficient of the decoder-norm-weighted penalty; empty: the engine's default">
              L1 coefficient
              <input
                type="number"
                value={l1}
                min={0}
                step="any"
                placeholder="default"
                onChange={(e) => setL1(e.target.value)}
              />
            </label>
          )}
          <NumberField label="Steps" value={steps} onChange={setSteps} min={1} max={1_000_000} />
        </div>
        {!validModels && <p className="ms-form-error">Pick 2 or 3 checkpoints.</p>}
        {!validName && (
          <p className="ms-form-error">A name uses letters, digits, “.”, “_” and “-” (at most 64).</p>
        )}
        {names.includes(finalName) && validName && (
          <p className="ms-muted ms-small">
            A crosscoder named {finalName} exists: the same settings re-read it.
          </p>
        )}
      </JobForm>
      {run.result && !run.running && (
        <p className="ms-done" role="status">
          Trained {run.result.name}: explained variance{' '}
          {run.result.metrics
            .map((m, i) => `${run.result!.checkpoints[i]} ${dec3(m.explainedVariance)}`)
            .join(', ')}
          ; L0 {num(run.result.metrics[0]?.l0)}; in {duration(run.result.seconds)}.
        </p>
      )}
    </section>
  );
}
