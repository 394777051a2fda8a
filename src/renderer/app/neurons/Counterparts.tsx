// The same neuron in the project's other checkpoints (`neurons.counterparts`): its statistics there, how
// well the same index correlates with this one, and the best-matching neuron there. Asked only once the
// panel scrolls into view, since it reads the other recordings whole.
import { useEffect, useRef, useState } from 'react';
import type { OpInput } from '../../../core/api.js';
import { ErrorState, Loading } from '../components/States.js';
import { useQuery } from '../data.js';
import { dec3, num, pct, signed } from './format.js';

type Ref = OpInput<'neurons.page'>['ref'];

export function Counterparts({
  refInput,
  neuron,
  density,
  onOpen,
}: {
  refInput: Ref;
  neuron: number;
  /** This neuron's density, for the differences. */
  density: number;
  onOpen: (checkpoint: string, neuron: number) => void;
}) {
  const box = useRef<HTMLDivElement>(null);
  const [seen, setSeen] = useState(false);
  useEffect(() => {
    const el = box.current;
    if (!el || seen) return;
    const io = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) setSeen(true);
    });
    io.observe(el);
    return () => io.disconnect();
  }, [seen]);
  const q = useQuery('neurons.counterparts', seen ? { ref: refInput, neuron } : null);
  return (
    <div ref={box} className="ms-counterparts">
      {q.error ? (
        <ErrorState title="Counterparts could not be read" error={q.error} onRetry={q.reload} />
      ) : !q.data || q.loading ? (
        <Loading what="the same neuron in the other checkpoints" />
      ) : q.data.length === 0 ? (
        <p className="ms-muted">
          No other checkpoint has this tap recorded over the same probe set with the same width.
        </p>
      ) : (
        <table className="ms-table">
          <thead>
            <tr>
              <th>Checkpoint</th>
              <th className="num" title="Mean activation of the same index there">
                Mean
              </th>
              <th className="num">Max</th>
              <th className="num" title="Share of tokens with activation > 0">
                Density
              </th>
              <th className="num" title="Density there minus density here">
                Δ density
              </th>
              <th
                className="num"
                title="Pearson r between this neuron and the same index there, on the same probe tokens"
              >
                r (same index)
              </th>
              <th title="The neuron there whose activations correlate best with this one’s">Best match</th>
              <th className="num">r (best)</th>
            </tr>
          </thead>
          <tbody>
            {q.data.map((c) => (
              <tr key={c.checkpoint}>
                <td>
                  <button type="button" className="ms-link" onClick={() => onOpen(c.checkpoint, neuron)}>
                    {c.checkpoint}
                  </button>
                </td>
                <td className="num">{num(c.stats.mean)}</td>
                <td className="num">{num(c.stats.max)}</td>
                <td className="num">{pct(c.stats.density)}</td>
                <td className="num">{signed(c.stats.density - density)}</td>
                <td className="num">{dec3(c.sameIndexR)}</td>
                <td>
                  {c.bestMatch.neuron >= 0 ? (
                    <button
                      type="button"
                      className="ms-link"
                      onClick={() => onOpen(c.checkpoint, c.bestMatch.neuron)}
                    >
                      neuron {c.bestMatch.neuron}
                      {c.bestMatch.neuron === neuron ? ' (same)' : ''}
                    </button>
                  ) : (
                    '—'
                  )}
                </td>
                <td className="num">{dec3(c.bestMatch.r)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
