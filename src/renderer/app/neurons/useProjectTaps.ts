// The checkpoints and recordings of the open project, reloaded when a training or recording job ends.
import { useReloadOnJobEnd, useQuery } from '../data.js';

/** `checkpoints.list` and `recordings.list`, kept fresh across `train` and `record` jobs. */
export function useProjectTaps() {
  const checkpoints = useQuery('checkpoints.list', {});
  const recordings = useQuery('recordings.list', {});
  useReloadOnJobEnd(checkpoints.reload, ['train']);
  useReloadOnJobEnd(recordings.reload, ['record', 'train']);
  return { checkpoints, recordings };
}
