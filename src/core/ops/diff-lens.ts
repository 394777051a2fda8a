/** INTERIM (issue 13 contract): the lens slice replaces this file. */
import { ApiError, type OpParsed } from '../api.js';
import type { Project } from '../store/project.js';
import type { DiffLensResult } from '../diff/types.js';
import type { Reporter } from './progress.js';

export async function diffLensOp(
  _p: Project,
  _req: OpParsed<'diff.lens'>,
  _reporter: Reporter,
  _signal?: AbortSignal,
): Promise<DiffLensResult> {
  throw new ApiError('failed', 'diff.lens: not built yet');
}
