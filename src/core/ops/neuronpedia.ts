/** INTERIM (issue 13 contract): the Neuronpedia slice replaces this file. */
import { ApiError, type OpParsed } from '../api.js';
import type { Project } from '../store/project.js';
import type { Reporter } from './progress.js';

export async function neuronpediaExportOp(
  _p: Project,
  _req: OpParsed<'neuronpedia.export'>,
  _reporter: Reporter,
  _signal?: AbortSignal,
): Promise<{ dir: string; files: string[]; latents: number }> {
  throw new ApiError('failed', 'neuronpedia.export: not built yet');
}
