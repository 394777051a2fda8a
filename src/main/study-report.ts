/**
 * `monoscope study report` (slice R writes it; this placeholder keeps the engine's branch building and is
 * replaced by slice R's file at merge).
 */
import type { Reporter } from '../core/ops/progress.js';

export async function writeStudyReport(
  _projectDir: string,
  _o: { name?: string; out: string; csv?: string },
  _reporter?: Reporter,
): Promise<{ html: string; files: string[] }> {
  throw new Error('study report: not built yet');
}
