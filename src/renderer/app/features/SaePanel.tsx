// SAEs of the project (`saes.list`): their held-out metrics and training curves, and a form that trains one
// (`sae.train` job).
import { useId, useState } from 'react';
import { Figure } from '../components/Figure.js';
import {
  DictionaryFields,
  dictionaryRequest,
  useDictionarySettings,
  type DictionaryKind,
} from '../components/DictionaryFields.js';
import { saeCurveSpec, saeDensitySpec, saeHasDensity } from '../../../shared/specs/viewFigures.js';
import { Empty, ErrorState, Loading } from '../components/States.js';
import { useQuery, useReloadOnJobEnd } from '../data.js';
import { dec3, int, num, pct } from '../neurons/format.js';
import { duration } from '../neurons/JobProgress.js';
import { TapPicker, type TapValue } from '../neurons/TapPicker.js';
import type { CheckpointInfo, RecordingInfo } from '../neurons/taps.js';
import { useJobRun } from '../neurons/useJobRun.js';
import { JobForm } from './JobForm.js';
import type { SaeInfo } from './TapFields.js';

const METRICS: {
  key: keyof SaeInfo['metrics'];
  label: string;
  definition: string;
  format: (v: number) => string;
}[] = [
  {
    key: 'l0',
    label: 'L0',
    definition: 'Mean number of non-zero latents per token (held-out 10% of the tokens).',
    format: num,
  },
  {
    key: 'explainedVariance',
    label: 'Explained variance',
    definition: '1 − Σ‖x − x̂‖² / Σ‖x − x̄‖² on the held-out tokens, de-normalised (x̄ per dimension).',
    format: dec3,
  },
  {
    key: 'mse',
    label: 'MSE',
    definition: 'Mean over tokens and dimensions of (x − x̂)², de-normalised.',
    format: num,
  },
  {
    key: 'deadFraction',
    label: 'Dead',
    definition: 'Share of latents that never fire on the held-out tokens.',
    format: pct,
  },
  {
    key: 'denseFraction',
    label: 'Dense',
    definition: 'Share of latents firing on more than 10% of the tokens.',
    format: pct,
  },
];

