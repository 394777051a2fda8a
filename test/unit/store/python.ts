/**
 * Runs Python snippets against files the store exports, to check that numpy (and pandas, where installed)
 * read them as they are. CI installs python3-numpy; a machine without it skips these checks.
 */
import { spawnSync } from 'node:child_process';

function works(exe: string, module: string): boolean {
  return spawnSync(exe, ['-c', `import ${module}`], { encoding: 'utf8' }).status === 0;
}

const candidates = ['/usr/bin/python3', 'python3'];
/** A Python with numpy, or null. */
export const numpyPython = candidates.find((p) => works(p, 'numpy')) ?? null;
/** A Python with pandas, or null. */
export const pandasPython = candidates.find((p) => works(p, 'pandas')) ?? null;

/** Runs `code` with `args` in sys.argv[1:] and returns its stdout; throws with stderr on failure. */
export function runPython(exe: string, code: string, args: string[] = []): string {
  const r = spawnSync(exe, ['-c', code, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`python failed: ${r.stderr}`);
  return r.stdout;
}
