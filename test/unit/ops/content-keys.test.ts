// Stored analyses are keyed by content (weights, SAE weights, probe hashes) and normalised options: the same
// request from any entry point hits one row, and changed weights never serve an old result.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseInput } from '../../../src/core/api.js';
import { compareOp } from '../../../src/core/ops/compare.js';
import { testProject, writeCheckpoint, type TestProject } from './project.js';

const TAP = 'blocks.1.mlp.post';
const ref = (checkpoint: string) => ({ checkpoint, tap: TAP });

let t: TestProject;
beforeEach(() => {
  t = testProject();
});
afterEach(() => t.close());

describe('content identity of stored analyses', () => {
  it('a checkpoint whose weights changed is recorded again before it is analysed', async () => {
    const before = await t.service.call('correlation.matrix', { ref: ref('base') });
    const newHash = writeCheckpoint(t.project, 'base', 7);
    const after = await t.service.call('correlation.matrix', { ref: ref('base') });
    expect(after.summary.meanAbsOffDiagonal).not.toBeCloseTo(before.summary.meanAbsOffDiagonal, 6);
    const recs = await t.service.call('recordings.list', { checkpoint: 'base' });
    expect(recs.map((r) => r.checkpointHash)).toEqual([newHash]);
  });

  it('compare stores its own result, and analyses.get finds it with the input the Compare view sends', async () => {
    // The CLI and the demo call the operation itself, not the service handler.
    const computed = await compareOp(
      t.project,
      parseInput('compare', { checkpoints: ['base', 'dpo'], task: 'none' }),
    );
    const stored = await t.service.call('analyses.get', {
      kind: 'compare',
      inputs: { checkpoints: ['base', 'dpo'], task: 'none' },
    });
    expect(stored?.kind).toBe('compare');
    expect(stored?.result).toEqual(computed);
  });

  it('a stored comparison is not served once a compared checkpoint has other weights', async () => {
    const input = { checkpoints: ['base', 'dpo'], task: 'none' } as const;
    const first = await t.service.call('compare', input);
    writeCheckpoint(t.project, 'dpo', 9, 'dpo');
    expect(await t.service.call('analyses.get', { kind: 'compare', inputs: input })).toBeNull();
    const second = await t.service.call('compare', input);
    const svcca = (r: typeof first) => r.rows.filter((x) => x.checkpoint === 'dpo').map((x) => x.svccaToBase);
    expect(svcca(second)).not.toEqual(svcca(first));
  });

  it('a comparison is found again under other names of the same weights, and names them as asked', async () => {
    const first = await t.service.call('compare', { checkpoints: ['base', 'dpo'], task: 'none' });
    writeCheckpoint(t.project, 'copy', 2, 'dpo'); // the weights of `dpo` under another name
    const again = await t.service.call('compare', { checkpoints: ['base', 'copy'], task: 'none' });
    expect(t.project.store.analyses.list('compare')).toHaveLength(1);
    expect(again.rows.map((r) => r.checkpoint)).toEqual(
      first.rows.map((r) => (r.checkpoint === 'dpo' ? 'copy' : r.checkpoint)),
    );
    expect(again.rows.map((r) => r.svccaToBase)).toEqual(first.rows.map((r) => r.svccaToBase));
  });

  it('a similarity is found again under other checkpoint names with the same weights', async () => {
    const a = await t.service.call('similarity', {
      a: ref('base'),
      b: ref('dpo'),
      measure: 'rsa',
      shuffles: 0,
    });
    expect(a.reused).toBe(false);
    writeCheckpoint(t.project, 'copy', 2, 'dpo'); // the weights of `dpo` under another name
    const b = await t.service.call('similarity', {
      a: ref('base'),
      b: ref('copy'),
      measure: 'rsa',
      shuffles: 0,
    });
    expect(b.reused).toBe(true);
    expect(b.score).toBe(a.score);
  });
});

describe('SAEs', () => {
  const sae = { name: 's', ref: ref('base'), latents: 64, steps: 5 };

  it('the TopK default k is 32, and the defaults spelled out hit the same SAE', async () => {
    const first = await t.service.call('sae.train', sae);
    const cfg = JSON.parse(readFileSync(join(first.dir, 'cfg.json'), 'utf8'));
    expect(cfg.k).toBe(32);
    const again = await t.service.call('sae.train', {
      ...sae,
      kind: 'topk',
      k: 32,
      batchSize: 1024,
      seed: 0,
    });
    expect(again.seconds).toBe(first.seconds); // the stored record, not a second training
  });

  it('a name in use with other settings is refused, and --overwrite drops what the old weights made', async () => {
    await t.service.call('sae.train', sae);
    const match = { a: ref('base'), b: ref('dpo'), saeA: 's', shuffles: 0 };
    expect((await t.service.call('match', match)).reused).toBe(false);
    expect((await t.service.call('match', match)).reused).toBe(true);

    await expect(t.service.call('sae.train', { ...sae, latents: 48 })).rejects.toMatchObject({
      code: 'conflict',
      message: expect.stringContaining("'s'"),
    });
    expect(t.project.store.analyses.list('match')).toHaveLength(1);

    const replaced = await t.service.call('sae.train', { ...sae, latents: 48, overwrite: true });
    expect(replaced.dSae).toBe(48);
    expect(t.project.store.analyses.list('match')).toHaveLength(0);
    expect((await t.service.call('saes.list', {})).map((s) => [s.name, s.dSae])).toEqual([['s', 48]]);
    const rematched = await t.service.call('match', match);
    expect(rematched.reused).toBe(false);
    expect(existsSync(join(t.dir, 'saes', 's', 'cfg.json'))).toBe(true);
  });
});
