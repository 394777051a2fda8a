// The Python references' own checks (test/python/reference/test_*.py): causality, closed forms (RoPE's
// relative-position property, RMSNorm of a constant vector, sliding windows), every weight mattering, and
// the safetensors writer/reader against torch's own casts. The TypeScript comparisons trust these. And the
// interpreter the tests keep for run.py (test/helpers/python-script.ts) reports a failed call as a program
// run would, and answers the next call; one that dies is reported with what it wrote.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { makeReferenceCheckpoint } from './reference.js';
import { runScript } from '../../../helpers/python-script.js';

it('the float64 PyTorch references pass their self-checks', () => {
  const r = spawnSync(
    '/usr/bin/python3',
    [
      '-m',
      'unittest',
      'discover',
      '-s',
      join(import.meta.dirname, '../../../python/reference'),
      '-p',
      'test_*.py',
    ],
    { encoding: 'utf8' },
  );
  expect(r.status, r.stderr).toBe(0);
  expect(r.stderr).toMatch(/Ran \d+ tests/);
});

it('a failed call of the kept interpreter throws with its message, and the next call succeeds', () => {
  const dir = mkdtempSync(join(tmpdir(), 'monoscope-served-'));
  try {
    expect(() => makeReferenceCheckpoint('no_such_type', join(dir, 'bad'))).toThrow(
      /reference make failed: unknown model_type 'no_such_type'; the references handle .*gpt2/,
    );
    expect(() => makeReferenceCheckpoint('gpt2', join(dir, 'bad'), { set: { n_embd: 'x' } })).toThrow(
      /reference make failed: Traceback/,
    );
    makeReferenceCheckpoint('gpt2', join(dir, 'good'));
    expect(existsSync(join(dir, 'good', 'model.safetensors'))).toBe(true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

it('a kept interpreter that dies is reported with what it wrote, and the next call starts another', () => {
  const dir = mkdtempSync(join(tmpdir(), 'monoscope-served-'));
  try {
    const script = join(dir, 'dies.py');
    writeFileSync(
      script,
      'import os, sys\n\ndef main():\n    if sys.argv[1] == "die":\n        os.write(2, b"going\\n"); os._exit(3)\n    print("alive", sys.argv[1])\n',
    );
    expect(runScript(script, ['one'])).toEqual({ status: 0, stdout: 'alive one\n', stderr: '' });
    expect(() => runScript(script, ['die'])).toThrow(/the Python serving .*dies\.py ended: going/);
    expect(runScript(script, ['two']).stdout).toBe('alive two\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
