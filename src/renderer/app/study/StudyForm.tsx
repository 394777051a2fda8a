// The form that starts a study as a job: its name, the quick grid, methods, seeds, tasks, DecPO's
// regularizers, the layer and lambda sweeps, and (under "Advanced") the training sizes, the probe's length and the base's shape.
// Blank fields keep the study's defaults (see StudyInput in core/api.ts).
import { useState, type ReactNode } from 'react';
import { METHODS, REGULARIZERS, TASKS, type StudyInput } from './study.js';

const SHAPE_FIELDS = ['nLayer', 'nEmbd', 'nHead', 'nInner', 'nCtx'] as const;
const SIZE_FIELDS = [
  ['steps', 'Preference steps'],
  ['pretrainSteps', 'Pretrain steps'],
  ['examples', 'Preference pairs'],
  ['pretrainExamples', 'Pretrain documents'],
  ['probeTokens', 'Probe tokens'],
  ['workers', 'Workers'],
] as const;

/** The form's fields as typed (text, so that blank means the default). */
interface Fields {
  name: string;
  quick: boolean;
  methods: string[];
  tasks: string[];
  regularizers: string[];
  seeds: string;
  layer: string;
  lambda: string;
  layers: string;
  lambdas: string;
  sizes: Record<(typeof SIZE_FIELDS)[number][0], string>;
  shape: Record<(typeof SHAPE_FIELDS)[number], string>;
}

const INITIAL: Fields = {
  name: '',
  quick: true,
  methods: Object.keys(METHODS),
  tasks: ['toxicity'],
  regularizers: ['barlow'],
  seeds: '',
  layer: '',
  lambda: '',
  layers: '',
  lambdas: '',
  sizes: { steps: '', pretrainSteps: '', examples: '', pretrainExamples: '', probeTokens: '', workers: '' },
  shape: { nLayer: '', nEmbd: '', nHead: '', nInner: '', nCtx: '' },
};

/** A number typed in a field (undefined when blank); throws naming the field when it is not one. */
function numberOf(label: string, text: string, integer: boolean): number | undefined {
  if (text.trim() === '') return undefined;
  const v = Number(text);
  if (!Number.isFinite(v) || (integer && !Number.isInteger(v)))
    throw new Error(`${label}: “${text}” is not ${integer ? 'an integer' : 'a number'}`);
  return v;
}

/** A comma-separated list of numbers (undefined when blank). */
function listOf(label: string, text: string, integer: boolean): number[] | undefined {
  if (text.trim() === '') return undefined;
  return text.split(',').map((t) => numberOf(label, t.trim(), integer)!);
}

/** The `study` job's input from the fields; throws naming the first field that is not valid. */
export function studyInputOf(f: Fields): StudyInput {
  if (f.methods.length === 0) throw new Error('Methods: choose at least one');
  if (f.tasks.length === 0) throw new Error('Tasks: choose at least one');
  if (f.regularizers.length === 0) throw new Error('Regularizers: choose at least one');
  const shape = Object.fromEntries(
    SHAPE_FIELDS.map((k) => [k, numberOf(`Model ${k}`, f.shape[k], true)]).filter(([, v]) => v !== undefined),
  );
  const input = {
    name: f.name.trim() || undefined,
    quick: f.quick || undefined,
    methods: f.methods,
    tasks: f.tasks,
    regularizers: f.regularizers,
    seeds: numberOf('Seeds', f.seeds, true),
    layer: numberOf('Layer', f.layer, true),
    lambda: numberOf('Lambda', f.lambda, false),
    layers: listOf('Layer sweep', f.layers, true),
    lambdas: listOf('Lambda sweep', f.lambdas, false),
    ...Object.fromEntries(SIZE_FIELDS.map(([k, label]) => [k, numberOf(label, f.sizes[k], true)])),
    modelShape: Object.keys(shape).length > 0 ? shape : undefined,
  };
  return Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) as StudyInput;
}

