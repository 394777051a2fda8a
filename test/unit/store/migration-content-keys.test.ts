// Migration 005 moves a store whose analyses are keyed by names (schema 4) to keys by content, and the
// operations then find every analysis it could re-key without computing it again.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { analysisKey, canonicalJson } from '../../../src/core/store/analyses.js';
import { openProject } from '../../../src/core/store/project.js';
import { latestSchemaVersion } from '../../../src/core/store/store.js';
import { createService } from '../../../src/core/service.js';
import { testProject, writeCheckpoint, type TestProject } from '../ops/project.js';

const TAP = 'blocks.1.mlp.post';
const ref = (checkpoint: string) => ({ checkpoint, tap: TAP });
const COMPARE = { checkpoints: ['base', 'dpo'], task: 'none' } as const;
const SAE = { name: 's', ref: ref('base'), latents: 64, steps: 5 };

type Inputs = Record<string, unknown> & {
  a?: Record<string, unknown>;
  b?: Record<string, unknown>;
  checkpointHash?: string;
};

/**
 * Rewrites every analysis of the project's store as the code of schema 4 keyed it (checkpoint names beside
 * their hashes, SAEs by name, raw match options, a comparison by its request, an SAE record by its training
 * request) and sets the schema version back to 4.
 */
function downgrade(dir: string, names: Map<string, string>, saeNames: Map<string, string>): void {
  const db = new Database(join(dir, 'monoscope.db'));
  const withName = (t: Record<string, unknown>) => ({
    checkpoint: names.get(t.checkpointHash as string),
    ...t,
  });
  const rows = db.prepare('SELECT key, kind, inputs, result FROM analyses').all() as {
    key: string;
    kind: string;
    inputs: string;
    result: string;
  }[];
  db.transaction(() => {
    for (const r of rows) {
      const i = JSON.parse(r.inputs) as Inputs;
      let result = JSON.parse(r.result);
      let old: object;
      if (['correlation', 'monosemanticity', 'sparsity'].includes(r.kind)) old = withName(i);
      else if (r.kind === 'similarity') old = { ...i, a: withName(i.a!), b: withName(i.b!) };
      else if (r.kind === 'match')
        old = {
          ...i,
          a: withName(i.a!),
          b: withName(i.b!),
          saeA: i.saeA && saeNames.get(i.saeA as string),
          saeB: i.saeB && saeNames.get(i.saeB as string),
          options: {},
        };
      else if (r.kind === 'compare') old = COMPARE;
      else if (r.kind === 'sae') {
        const { source, settings, weightsHash: _, ...record } = result;
        result = record;
        old = {
          ...withName(source),
          name: i.name,
          kind: settings.kind,
          latents: settings.latents,
          steps: settings.steps,
          seed: 0,
        };
      } else continue;
      const key = analysisKey(r.kind, old);
      db.prepare(
        'INSERT INTO analyses (key, kind, inputs, result, created_at) SELECT ?, kind, ?, ?, created_at FROM analyses WHERE key = ?',
      ).run(key, canonicalJson(old), JSON.stringify(result), r.key);
      db.prepare('UPDATE analysis_blobs SET analysis_key = ? WHERE analysis_key = ?').run(key, r.key);
      db.prepare('DELETE FROM analyses WHERE key = ?').run(r.key);
    }
    db.exec('ALTER TABLE probe_sequences DROP COLUMN ambiguous'); // added by migration 007
    // Added by migration 008.
    db.exec('DROP INDEX checkpoints_by_source');
    for (const c of ['source', 'copied', 'arch', 'n_params', 'dtype', 'bytes'])
      db.exec(`ALTER TABLE checkpoints DROP COLUMN ${c}`);
    db.pragma('user_version = 4');
  })();
  db.close();
}

let t: TestProject;
beforeEach(() => {
  t = testProject();
});
afterEach(() => t.close());

describe('migration 005: analyses keyed by content', () => {
  it('re-keys the analyses of a schema-4 store so that the same requests find them', async () => {
    const s = t.service;
    const sim = await s.call('similarity', { a: ref('base'), b: ref('dpo'), measure: 'rsa', shuffles: 5 });
    const corr = await s.call('correlation.matrix', { ref: ref('dpo') });
    const neuronMatch = { a: ref('base'), b: ref('dpo'), shuffles: 0 };
    await s.call('match', neuronMatch);
    const matched = await s.call('match', neuronMatch); // as the store gives it back (NaN reads as null)
    const sae = await s.call('sae.train', SAE);
    await s.call('match', { ...neuronMatch, saeA: 's' });
    const compared = await s.call('compare', COMPARE);
    const names = new Map(t.project.store.checkpoints.list().map((c) => [c.hash, c.name]));
    const kinds = t.project.store.analyses
      .list()
      .map((a) => a.kind)
      .sort();
    t.service.close();

    downgrade(t.dir, names, new Map([[sae.weightsHash!, 's']]));
    const project = openProject(t.dir);
    const service = createService(project);
    t = { ...t, project, service };
    expect(project.store.schemaVersion).toBe(latestSchemaVersion());
    // Everything but the match keyed by an SAE's name is still there.
    const left = project.store.analyses
      .list()
      .map((a) => a.kind)
      .sort();
    expect(left).toEqual(
      kinds
        .filter((k) => k !== 'match')
        .concat('match')
        .sort(),
    );
    expect(kinds.filter((k) => k === 'match')).toHaveLength(2);

    const simAgain = await service.call('similarity', {
      a: ref('base'),
      b: ref('dpo'),
      measure: 'rsa',
      shuffles: 5,
    });
    expect(simAgain).toEqual({ ...sim, reused: true, nullDistribution: sim.nullDistribution });
    expect(await service.call('correlation.matrix', { ref: ref('dpo') })).toEqual(corr);
    expect(await service.call('match', neuronMatch)).toEqual(matched);
    const stored = await service.call('analyses.get', { kind: 'compare', inputs: COMPARE });
    expect(stored?.result).toEqual(compared);
    // The SAE keeps its record, now with its settings, and the same request returns it without training.
    const [listed] = await service.call('saes.list', {});
    expect(listed).toMatchObject({ name: 's', weightsHash: sae.weightsHash, settings: sae.settings });
    expect((await service.call('sae.train', SAE)).seconds).toBe(sae.seconds);
    const integrity = project.store.integrityCheck();
    expect(integrity).toEqual(['ok']);
  });

  it('drops a comparison whose checkpoint was recorded with other weights after it', async () => {
    await t.service.call('compare', COMPARE);
    const names = new Map(t.project.store.checkpoints.list().map((c) => [c.hash, c.name]));
    names.set(writeCheckpoint(t.project, 'dpo', 9, 'dpo'), 'dpo');
    await t.service.call('record', { checkpoint: 'dpo', taps: TAP });
    t.service.close();

    downgrade(t.dir, names, new Map());
    const project = openProject(t.dir);
    t = { ...t, project, service: createService(project) };
    expect(project.store.analyses.list('compare')).toEqual([]);
    expect(project.store.analyses.list('similarity').length).toBeGreaterThan(0);
  });
});
