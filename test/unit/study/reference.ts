/**
 * Runs test/python/study_stats.py, the independent numpy/SciPy/pandas reference of the study's statistics,
 * with /usr/bin/python3. A machine without SciPy (or pandas) skips the checks that need it.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const PY = '/usr/bin/python3';
const SCRIPT = join(import.meta.dirname, '../../python/study_stats.py');

/** Whether /usr/bin/python3 imports `modules` (comma-separated). */
export const hasModule = (modules: string) =>
  spawnSync(PY, ['-c', `import ${modules}`], { encoding: 'utf8' }).status === 0;
/** Whether it has numpy and SciPy (`stats`), and pandas too (`summary`). */
export const hasScipy = hasModule('numpy, scipy');
export const hasPandas = hasModule('numpy, scipy, pandas');

/** Runs the script with `args` and parses its JSON output (NaN comes back as null). */
export function studyStats<T>(...args: string[]): T {
  const r = spawnSync(PY, [SCRIPT, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`study_stats.py ${args[0]} failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}
