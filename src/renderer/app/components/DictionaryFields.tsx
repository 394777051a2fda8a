// One set of fields for a sparse dictionary's training settings, as `sae.train` and `crosscoder.train`
// both take them: the name (default a suggested one), the kind, the latents, k or the L1 coefficient, the
// steps, the batch and the seed. The SAE form (features/SaePanel.tsx) and the crosscoder form
// (diff/CrosscoderForm.tsx) render them after their own fields.
import { useState, type Dispatch, type ReactNode, type SetStateAction } from 'react';
import { NumberField } from './NumberField.js';

/** A name the API takes (its `Name`): letters, digits, '.', '_' and '-', at most 64. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** A kind of dictionary a form offers, and the sparsity setting it trains with (k per token, or L1). */
export interface DictionaryKind<K extends string> {
  value: K;
  label: string;
  sparsity: 'k' | 'l1';
  /** What the sparsity setting means (its field's title). */
  title: string;
}

/** The settings as the form holds them. */
export interface DictionarySettings<K extends string> {
  /** As typed; empty: the suggested name. */
  name: string;
  kind: K;
  latents: number;
  k: number;
  l1: number;
  steps: number;
  batchSize: number;
  seed: number;
}

/**
 * The form's settings, starting at the API's defaults with the first of `kinds` and the engine's default
 * `batchSize` (1,024 tokens for SAEs, 256 for crosscoders).
 */
export function useDictionarySettings<K extends string>(kinds: DictionaryKind<K>[], batchSize: number) {
  return useState<DictionarySettings<K>>(() => ({
    name: '',
    kind: kinds[0].value,
    latents: 1024,
    k: 32,
    l1: 5,
    steps: 1000,
    batchSize,
    seed: 0,
  }));
}

/**
 * The job's dictionary fields (the typed name, else `suggested`; k for a kind sparse by k, else the L1
 * coefficient) and whether the API takes the name.
 */
export function dictionaryRequest<K extends string>(
  s: DictionarySettings<K>,
  kinds: DictionaryKind<K>[],
  suggested: string,
): {
  valid: boolean;
  request: {
    name: string;
    kind: K;
    latents: number;
    steps: number;
    batchSize: number;
    seed: number;
    k?: number;
    l1?: number;
  };
} {
  const name = s.name.trim() || suggested;
  const sparsity = kinds.find((k) => k.value === s.kind)?.sparsity;
  return {
    valid: NAME.test(name),
    request: {
      name,
      kind: s.kind,
      latents: s.latents,
      steps: s.steps,
      batchSize: s.batchSize,
      seed: s.seed,
      ...(sparsity === 'k' ? { k: s.k } : { l1: s.l1 }),
    },
  };
}

/** The fields in one row after `children` (the form's own fields), and under it the error of a bad name. */
export function DictionaryFields<K extends string>({
  kinds,
  value,
  onChange,
  suggested,
  children,
}: {
  kinds: DictionaryKind<K>[];
  value: DictionarySettings<K>;
  onChange: Dispatch<SetStateAction<DictionarySettings<K>>>;
  suggested: string;
  children?: ReactNode;
}) {
  const set =
    <F extends keyof DictionarySettings<K>>(field: F) =>
    (v: DictionarySettings<K>[F]) =>
      onChange((cur) => ({ ...cur, [field]: v }));
  const kind = kinds.find((k) => k.value === value.kind) ?? kinds[0];
  const { valid } = dictionaryRequest(value, kinds, suggested);
  return (
    <>
      <div className="ms-form-row">
        {children}
        <label>
          Name
          <input
            type="text"
            value={value.name}
            placeholder={suggested}
            onChange={(e) => set('name')(e.target.value)}
            aria-invalid={!valid}
          />
        </label>
        <label>
          Kind
          <select value={value.kind} onChange={(e) => set('kind')(e.target.value as K)}>
            {kinds.map((k) => (
              <option key={k.value} value={k.value}>
                {k.label}
              </option>
            ))}
          </select>
        </label>
        <NumberField
          label="Latents"
          value={value.latents}
          onChange={set('latents')}
          min={1}
          max={65536}
          title="Dictionary size (d_sae)"
        />
        {kind.sparsity === 'k' ? (
          <NumberField label="k" value={value.k} onChange={set('k')} min={1} max={4096} title={kind.title} />
        ) : (
          <NumberField
            label="L1 coefficient"
            value={value.l1}
            onChange={set('l1')}
            min={0}
            step={0.5}
            title={kind.title}
          />
        )}
        <NumberField label="Steps" value={value.steps} onChange={set('steps')} min={1} max={1_000_000} />
        <NumberField
          label="Batch (tokens)"
          value={value.batchSize}
          onChange={set('batchSize')}
          min={1}
          max={65536}
        />
        <NumberField label="Seed" value={value.seed} onChange={set('seed')} min={0} />
      </div>
      {!valid && <p className="ms-form-error">A name uses letters, digits, “.”, “_” and “-” (at most 64).</p>}
    </>
  );
}
