// The metric glossary: TRL's names, one line each, with how to read the confusing ones.
import { METRICS } from '../../../shared/specs/metrics.js';

export function Glossary() {
  return (
    <dl className="glossary">
      {METRICS.map((m) => (
        <div key={m.name}>
          <dt className="mono">{m.name}</dt>
          <dd>
            {m.what}
            {m.note && <span className="note"> {m.note}</span>}
          </dd>
        </div>
      ))}
      <div>
        <dt className="mono">eval_*</dt>
        <dd>The same metrics on held-out pairs, evaluated every few steps; drawn dashed.</dd>
      </div>
    </dl>
  );
}
