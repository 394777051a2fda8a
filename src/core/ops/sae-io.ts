/** INTERIM (issue 13 contract): the SAE formats slice replaces this file. */
import { ApiError, type OpParsed } from '../api.js';
import type { Project } from '../store/project.js';
import type { SaeRecord } from './sae.js';
import type { Reporter } from './progress.js';

export async function saeExportOp(
  _p: Project,
  _req: OpParsed<'sae.export'>,
  _reporter: Reporter,
): Promise<{ dir: string; files: string[] }> {
  throw new ApiError('failed', 'sae.export: not built yet');
}

export async function saeImportOp(
  _p: Project,
  _req: OpParsed<'sae.import'>,
  _reporter: Reporter,
  _signal?: AbortSignal,
): Promise<SaeRecord> {
  throw new ApiError('failed', 'sae.import: not built yet');
}
