// `monoscope analyze lens` (the `diff.lens` operation) from the built CLI on a small project: its --json is
// the result the store keeps, a second run answers from the store, and the terminal form prints the
// promoted and suppressed tokens of each layer.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from './cli.js';
import { testProject, type TestProject } from '../unit/ops/project.js';

let t: TestProject;
beforeAll(() => {
  t = testProject();
});
afterAll(() => t.close());

const args = () => ['analyze', 'lens', '--project', t.dir, '--a', 'base', '--b', 'dpo', '--top-k', '3'];

describe('analyze lens', () => {
  it('prints as JSON the result it stores, and answers again from the store', () => {
    const r = cli([...args(), '--json']);
    expect(r.code, r.stderr).toBe(0);
    const fromCli = JSON.parse(r.stdout);
    const entries = t.project.store.analyses.list('diff-lens');
    expect(entries).toHaveLength(1);
    const stored = t.project.store.analyses.get('diff-lens', entries[0].inputs)!.result;
    expect(fromCli).toEqual(stored);
    expect(fromCli).toMatchObject({ a: 'base', b: 'dpo', probe: 'builtin' });
    expect(fromCli.layers.map((l: { tap: string }) => l.tap)).toEqual([
      'blocks.0.resid_post',
      'blocks.1.resid_post',
    ]);
    for (const l of fromCli.layers) {
      expect(l.promoted).toHaveLength(3);
      expect(l.suppressed).toHaveLength(3);
      expect(l.promoted[0].logit).toBeGreaterThan(l.suppressed[0].logit);
    }

    const text = cli(args());
    expect(text.code, text.stderr).toBe(0);
    expect(t.project.store.analyses.list('diff-lens')).toHaveLength(1);
    for (const l of fromCli.layers) {
      expect(text.stdout).toContain(`${l.tap}: ‖δ‖`);
      expect(text.stdout).toContain(l.promoted[0].token);
    }
  });
});
