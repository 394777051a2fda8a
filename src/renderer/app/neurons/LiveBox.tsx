// "Test your own text": the neuron's activation on each token of what the user types, through a forward
// pass of the checkpoint (`neurons.live`), asked 300 ms after the last keystroke.
import { useEffect, useId, useState } from 'react';
import type { OpInput } from '../../../core/api.js';
import { ErrorState } from '../components/States.js';
import { useQuery } from '../data.js';
import { num } from './format.js';
import { TokenText } from './TokenText.js';

const DEBOUNCE_MS = 300;

export function LiveBox({
  refInput,
  neuron,
  scaleMax,
}: {
  refInput: OpInput<'neurons.page'>['ref'];
  neuron: number;
  scaleMax: number;
}) {
  const id = useId();
  const [text, setText] = useState('');
  const [sent, setSent] = useState('');
  useEffect(() => {
    const t = setTimeout(() => setSent(text), DEBOUNCE_MS);
    return () => clearTimeout(t);
  }, [text]);
  const live = useQuery('neurons.live', sent.trim() ? { ref: refInput, neuron, text: sent } : null);
  const data = sent.trim() ? live.data : undefined;
  const peak =
    data && data.values.length > 0 ? data.values.reduce((m, v, i, a) => (v > a[m] ? i : m), 0) : -1;
  return (
    <div className="ms-live">
      <label htmlFor={`${id}-text`} className="ms-field-label">
        Type text to see neuron {neuron}’s activation on each token (a forward pass of {refInput.checkpoint})
      </label>
      <textarea
        id={`${id}-text`}
        rows={3}
        value={text}
        placeholder="e.g. you jerk, i hate you!"
        onChange={(e) => setText(e.target.value)}
        maxLength={10_000}
      />
      <div
        className="ms-live-out"
        aria-live="polite"
        data-state={live.loading ? 'loading' : data ? 'done' : 'idle'}
      >
        {live.error && sent.trim() ? (
          <ErrorState title="The text could not be run" error={live.error} />
        ) : data && data.tokens.length > 0 ? (
          <>
            <TokenText tokens={data.tokens} values={data.values} max={scaleMax} focus={peak} />
            <p className="ms-muted ms-small">
              {data.tokens.length} tokens; peak {num(data.values[peak])} on{' '}
              {JSON.stringify(data.tokens[peak])}. Colour scale as the top contexts (full colour at{' '}
              {num(scaleMax)}).
              {data.truncated && ' The text was cut to the model’s context length.'}
            </p>
          </>
        ) : (
          <p className="ms-muted ms-small">
            {live.loading ? 'Running…' : 'Activations appear here as you type.'}
          </p>
        )}
      </div>
    </div>
  );
}
