// The Features view's forms: a form that starts a job (submit button, then the job's progress or its
// failure), and the shuffles and seed of a permutation null.
import type { ReactNode } from 'react';
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

/** The permutations of a null (0: none) and the seed that draws them. */
export function NullFields({
  shuffles,
  onShuffles,
  seed,
  onSeed,
  title,
}: {
  shuffles: number;
  onShuffles: (v: number) => void;
  seed: number;
  onSeed: (v: number) => void;
  /** What is shuffled, on hover of the shuffles field. */
  title: string;
}) {
  return (
    <>
      <NumberField
        label="Shuffles"
        value={shuffles}
        onChange={onShuffles}
        min={0}
        max={100000}
        title={title}
      />
      <NumberField label="Seed" value={seed} onChange={onSeed} min={0} />
    </>
  );
}
