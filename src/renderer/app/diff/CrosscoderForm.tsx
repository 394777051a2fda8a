// The form that trains a crosscoder (`crosscoder.train` job): 2 or 3 checkpoints, the tap they share, the
// probe, and the dictionary's settings (components/DictionaryFields.tsx: BatchTopK or L1, its size, its
// sparsity, the steps, batch and seed); the job's progress under it.
import { useId, useState } from 'react';
import {
  DictionaryFields,
  dictionaryRequest,
  useDictionarySettings,
  type DictionaryKind,
} from '../components/DictionaryFields.js';
import { JobForm } from '../features/JobForm.js';
import { dec3, num } from '../neurons/format.js';
import { duration } from '../neurons/JobProgress.js';
import { tapsOf, type CheckpointInfo } from '../neurons/taps.js';
import type { JobRun } from '../neurons/useJobRun.js';

/** The taps a crosscoder reads (the API's `Tap`): MLP pre- and post-activations and the residual stream. */
const CROSSCODER_TAP = /^blocks\.\d+\.(mlp\.pre|mlp\.post|resid_post)$/;
/** The crosscoder kinds the form trains. */
const KINDS: DictionaryKind<'batchtopk' | 'l1'>[] = [
  { value: 'batchtopk', label: 'BatchTopK', sparsity: 'k', title: 'Mean active latents per token' },
  {
    value: 'l1',
    label: 'L1',
    sparsity: 'l1',
    title: 'Coefficient of the decoder-norm-weighted penalty',
  },
];

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
  const [settings, setSettings] = useDictionarySettings(KINDS, 256);
  const layer = /^blocks\.(\d+)\./.exec(shownTap)?.[1] ?? '0';
  const suggested = `${picked.join('-')}-L${layer}-${settings.kind}-${settings.latents}`;
  const { valid: validName, request } = dictionaryRequest(settings, KINDS, suggested);
  const finalName = request.name;
  const validModels = picked.length >= 2 && picked.length <= 3;
  const toggle = (ck: string, on: boolean) =>
    setPicked((cur) =>
      on
        ? checkpoints.map((c) => c.name).filter((n) => n === ck || cur.includes(n))
        : cur.filter((n) => n !== ck),
    );
  const submit = () =>
    run.start({ checkpoints: picked, tap: shownTap, probe: probe.trim() || 'builtin', ...request });
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
        <DictionaryFields kinds={KINDS} value={settings} onChange={setSettings} suggested={suggested}>
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
        </DictionaryFields>
        {!validModels && <p className="ms-form-error">Pick 2 or 3 checkpoints.</p>}
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