/** Checkboxes of a set of names, each with what it is on hover. */
function Choices({
  legend,
  options,
  chosen,
  onChange,
}: {
  legend: string;
  options: Record<string, string>;
  chosen: string[];
  onChange: (next: string[]) => void;
}) {
  return (
    <fieldset className="study-choices">
      <legend>{legend}</legend>
      {Object.entries(options).map(([name, what]) => (
        <label key={name} className="chip" title={what}>
          <input
            type="checkbox"
            checked={chosen.includes(name)}
            onChange={() =>
              onChange(
                Object.keys(options).filter((o) => (o === name ? !chosen.includes(o) : chosen.includes(o))),
              )
            }
          />
          <span className="mono">{name}</span>
        </label>
      ))}
    </fieldset>
  );
}

/** A text field; `hint` is its placeholder (what a blank field means). */
function Text({
  label,
  value,
  onChange,
  hint,
}: {
  label: ReactNode;
  value: string;
  onChange: (v: string) => void;
  hint?: string;
}) {
  return (
    <label>
      {label}
      <input type="text" value={value} placeholder={hint} onChange={(e) => onChange(e.target.value)} />
    </label>
  );
}

export function StudyForm({
  busy,
  onStart,
}: {
  /** A study job runs: the form waits. */
  busy: boolean;
  onStart: (input: StudyInput) => void;
}) {
  const [f, setF] = useState<Fields>(INITIAL);
  const set = (patch: Partial<Fields>) => setF((cur) => ({ ...cur, ...patch }));
  let input: StudyInput | undefined;
  let invalid: string | undefined;
  try {
    input = studyInputOf(f);
  } catch (e) {
    invalid = (e as Error).message;
  }
  return (
    <form
      className="ms-form study-form"
      aria-label="Start a study"
      onSubmit={(e) => {
        e.preventDefault();
        if (input && !busy) onStart(input);
      }}
    >
      <div className="ms-form-row">
        <Text
          label="Name"
          value={f.name}
          onChange={(name) => set({ name })}
          hint={f.quick ? 'quick' : 'study'}
        />
        <label className="ms-check">
          <input type="checkbox" checked={f.quick} onChange={(e) => set({ quick: e.target.checked })} />
          Quick grid (3 seeds, reduced steps)
        </label>
        <Text label="Seeds" value={f.seeds} onChange={(seeds) => set({ seeds })} hint={f.quick ? '3' : '5'} />
      </div>
      <div className="ms-form-row">
        <Choices
          legend="Methods"
          options={METHODS}
          chosen={f.methods}
          onChange={(methods) => set({ methods })}
        />
        <Choices legend="Tasks" options={TASKS} chosen={f.tasks} onChange={(tasks) => set({ tasks })} />
        <Choices
          legend="DecPO regularizers"
          options={REGULARIZERS}
          chosen={f.regularizers}
          onChange={(regularizers) => set({ regularizers })}
        />
      </div>
      <div className="ms-form-row">
        <Text label="DecPO layer" value={f.layer} onChange={(layer) => set({ layer })} hint="middle block" />
        <Text label="DecPO lambda" value={f.lambda} onChange={(lambda) => set({ lambda })} hint="1e-3" />
        <Text
          label="Layer sweep"
          value={f.layers}
          onChange={(layers) => set({ layers })}
          hint="e.g. 0, 1, 2"
        />
        <Text
          label="Lambda sweep"
          value={f.lambdas}
          onChange={(lambdas) => set({ lambdas })}
          hint="e.g. 1e-4, 1e-3, 1e-2"
        />
      </div>
      <details className="study-advanced">
        <summary>Advanced: training sizes and the base’s shape</summary>
        <div className="ms-form-row">
          {SIZE_FIELDS.map(([k, label]) => (
            <Text
              key={k}
              label={label}
              value={f.sizes[k]}
              onChange={(v) => set({ sizes: { ...f.sizes, [k]: v } })}
              hint="default"
            />
          ))}
        </div>
        <div className="ms-form-row">
          {SHAPE_FIELDS.map((k) => (
            <Text
              key={k}
              label={<span className="mono">{k}</span>}
              value={f.shape[k]}
              onChange={(v) => set({ shape: { ...f.shape, [k]: v } })}
              hint="default"
            />
          ))}
        </div>
      </details>
      {invalid && (
        <p className="ms-form-error" role="alert">
          {invalid}
        </p>
      )}
      <button type="submit" className="ms-primary primary" disabled={!input || busy}>
        Start study
      </button>
    </form>
  );
}
