// SVCCA or RSA between two taps over the same probe tokens (`similarity` job), with the permutation null,
// its histogram and the p-value with its formula. The SVCCA mode is labelled as the result labels it.
import { useState } from 'react';
import { JobForm, NullFields, useNullSettings } from './JobForm.js';
import { NullResult } from './NullResult.js';
import { useRememberedRun } from './results.js';
import { SidePair, refOf, type SidesPanelProps, useSides } from './TapFields.js';

export function SimilarityPanel({ checkpoints, recordings, initial }: Omit<SidesPanelProps, 'saes'>) {
  const { last, run, sent } = useRememberedRun('similarity', checkpoints);
  const sides = useSides(last, initial);
  const [measure, setMeasure] = useState<'svcca' | 'rsa'>(last?.measure ?? 'svcca');
  const [mode, setMode] = useState<'svcca' | 'svcca-paper-compat'>(last?.mode ?? 'svcca');
  const nulls = useNullSettings(last);
  const [maxTokens, setMaxTokens] = useState<number | ''>(last?.maxTokens ?? '');
  const submit = () =>
    run.start({
      a: refOf(sides.a),
      b: refOf(sides.b),
      measure,
      ...(measure === 'svcca' ? { mode } : {}),
      shuffles: nulls.shuffles,
      seed: nulls.seed,
      ...(maxTokens === '' ? {} : { maxTokens }),
    });
  const r = run.result;
  return (
    <div className="ms-features-panel">
      <JobForm
        run={run}
        onSubmit={submit}
        submitLabel={`Compute ${measure === 'svcca' ? 'SVCCA' : 'RSA'}`}
        failedTitle="The similarity could not be computed"
      >
        <SidePair sides={sides} checkpoints={checkpoints} recordings={recordings} />
        <div className="ms-form-row">
          <label>
            Measure
            <select value={measure} onChange={(e) => setMeasure(e.target.value as 'svcca' | 'rsa')}>
              <option value="svcca">SVCCA</option>
              <option value="rsa">RSA</option>
            </select>
          </label>
          {measure === 'svcca' && (
            <label title="SVCCA keeps the directions that explain 99% of the variance (Raghu et al.); the compatibility mode keeps one, as the authors' code does">
              Mode
              <select
                value={mode}
                onChange={(e) => setMode(e.target.value as 'svcca' | 'svcca-paper-compat')}
              >
                <option value="svcca">SVCCA (99% variance directions)</option>
                <option value="svcca-paper-compat">SVCCA paper-compat (k = 1, the authors’ code)</option>
              </select>
            </label>
          )}
          <NullFields settings={nulls} title="Permutations of B's rows for the null (0: none)" />
          <label title="Probe tokens used, a seeded sample of the non-special ones (default 4,000 for SVCCA, 1,000 for RSA, whose RDM is n × n)">
            Max tokens
            <input
              type="number"
              min={1}
              max={50000}
              placeholder={measure === 'rsa' ? '1000' : '4000'}
              value={maxTokens}
              onChange={(e) => setMaxTokens(e.target.value === '' ? '' : Number(e.target.value))}
            />
          </label>
        </div>
        <p className="ms-what">
          Datapoints are the probe’s tokens, the same for A and B. The null keeps A and shuffles B’s tokens: a
          score far above it means the two representations share structure beyond chance.
        </p>
      </JobForm>
      {r && sent && (
        <section className="ms-panel ms-result" data-result="similarity" aria-label="Similarity result">
          <h3>
            {sent.a.checkpoint} <code>{sent.a.tap}</code> vs {sent.b.checkpoint} <code>{sent.b.tap}</code>{' '}
            <span className="ms-muted ms-small">{r.reused ? '(read from the store)' : '(computed)'}</span>
          </h3>
          <NullResult
            title={
              r.measure === 'svcca'
                ? r.mode === 'svcca-paper-compat'
                  ? 'SVCCA (paper-compat)'
                  : 'SVCCA'
                : 'RSA'
            }
            result={r}
            nullHistogram={r.nullHistogram}
            statistic={r.measure === 'svcca' ? 'SVCCA' : 'RSA'}
            fileName={`${r.measure}-${sent.a.checkpoint}-${sent.b.checkpoint}-null`}
            caption={{
              A: `${sent.a.checkpoint} ${sent.a.tap}`,
              B: `${sent.b.checkpoint} ${sent.b.tap}`,
              ...(r.mode ? { mode: r.mode } : {}),
              seed: sent.seed ?? 0,
            }}
          />
        </section>
      )}
    </div>
  );
}
