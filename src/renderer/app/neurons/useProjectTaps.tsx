// The checkpoints and recordings of the open project, reloaded when a training or recording job ends, as
// the Neurons, Heatmap and Features views start from them: loaded, or the state to show until they are.
import type { ReactNode } from 'react';
import { ErrorState, Loading } from '../components/States.js';
import { useReloadOnJobEnd, useQuery } from '../data.js';
import { NoProject, isNoProject } from '../project/NoProject.js';
import type { ViewInfo } from '../views.js';
import type { CheckpointInfo, RecordingInfo } from './taps.js';

export type ProjectTaps =
  | { kind: 'ready'; checkpoints: CheckpointInfo[]; recordings: RecordingInfo[] }
  /** No project open: the whole view is `element`. */
  | { kind: 'no-project'; element: ReactNode }
  /** The error with a retry, loading, or no checkpoint yet: `element` goes inside the view's frame. */
  | { kind: 'pending'; element: ReactNode };

/**
 * `checkpoints.list` and `recordings.list`, kept fresh across `train` and `record` jobs: ready once both
 * are loaded and the project has a checkpoint; else what `view` shows instead (`empty` when the project
 * has no checkpoint yet).
 */
export function useProjectTaps(view: ViewInfo, empty: ReactNode): ProjectTaps {
  const checkpoints = useQuery('checkpoints.list', {});
  const recordings = useQuery('recordings.list', {});
  useReloadOnJobEnd(checkpoints.reload, ['train']);
  useReloadOnJobEnd(recordings.reload, ['record', 'train']);
  const error = checkpoints.error ?? recordings.error;
  if (error && isNoProject(error))
    return { kind: 'no-project', element: <NoProject view={view} error={error} /> };
  if (error) {
    const retry = () => {
      checkpoints.reload();
      recordings.reload();
    };
    return {
      kind: 'pending',
      element: <ErrorState title="The project could not be read" error={error} onRetry={retry} />,
    };
  }
  if (!checkpoints.data || !recordings.data)
    return { kind: 'pending', element: <Loading what="checkpoints and recordings" /> };
  if (checkpoints.data.length === 0) return { kind: 'pending', element: empty };
  return { kind: 'ready', checkpoints: checkpoints.data, recordings: recordings.data };
}

/** The error of a view opened on a checkpoint the project does not have. */
export function UnknownCheckpoint({ name, checkpoints }: { name: string; checkpoints: CheckpointInfo[] }) {
  return (
    <ErrorState
      title={`No checkpoint named '${name}'`}
      error={`The project has ${checkpoints.map((c) => c.name).join(', ')}.`}
    />
  );
}
