// `monoscope analyze crosscoder` on a small project (tiny random checkpoints base, dpo, decpo): the --json
// record is the one the store keeps, its Δ are those of the saved decoder; the same request returns it,
// other settings are refused without --overwrite, a second writer is refused while one holds the name; a
// latent page's numbers equal those recomputed here in float64 from the saved weights and the recorded taps;
// bad checkpoints are refused with the field named; the seed baseline never replaces a user's crosscoder.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli } from './cli.js';
import { testProject, writeCheckpoint, type TestProject } from '../unit/ops/project.js';
import { gptConfig, initParamArrays } from '../../src/core/model/arch/gpt2.js';
import { saveCheckpoint } from '../../src/core/model/checkpoint.js';
import { readSafetensors } from '../../src/core/model/safetensors.js';
import { worldTokenizer } from '../../src/core/data/world.js';
import { openProject } from '../../src/core/store/project.js';
import { createService } from '../../src/core/service.js';
import { withLock } from '../../src/core/store/locks.js';
import { jsonText } from '../../src/main/cli.js';
import type { CrosscoderRecord } from '../../src/core/diff/types.js';
import { crosscoderFindings } from '../../src/core/ops/crosscoder.js';
import { saeWeightsHash } from '../../src/core/ops/sae.js';

const TAP = 'blocks.1.mlp.post';
const D_IN = 32;
const LATENTS = 32;
const MODELS = ['base', 'dpo', 'decpo'];
let t: TestProject;

beforeAll(() => {
  t = testProject();
  writeCheckpoint(t.project, 'decpo', 3, 'decpo');
  // A checkpoint whose MLP is wider (48 neurons, not 32): no crosscoder with the others.
  const tok = worldTokenizer();
  const wide = gptConfig({
    ...{ vocabSize: tok.vocabSize, nEmbd: 16, nLayer: 2, nHead: 2, nInner: 48, nCtx: 16 },
    ...{ bosTokenId: tok.eosId, eosTokenId: tok.eosId },
  });
  saveCheckpoint(t.project.checkpointDir('wide'), wide, initParamArrays(wide, 4), tok, { stage: 'base' });
  t.service.close(); // the CLI writes the store; each check below opens it afresh
});
afterAll(() => t.close());

const train = (...extra: string[]) =>
  cli([
    ...['analyze', 'crosscoder', '--project', t.dir, '--checkpoints', MODELS.join(','), '--tap', TAP],
    ...['--name', 'cc', '--latents', String(LATENTS), '--k', '4', '--steps', '20', '--json', ...extra],
  ]);

/** Runs `fn` on a service over the project, closed afterwards. */
async function withService<T>(fn: (s: ReturnType<typeof createService>) => Promise<T>): Promise<T> {
  const s = createService(openProject(t.dir));
  try {
    return await fn(s);
  } finally {
    s.close();
  }
}

/** The saved weights in float64, and the decoder norms ‖d_i^m‖ [model][latent]. */
function savedWeights(dir: string) {
  const { tensors } = readSafetensors(join(dir, 'sae_weights.safetensors'));
  const cfg = JSON.parse(readFileSync(join(dir, 'cfg.json'), 'utf8'));
  const get = (name: string) => Float64Array.from(tensors.get(name)!.data as Float32Array);
  const wDec = get('W_dec');
  const n = MODELS.length;
  const norms = MODELS.map((_, m) =>
    Array.from({ length: LATENTS }, (_, i) => {
      let s = 0;
      for (let j = 0; j < D_IN; j++) s += wDec[(i * n + m) * D_IN + j] ** 2;
      return Math.sqrt(s);
    }),
  );
  return { cfg, wEnc: get('W_enc'), bEnc: get('b_enc'), theta: get('threshold')[0], norms };
}

let record: CrosscoderRecord;

