// The form that starts a training run: every field of the `train` operation a researcher sets, checked
// as typed (the schema's rules, repeated in trainForm.ts); the server's message is shown when it refuses.
import { useId, useRef, useState, type FormEvent, type ReactNode } from 'react';
import { useJobs, useQuery } from '../data.js';
import {
  BACKEND_CHOICES,
  LOGP_CHOICES,
  LOSS_CHOICES,
  REGULARIZER_CHOICES,
  STAGE_CHOICES,
  METHOD_CHOICES,
  TAP_CHOICES,
  TASK_CHOICES,
  defaultValues,
  fieldsOf,
  placeholders,
  validateTrainForm,
  type CheckpointChoice,
  type TrainField,
  type TrainFormValues,
} from './trainForm.js';

/** What each field means, shown under it. */
const HELP: Record<TrainField, string> = {
  name: 'Names the run and the checkpoint it writes. Starting a stopped run again under its name resumes it.',
  stage:
    'pretrain from scratch, sft on chosen responses, or a preference stage: dpo, decpo (DPO + decorrelation), simpo, l1.',
  task: 'Built-in preference task of the world the base model learned.',
  init: 'The checkpoint to fine-tune.',
  ref: 'The frozen reference of the implicit reward; default: the init checkpoint.',
  steps: 'Optimizer steps.',
  batchSize: 'Pairs (or sequences) per step.',
  lr: 'Adam learning rate.',
  beta: 'DPO temperature β: the reward is β·(log π − log π_ref).',
  lossType: 'sigmoid (DPO), hinge (SLiC) or ipo.',
  logpAgg: 'Response log-probabilities summed over tokens (TRL) or averaged per token (the DecPO authors).',
  regularizer:
    'barlow: neurons’ correlation matrix; rowcos: the paper’s ‖ẐẐᵀ−I‖²; authors: their code’s penalty.',
  lambda: 'Weight of the regularizer (DecPO) or of the L1 penalty.',
  layer: 'Block whose MLP neurons are regularized and monitored (decorr/*).',
  tap: 'Where the regularizer reads activations: the model’s default is the up projection (mlp.pre_linear, the paper’s z) of a gated MLP, else the neurons (mlp.post).',
  method:
    'Every weight, or a LoRA adapter (PEFT layout) on the frozen init checkpoint, as the DecPO authors fine-tuned Llama.',
  loraR: 'LoRA rank r.',
  loraAlpha: 'LoRA α: the update is scaled by α / r.',
  loraDropout: 'Dropout on the adapter’s input while training.',
  loraTargets: 'Module names to adapt, comma separated (PEFT’s target_modules).',
  microBatch:
    'Pairs per forward pass: gradients accumulate over batch / micro-batch passes per step (less memory, same step).',
  backend: 'TF.js backend of the training job; auto picks the fastest that works here.',
};

const LABEL: Record<TrainField, string> = {
  name: 'Run name',
  stage: 'Stage',
  task: 'Task',
  init: 'Init checkpoint',
  ref: 'Reference checkpoint',
  steps: 'Steps',
  batchSize: 'Batch size',
  lr: 'Learning rate',
  beta: 'β (beta)',
  lossType: 'Loss type',
  logpAgg: 'Log-prob aggregation',
  regularizer: 'Regularizer',
  lambda: 'λ (lambda)',
  layer: 'Layer',
  tap: 'Tap',
  method: 'Fine-tuning',
  loraR: 'LoRA rank',
  loraAlpha: 'LoRA α (alpha)',
  loraDropout: 'LoRA dropout',
  loraTargets: 'LoRA targets',
  microBatch: 'Micro-batch',
  backend: 'Backend',
};

const ORDER: TrainField[] = [
  'name',
  'stage',
  'task',
  'init',
  'method',
  'loraR',
  'loraAlpha',
  'loraDropout',
  'loraTargets',
  'ref',
  'steps',
  'batchSize',
  'lr',
  'beta',
  'lossType',
  'logpAgg',
  'regularizer',
  'lambda',
  'layer',
  'tap',
  'microBatch',
  'backend',
];

