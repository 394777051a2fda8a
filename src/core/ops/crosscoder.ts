/** INTERIM (issue 13 contract): the crosscoder slice replaces this file. */
import { ApiError, type OpParsed } from '../api.js';
import type { Project } from '../store/project.js';
import type { CrosscoderRecord, LatentPage } from '../diff/types.js';
import type { Reporter } from './progress.js';

export async function crosscoderTrainOp(
  _p: Project,
  _req: OpParsed<'crosscoder.train'>,
  _reporter: Reporter,
  _signal?: AbortSignal,
): Promise<CrosscoderRecord> {
  throw new ApiError('failed', 'crosscoder.train: not built yet');
}

export function listCrosscoders(_p: Project): CrosscoderRecord[] {
  return [];
}

export async function crosscoderLatentOp(
  _p: Project,
  _req: OpParsed<'crosscoder.latent'>,
  _reporter: Reporter,
  _signal?: AbortSignal,
): Promise<LatentPage> {
  throw new ApiError('failed', 'crosscoder.latent: not built yet');
}
