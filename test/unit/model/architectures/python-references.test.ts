// The Python references' own checks (test/python/reference/test_*.py): causality, closed forms (RoPE's
// relative-position property, RMSNorm of a constant vector, sliding windows), every weight mattering, and
// the safetensors writer/reader against torch's own casts. The TypeScript comparisons trust these.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect, it } from 'vitest';

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
