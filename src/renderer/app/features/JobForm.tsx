// The Features view's forms: a form that starts a job (submit button, then the job's progress or its
// failure), and the shuffles and seed of a permutation null.
import { useState, type ReactNode } from 'react';
import { NumberField } from '../components/NumberField.js';
import { ErrorState } from '../components/States.js';
import type { JobView } from '../data.js';
import { JobProgress } from '../neurons/JobProgress.js';

/** A form that starts a job when submitted (not while one runs, nor while `valid` is false). */
export function JobForm({
  run,
  onSubmit,
  submitLabel,
  failedTitle,
  valid = true,
  children,
}: {
  run: { job: JobView | undefined; running: boolean; error: Error | undefined; cancel: () => void };
  onSubmit: () => void;
  submitLabel: ReactNode;
  /** The heading of the error shown when the job fails. */
  failedTitle: string;
  valid?: boolean;
  children: ReactNode;
}) {
  return (
    <>
      <form
        className="ms-form"
        onSubmit={(e) => {
          e.preventDefault();
          if (valid && !run.running) onSubmit();
        }}
      >
        {children}
        <button type="submit" className="ms-primary" disabled={!valid || run.running}>
          {submitLabel}
        </button>
      </form>
      {run.job && run.running && <JobProgress job={run.job} onCancel={run.cancel} />}
      {run.error && <ErrorState title={failedTitle} error={run.error} />}
    </>
  );
}

/** The permutations of a null (0: none) and the seed that draws them, with their setters. */
export interface NullSettings {
  shuffles: number;
  seed: number;
  setShuffles: (v: number) => void;
  setSeed: (v: number) => void;
}

/** A panel's null settings, starting from the remembered input's (else 1,000 shuffles, seed 0). */
export function useNullSettings(last: { shuffles?: number; seed?: number } | undefined): NullSettings {
  const [shuffles, setShuffles] = useState(last?.shuffles ?? 1000);
  const [seed, setSeed] = useState(last?.seed ?? 0);
  return { shuffles, seed, setShuffles, setSeed };
}

/** The shuffles and seed fields of a null. */
export function NullFields({
  settings,
  title,
}: {
  settings: NullSettings;
  /** What is shuffled, on hover of the shuffles field. */
  title: string;
}) {
  return (
    <>
      <NumberField
        label="Shuffles"
        value={settings.shuffles}
        onChange={settings.setShuffles}
        min={0}
        max={100000}
        title={title}
      />
      <NumberField label="Seed" value={settings.seed} onChange={settings.setSeed} min={0} />
    </>
  );
}
