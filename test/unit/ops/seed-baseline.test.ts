/**
 * The seed baseline beside a match of two SAEs (Paulo & Belrose 2025), on a tiny real project: SAE A's seed
 * twin is trained once, under a folder no SAE name reaches, never listed as a user's SAE; a later match
 * finds it again instead of retraining it; the stored numbers equal a recomputation from the saved weights.
 */
import { statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  encodeSae,
  loadSae,
  matchByActivationCorrelation,
  saeDecoderRows,
  sharedLatents,
  transpose,
  type Sae,
} from '../../../src/core/analysis/index.js';
import { loadTap } from '../../../src/core/ops/tap.js';
import { tokenStrings } from '../../../src/core/ops/features.js';
import type { SaeRecord } from '../../../src/core/ops/sae.js';
import type { Reporter } from '../../../src/core/ops/progress.js';
import { testProject, type TestProject } from './project.js';

const TAP = 'blocks.1.mlp.post';
const side = (checkpoint: string) => ({ checkpoint, tap: TAP });
let t: TestProject;

beforeAll(async () => {
  t = testProject();
  for (const [name, checkpoint] of [
    ['sa', 'base'],
    ['sb', 'dpo'],
  ])
    await t.service.call('sae.train', {
      name,
      ref: side(checkpoint),
      latents: 48,
      k: 8,
      steps: 10,
      batchSize: 256,
      seed: 3,
    });
}, 120_000);
afterAll(() => t?.close());

/** A reporter that keeps the messages. */
function recorder(): Reporter & { lines: string[] } {
  const lines: string[] = [];
  return { lines, progress: () => {}, message: (m) => lines.push(m) };
}

const encoderRows = (s: Sae) => transpose({ data: s.wEnc, rows: s.config.dIn, cols: s.config.dSae });

describe('the seed baseline of a match of two SAEs', () => {
  it('trains A with the next seed once, caches it, and stores numbers equal to a recomputation', async () => {
    const input = { a: side('base'), b: side('dpo'), saeA: 'sa', saeB: 'sb', shuffles: 10 } as const;
    const first = recorder();
    const m = await t.service.call('match', input, { reporter: first });
    const b = m.seedBaseline!;
    expect(b).toBeDefined();
    expect(first.lines.some((l) => l.startsWith('seed baseline: training'))).toBe(true);

    // The twin: A's settings with seed 4, in saes/.seed-twins/, not among the user's SAEs.
    const twin = t.project.store.analyses.list('sae-seed-twin');
    expect(twin).toHaveLength(1);
    const rec = t.project.store.analyses.get<SaeRecord>('sae-seed-twin', twin[0].inputs)!.result;
    const a = (await t.service.call('saes.list', {})).find((s) => s.name === 'sa')!;
    expect(rec.settings).toEqual({ ...a.settings, seed: 4 });
    expect(b.seed).toBe(4);
    expect(b.weightsHash).toBe(rec.weightsHash);
    expect(relative(t.project.saesDir, rec.dir).split(/[\\/]/)[0]).toBe('.seed-twins');
    expect((await t.service.call('saes.list', {})).map((s) => s.name).sort()).toEqual(['sa', 'sb']);

    // Recomputed from the saved weights: the A-A' match with the same options, and the shared latents.
    const tap = await loadTap(t.project, { ...side('base'), probe: 'builtin' });
    const tapB = await loadTap(t.project, { ...side('dpo'), probe: 'builtin' });
    const sa = loadSae(a.dir);
    const sb = loadSae(join(t.project.saesDir, 'sb'));
    const st = loadSae(rec.dir);
    const mt = matchByActivationCorrelation(
      encodeSae(sa, tap.x, { dense: true }),
      encodeSae(st, tap.x, { dense: true }),
      { tokens: tokenStrings(tap), tokenIds: tap.ids, specialIds: tap.specialIds },
    );
    expect(b.seedKept).toBe(mt.kept);
    expect(b.seedShare).toBeCloseTo(mt.kept / 48, 12);
    expect(b.share).toBeCloseTo(m.kept / 48, 12);
    expect(b.seedMeanR).toBe(mt.meanCorrelationFiltered);
    const seeds = sharedLatents(saeDecoderRows(sa), saeDecoderRows(st), 0.7, {
      a: encoderRows(sa),
      b: encoderRows(st),
    });
    expect(b.sharedSeeds).toEqual({
      shared: seeds.shared,
      fraction: seeds.fraction,
      meanCosine: seeds.meanCosine,
      threshold: 0.7,
      encoders: true,
    });
    const ab = sharedLatents(saeDecoderRows(sa), saeDecoderRows(sb), 0.7, {
      a: encoderRows(sa),
      b: encoderRows(sb),
    });
    expect(b.sharedAB!.fraction).toBe(ab.fraction);
    expect(tapB.x.cols).toBe(tap.x.cols);

    // A later match (other shuffles: a new key) finds the twin again: no training, same files.
    const mtime = statSync(join(rec.dir, 'sae_weights.safetensors')).mtimeMs;
    const second = recorder();
    const again = await t.service.call('match', { ...input, shuffles: 5 }, { reporter: second });
    expect(second.lines.some((l) => l.startsWith('seed baseline: training'))).toBe(false);
    expect(again.seedBaseline!.weightsHash).toBe(rec.weightsHash);
    expect(again.seedBaseline!.sharedSeeds).toEqual(b.sharedSeeds);
    expect(statSync(join(rec.dir, 'sae_weights.safetensors')).mtimeMs).toBe(mtime);
    expect(t.project.store.analyses.list('sae-seed-twin')).toHaveLength(1);

    // The stored match answers the same request, baseline included; switched off, there is none.
    const stored = await t.service.call('analyses.get', { kind: 'match', inputs: input });
    expect((stored!.result as { seedBaseline?: unknown }).seedBaseline).toEqual(
      JSON.parse(JSON.stringify(b)),
    );
    const off = await t.service.call('match', { ...input, seedBaseline: false });
    expect(off.seedBaseline).toBeUndefined();
    expect(off.kept).toBe(m.kept);
  }, 120_000);
});
