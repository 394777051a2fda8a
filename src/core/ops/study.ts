/**
 * `monoscope study` (INTERIM: the engine is being written; see study/types.ts for the contract).
 */
import type { OpParsed } from '../api.js';
import type { Project } from '../store/project.js';
import type { StudyView } from '../study/types.js';
import type { Reporter } from './progress.js';

export async function studyOp(
  _project: Project,
  _req: OpParsed<'study'>,
  _reporter: Reporter,
  _signal?: AbortSignal,
): Promise<StudyView> {
  throw new Error('study: not built yet');
}

export function studyGet(_project: Project, _name: string | undefined): StudyView | null {
  throw new Error('study: not built yet');
}