describe('analyze crosscoder', () => {
  it('refuses bad checkpoints with the field named', async () => {
    const run = (checkpoints: string) =>
      cli([
        ...['analyze', 'crosscoder', '--project', t.dir, '--checkpoints', checkpoints, '--tap', TAP],
        ...['--name', 'bad', '--latents', '8', '--steps', '2'],
      ]);
    for (const [checkpoints, message] of [
      ['base', /at checkpoints\b/],
      ['base,wide', /checkpoints: blocks\.1\.mlp\.post has 32 columns in 'base', 48 columns in 'wide'/],
    ] as const) {
      const r = run(checkpoints);
      expect(r.code, `${checkpoints}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(message);
    }
    // The same checks through the service (the CLI above shows how they reach the terminal).
    await withService(async (s) => {
      const call = (checkpoints: string[], tap = TAP) =>
        s.call('crosscoder.train', { name: 'bad', checkpoints, tap, latents: 8, steps: 2 });
      await expect(call(['base', 'dpo', 'decpo', 'wide'])).rejects.toThrow(/at checkpoints\b/);
      await expect(call(['base', 'base'])).rejects.toThrow(/checkpoints: 'base' is named twice/);
      await expect(call(['base', 'dpo'], 'blocks.7.mlp.post')).rejects.toThrow(
        /tap: checkpoint 'base': unknown tap 'blocks\.7\.mlp\.post'/,
      );
    });
  });

  it('prints the stored record, whose Δ per pair are those of the saved decoder', async () => {
    const r = train();
    expect(r.code, r.stderr).toBe(0);
    record = JSON.parse(r.stdout);
    const stored = await withService(async (s) => s.call('crosscoders.list', {}));
    expect(JSON.parse(jsonText(stored))).toEqual([record]);
    const w = savedWeights(record.dir);
    expect(w.cfg).toMatchObject({ kind: 'batchtopk', nModels: 3, dIn: D_IN, dSae: LATENTS, k: 4 });
    expect(w.cfg.checkpoints).toEqual(MODELS);
    expect(record.pairs.map((p) => [p.a, p.b])).toEqual([
      [0, 1],
      [0, 2],
      [1, 2],
    ]);
    for (const p of record.pairs) {
      expect(p.delta).toHaveLength(LATENTS);
      p.delta.forEach((d, i) => {
        const [na, nb] = [w.norms[p.a][i], w.norms[p.b][i]];
        expect(d).toBeCloseTo(((na - nb) / Math.max(na, nb) + 1) / 2, 5);
      });
      expect(Object.values(p.counts).reduce((a, b) => a + b)).toBe(LATENTS);
    }
    expect(record.metrics).toHaveLength(3);
    expect(record.concepts).toHaveLength(LATENTS);
  });

  it('returns the stored crosscoder for the same request, refuses other settings unless --overwrite, and one writer per name', async () => {
    const again = await withService(async (s) =>
      s.call('crosscoder.train', {
        ...{ name: 'cc', checkpoints: MODELS, tap: TAP, latents: LATENTS, k: 4, steps: 20 },
      }),
    );
    expect(again.seconds).toBe(record.seconds);
    const refused = train('--k', '8');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("a crosscoder named 'cc' exists");
    await withLock(t.dir, 'crosscoder', 'cc', async () => {
      const locked = train('--k', '8', '--overwrite');
      expect(locked.code).toBe(1);
      expect(locked.stderr).toMatch(/crosscoder 'cc' is being written by process/);
    });
    const replaced = train('--k', '8', '--overwrite');
    expect(replaced.code, replaced.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(record.dir, 'cfg.json'), 'utf8')).k).toBe(8);
    record = JSON.parse(replaced.stdout);
  });

  it("the seed baseline never replaces a user's crosscoder that has the twin's name but other activations", async () => {
    const mine = await withService((s) =>
      s.call('crosscoder.train', {
        ...{ name: 'cc-seed1', checkpoints: ['base', 'dpo'], tap: TAP, latents: 8, k: 2, steps: 5 },
      }),
    );
    const project = openProject(t.dir);
    try {
      await expect(crosscoderFindings(project, record)).rejects.toThrow(
        /the seed baseline of crosscoder 'cc' is trained as 'cc-seed1', but a crosscoder of that name exists on other activations/,
      );
    } finally {
      project.close();
    }
    const after = await withService(async (s) => s.call('crosscoders.list', {}));
    expect(after.find((c) => c.name === 'cc-seed1')?.weightsHash).toBe(mine.weightsHash);
    expect(saeWeightsHash(mine.dir)).toBe(mine.weightsHash);
  });

  it("a latent page's numbers equal those recomputed from the saved weights and the recorded taps", async () => {
    const w = savedWeights(record.dir);
    // The latent that fires most often.
    const latent = record.concepts.reduce(
      (best, c, i) => (c.density[0] > record.concepts[best].density[0] ? i : best),
      0,
    );
    const { page, xs, ids } = await withService(async (s) => {
      const store = s.project.store;
      const recs = MODELS.map((checkpoint, m) =>
        store.activations.find({ checkpoint, tap: TAP, probeHash: record.sources[m].probeHash })!,
      );
      return {
        page: await s.call('crosscoder.latent', { name: 'cc', latent }),
        xs: recs.map((rec) => store.activations.tapMatrix(rec.id)),
        ids: store.probes.rows(recs[0].probeId).ids,
      };
    });
    page.decoderNorms.forEach((v, m) => expect(v).toBeCloseTo(w.norms[m][latent], 5));
    expect(page.pairs.map((p) => p.delta)).toEqual(record.pairs.map((p) => p.delta[latent]));
    expect(page.concept).toEqual(record.concepts[latent]);
    // f = pre · [pre > θ], pre = Σ_m (x^m s_m) W_enc^m + b_enc, over the non-special tokens.
    const special = worldTokenizer().specialIds;
    const n = MODELS.length;
    const pre: { row: number; v: number }[] = [];
    for (let r = 0; r < ids.length; r++) {
      if (special.has(ids[r])) continue;
      let v = w.bEnc[latent];
      for (let m = 0; m < n; m++)
        for (let j = 0; j < D_IN; j++)
          v += xs[m].data[r * D_IN + j] * w.cfg.inputScales[m] * w.wEnc[(m * D_IN + j) * LATENTS + latent];
      pre.push({ row: r, v });
    }
    const surely = pre.filter((p) => p.v > w.theta + 1e-4).length;
    const maybe = pre.filter((p) => p.v > w.theta - 1e-4).length;
    const top = pre.reduce((a, b) => (b.v > a.v ? b : a));
    expect(top.v).toBeGreaterThan(w.theta);
    const tok = worldTokenizer();
    page.models.forEach((pm, m) => {
      expect(pm.checkpoint).toBe(MODELS[m]);
      const firing = pm.histogram.counts.reduce((a, b) => a + b);
      expect(firing).toBeGreaterThanOrEqual(surely);
      expect(firing).toBeLessThanOrEqual(maybe);
      // What the latent writes into model m at its strongest token: f ‖d^m‖ / s_m.
      const expected = (top.v * w.norms[m][latent]) / w.cfg.inputScales[m];
      expect(pm.top[0].activation).toBeCloseTo(expected, 3);
      expect(pm.top[0].tokens[pm.top[0].target]).toBe(tok.tokenString(ids[top.row]));
      expect(pm.top[0].labels).toHaveLength(pm.top[0].tokens.length);
    });
  });
});