export function TrainForm({
  checkpoints,
  onStarted,
}: {
  checkpoints: CheckpointChoice[];
  /** Called with the run's name once the server accepted the job. */
  onStarted: (name: string) => void;
}) {
  const { start, jobs } = useJobs();
  const backends = useQuery('backends.list', {});
  const [values, setValues] = useState<TrainFormValues>(() => defaultValues(checkpoints.map((c) => c.name)));
  const [touched, setTouched] = useState<Partial<Record<TrainField, boolean>>>({});
  const [submitted, setSubmitted] = useState(false);
  const [serverError, setServerError] = useState<string>();
  const [status, setStatus] = useState<string>();
  const [sending, setSending] = useState(false);
  const [startedJob, setStartedJob] = useState<string>();
  // A run the engine accepted can still stop at once (a completed run of that name, a missing file).
  const failed = jobs.find((j) => j.id === startedJob && j.status === 'failed');
  const form = useRef<HTMLFormElement>(null);
  const uid = useId();

  // A checkpoint picked before the list arrived (or a fresh project) gets the default once it exists.
  const names = checkpoints.map((c) => c.name);
  const current = { ...values, init: values.init || defaultValues(names).init };
  const check = validateTrainForm(current, checkpoints);
  const shown = fieldsOf(current.stage, current.method);
  const ph = placeholders(current.stage, current.regularizer);

  const set = (field: TrainField, value: string) => {
    setValues((v) => ({ ...v, [field]: value }) as TrainFormValues);
    setServerError(undefined);
    setStatus(undefined);
    setStartedJob(undefined);
  };

  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    setSubmitted(true);
    if (!check.input) {
      const first = ORDER.find((f) => check.errors[f]);
      form.current?.querySelector<HTMLElement>(`[name="${first}"]`)?.focus();
      return;
    }
    setSending(true);
    setServerError(undefined);
    try {
      const job = await start('train', check.input);
      setStartedJob(job.id);
      setStatus(`Started run '${check.input.name}'.`);
      onStarted(check.input.name);
    } catch (error) {
      setServerError(error instanceof Error ? error.message : String(error));
    } finally {
      setSending(false);
    }
  };

  const field = (f: TrainField, control: ReactNode) => {
    const error = (submitted || touched[f]) && check.errors[f];
    return (
      <div className={`field field-${f}`} key={f}>
        <label htmlFor={`${uid}-${f}`}>{LABEL[f]}</label>
        {control}
        <p className="field-help" id={`${uid}-${f}-help`}>
          {HELP[f]}
        </p>
        {error && (
          <p className="field-error" id={`${uid}-${f}-error`}>
            {error}
          </p>
        )}
      </div>
    );
  };
  const common = (f: TrainField) => ({
    id: `${uid}-${f}`,
    name: f,
    'aria-invalid': Boolean((submitted || touched[f]) && check.errors[f]),
    'aria-describedby': `${uid}-${f}-help${(submitted || touched[f]) && check.errors[f] ? ` ${uid}-${f}-error` : ''}`,
    onBlur: () => setTouched((t) => ({ ...t, [f]: true })),
  });
  const text = (f: TrainField, inputMode: 'text' | 'decimal' | 'numeric' = 'decimal') =>
    field(
      f,
      <input
        {...common(f)}
        type="text"
        inputMode={inputMode}
        autoComplete="off"
        spellCheck={false}
        value={current[f]}
        placeholder={ph[f] ? `default ${ph[f]}` : undefined}
        onChange={(e) => set(f, e.target.value)}
      />,
    );
  const select = (f: TrainField, options: readonly string[], labels?: Record<string, string>) =>
    field(
      f,
      <select {...common(f)} value={current[f]} onChange={(e) => set(f, e.target.value)}>
        {options.map((o) => (
          <option key={o} value={o}>
            {labels?.[o] ?? o}
          </option>
        ))}
      </select>,
    );
  const ckptSelect = (f: 'init' | 'ref', emptyLabel: string) =>
    field(
      f,
      <select {...common(f)} value={current[f]} onChange={(e) => set(f, e.target.value)}>
        <option value="">{emptyLabel}</option>
        {names.map((n) => (
          <option key={n} value={n}>
            {n}
          </option>
        ))}
      </select>,
    );
  // The tap kinds of the init checkpoint's blocks (every kind while none is known).
  const initKinds = checkpoints.find((c) => c.name === current.init)?.tapKinds;
  const tapChoices = TAP_CHOICES.filter((t) => t === '' || !initKinds || initKinds.includes(t));
  const backendLabels = Object.fromEntries(
    BACKEND_CHOICES.map((b) => {
      const probe = backends.data?.find((x) => x.name === b);
      return [b, probe && !probe.usable ? `${b} (not available here)` : b];
    }),
  );

  const controls: Record<TrainField, () => ReactNode> = {
    name: () => text('name', 'text'),
    stage: () => select('stage', STAGE_CHOICES),
    task: () => select('task', TASK_CHOICES),
    init: () => ckptSelect('init', names.length ? 'Pick a checkpoint' : 'No checkpoint in the project'),
    ref: () => ckptSelect('ref', 'Same as init'),
    steps: () => text('steps', 'numeric'),
    batchSize: () => text('batchSize', 'numeric'),
    lr: () => text('lr'),
    beta: () => text('beta'),
    lossType: () => select('lossType', LOSS_CHOICES),
    logpAgg: () => select('logpAgg', LOGP_CHOICES),
    regularizer: () => select('regularizer', REGULARIZER_CHOICES),
    lambda: () => text('lambda'),
    layer: () => text('layer', 'numeric'),
    tap: () => select('tap', tapChoices, { '': 'model default' }),
    method: () => select('method', METHOD_CHOICES, { full: 'all weights', lora: 'LoRA adapter' }),
    loraR: () => text('loraR', 'numeric'),
    loraAlpha: () => text('loraAlpha'),
    loraDropout: () => text('loraDropout'),
    loraTargets: () => text('loraTargets', 'text'),
    microBatch: () => text('microBatch', 'numeric'),
    backend: () => select('backend', BACKEND_CHOICES, backendLabels),
  };

  return (
    <form ref={form} className="train-form" onSubmit={onSubmit} noValidate aria-label="New training run">
      <div className="form-grid">{ORDER.filter((f) => shown.has(f)).map((f) => controls[f]())}</div>
      <div className="form-actions">
        <button type="submit" className="primary" disabled={sending}>
          {sending ? 'Starting…' : 'Start training'}
        </button>
        {submitted && !check.input && (
          <span className="field-error" role="alert">
            Fix the marked fields first.
          </span>
        )}
        {status && (
          <span className="muted" role="status">
            {status}
          </span>
        )}
      </div>
      {failed && (
        <div className="state state-error server-error" role="alert">
          <h3>The run stopped at once</h3>
          <pre className="error-message">{failed.error ?? 'no message'}</pre>
        </div>
      )}
      {serverError && (
        <div className="state state-error server-error" role="alert">
          <h3>The engine refused this run</h3>
          <pre className="error-message">{serverError}</pre>
        </div>
      )}
    </form>
  );
}