export function SaePanel({
  checkpoints,
  recordings,
  initial,
}: {
  checkpoints: CheckpointInfo[];
  recordings: RecordingInfo[];
  initial: TapValue;
}) {
  const saes = useQuery('saes.list', {});
  useReloadOnJobEnd(saes.reload, ['sae.train']);
  const [picked, setPicked] = useState<string>();
  const list = saes.data ?? [];
  const current = list.find((s) => s.name === picked) ?? list[list.length - 1];
  return (
    <div className="ms-features-panel">
      <section className="ms-panel" aria-labelledby="sae-list-h">
        <h3 id="sae-list-h">Trained SAEs</h3>
        <p className="ms-what">
          Sparse autoencoders trained on a tap’s activations; metrics on the held-out 10% of the probe’s
          tokens.
        </p>
        {saes.error ? (
          <ErrorState title="SAEs could not be listed" error={saes.error} onRetry={saes.reload} />
        ) : !saes.data ? (
          <Loading what="SAEs" />
        ) : list.length === 0 ? (
          <Empty title="No SAE trained yet">
            Train one below: its latents can then be matched across checkpoints instead of raw neurons.
          </Empty>
        ) : (
          <table className="ms-table ms-sae-table">
            <thead>
              <tr>
                <th>Name</th>
                <th>Trained on</th>
                <th>Kind</th>
                <th className="num">Latents</th>
                {METRICS.map((m) => (
                  <th key={m.key} className="num" title={m.definition}>
                    {m.label}
                  </th>
                ))}
                <th className="num" title="Training time (tokens per second)">
                  Time
                </th>
              </tr>
            </thead>
            <tbody>
              {list.map((s) => (
                <tr
                  key={s.name}
                  className={s === current ? 'selected' : undefined}
                  aria-selected={s === current}
                >
                  <td>
                    <button type="button" className="ms-link" onClick={() => setPicked(s.name)}>
                      {s.name}
                    </button>
                  </td>
                  <td>
                    {s.ref.checkpoint} <code>{s.ref.tap}</code>
                  </td>
                  <td>{s.kind}</td>
                  <td className="num">{int(s.dSae)}</td>
                  {METRICS.map((m) => (
                    <td key={m.key} className="num">
                      {m.format(s.metrics[m.key] as number)}
                    </td>
                  ))}
                  <td className="num">
                    {duration(s.seconds)}{' '}
                    <span className="ms-muted ms-small">({int(s.tokensPerS)} tok/s)</span>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {current && (
          <div className="ms-panels">
            <div>
              <Figure spec={saeCurveSpec(current)} fileName={`sae-${current.name}-training`} />
            </div>
            <div>
              {saeHasDensity(current) ? (
                <Figure spec={saeDensitySpec(current)} fileName={`sae-${current.name}-density`} />
              ) : (
                <p className="ms-muted">No latent fired on the held-out tokens.</p>
              )}
              <p className="ms-muted ms-small">
                {int(current.metrics.densityHistogram.never)} latents never fired (not in the histogram).
              </p>
            </div>
          </div>
        )}
      </section>
      <TrainForm
        checkpoints={checkpoints}
        recordings={recordings}
        initial={initial}
        names={list.map((s) => s.name)}
      />
    </div>
  );
}

/** The SAE kinds the form trains. */
const SAE_KINDS: DictionaryKind<'topk' | 'relu-l1'>[] = [
  { value: 'topk', label: 'TopK', sparsity: 'k', title: 'Latents kept per token' },
  { value: 'relu-l1', label: 'ReLU + L1', sparsity: 'l1', title: 'The coefficient of the L1 penalty' },
];

function TrainForm({
  checkpoints,
  recordings,
  initial,
  names,
}: {
  checkpoints: CheckpointInfo[];
  recordings: RecordingInfo[];
  initial: TapValue;
  names: string[];
}) {
  const id = useId();
  const [ref, setRef] = useState<TapValue>(initial);
  const [settings, setSettings] = useDictionarySettings(SAE_KINDS, 1024);
  const run = useJobRun('sae.train');
  const layer = /^blocks\.(\d+)\./.exec(ref.tap)?.[1] ?? '0';
  const { kind, k, latents } = settings;
  const suggested = `${ref.checkpoint}-L${layer}-${kind === 'topk' ? `k${k}` : 'l1'}-${latents}`;
  const { valid, request } = dictionaryRequest(settings, SAE_KINDS, suggested);
  const finalName = request.name;
  const nameTaken = names.includes(finalName);
  const submit = () => run.start({ ref, ...request });
  return (
    <section className="ms-panel" aria-labelledby={`${id}-h`}>
      <h3 id={`${id}-h`}>Train an SAE</h3>
      <p className="ms-what">
        Trains on 90% of the tap’s non-special probe tokens (the tap is recorded first if needed) and
        evaluates on the other 10%. TopK keeps the k largest latents per token; ReLU-L1 penalises the latents’
        L1 norm.
      </p>
      <JobForm
        run={run}
        onSubmit={submit}
        submitLabel="Train SAE"
        failedTitle="SAE training failed"
        valid={valid}
      >
        <TapPicker checkpoints={checkpoints} recordings={recordings} value={ref} onChange={setRef} />
        <DictionaryFields kinds={SAE_KINDS} value={settings} onChange={setSettings} suggested={suggested} />
        {nameTaken && valid && (
          <p className="ms-muted ms-small">
            An SAE named {finalName} exists: the same settings re-read it, other settings train it again.
          </p>
        )}
      </JobForm>
      {run.result && !run.running && (
        <p className="ms-done" role="status">
          Trained {run.result.name}: explained variance {dec3(run.result.metrics.explainedVariance)}, L0{' '}
          {num(run.result.metrics.l0)}, in {duration(run.result.seconds)}.
        </p>
      )}
    </section>
  );
}
