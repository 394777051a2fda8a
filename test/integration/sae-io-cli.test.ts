// `monoscope export sae` and `monoscope import sae` on a real project (tiny GPT checkpoints, the built-in
// probe): an SAE exported in SAELens's format and imported back encodes the tap like the original, and
// `match` reads the imported SAE as it reads the trained one; a Gemma Scope params.npz built with numpy
// imports and encodes the tap like a numpy JumpReLU; a wrong d_in, a wrong hook, an --out inside the
// project's managed folders and a non-empty --out are refused with the file and field named (by the
// service: the CLI prints the same message).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli } from './cli.js';
import { jsonText } from '../../src/main/cli.js';
import { openProject } from '../../src/core/store/project.js';
import { createService, type Service } from '../../src/core/service.js';
import { loadTap } from '../../src/core/ops/tap.js';
import { encodeSae, loadSae } from '../../src/core/analysis/sae.js';
import { writeMatrixNpy } from '../../src/core/analysis/export.js';
import { parseNpy } from '../../src/core/analysis/npz.js';
import { testProject, type TestProject } from '../unit/ops/project.js';
import { numpyPython, runPython } from '../unit/store/python.js';

const TAP = 'blocks.1.mlp.post';
const REF = { checkpoint: 'base', tap: TAP, probe: 'builtin' };
let t: TestProject;
let exported: string;

beforeAll(async () => {
  t = testProject();
  await t.service.call('sae.train', { name: 's', ref: REF, latents: 48, steps: 5 });
  const x = (await loadTap(t.project, REF)).x;
  exported = join(t.dir, 'exports'); // in the project, outside its managed folders
  mkdirSync(exported, { recursive: true });
  writeMatrixNpy(join(exported, 'x.npy'), x);
  t.service.close(); // the CLI writes the store; each check below opens it afresh
}, 120_000);
afterAll(() => t.close());

/** Runs `work` on a service over the project (the CLI writes the store between cases). */
async function withService<T>(work: (service: Service) => Promise<T>): Promise<T> {
  const service = createService(openProject(t.dir));
  try {
    return await work(service);
  } finally {
    service.close();
  }
}

/** The tap's activations and the latents of the project's SAE `name` on them. */
function latents(name: string) {
  return withService(async (service) => {
    const rec = (await service.call('saes.list', {})).find((s) => s.name === name)!;
    const x = (await loadTap(service.project, REF)).x;
    return { rec, z: encodeSae(loadSae(rec.dir), x) };
  });
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('export sae / import sae', () => {
  it('an SAE exported in SAELens format and imported back gives the same latents, and match uses it', async () => {
    const out = join(exported, 'saelens');
    const e = cli(['export', 'sae', '--project', t.dir, '--sae', 's', '--out', out, '--json']);
    expect(e.code, e.stderr).toBe(0);
    expect(JSON.parse(e.stdout).files).toEqual([join(out, 'cfg.json'), join(out, 'sae_weights.safetensors')]);
    const cfg = JSON.parse(readFileSync(join(out, 'cfg.json'), 'utf8'));
    expect(cfg).toMatchObject({ architecture: 'topk', d_in: 32, d_sae: 48, normalize_activations: 'none' });
    expect(cfg.metadata).toMatchObject({
      model_name: 'base',
      hook_name: 'blocks.1.mlp.hook_post',
      prepend_bos: true,
    });

    const args = ['import', 'sae', '--project', t.dir, '--from', out, '--checkpoint', 'base', '--tap', TAP];
    const i = cli([...args, '--name', 's-back', '--json']);
    expect(i.code, i.stderr).toBe(0);
    const rec = JSON.parse(i.stdout);
    expect(rec).toMatchObject({ name: 's-back', kind: 'topk', dIn: 32, dSae: 48 });
    expect(rec.imported).toMatchObject({
      format: 'saelens',
      architecture: 'topk',
      hookName: 'blocks.1.mlp.hook_post',
    });

    const original = await latents('s');
    const back = await latents('s-back');
    let scale = 0;
    for (const v of original.z.data) scale = Math.max(scale, Math.abs(v));
    expect(scale).toBeGreaterThan(0);
    expect(maxDiff(back.z.data, original.z.data)).toBeLessThan(1e-4 * scale);
    expect(rec.metrics.l0).toBeGreaterThan(0);

    await withService(async (service) => {
      // The same files under the same name: the stored SAE; under the trained SAE's name: refused.
      const again = { from: out, checkpoint: 'base', tap: TAP, name: 's-back' };
      expect(JSON.parse(jsonText(await service.call('sae.import', again)))).toEqual(rec);
      await expect(service.call('sae.import', { ...again, name: 's' })).rejects.toThrow(
        "an SAE named 's' exists, from other files or for another tap",
      );
      const b = { checkpoint: 'dpo', tap: TAP };
      const viaImport = await service.call('match', { a: REF, b, saeA: 's-back', shuffles: 0 });
      const viaTrained = await service.call('match', { a: REF, b, saeA: 's', shuffles: 0 });
      expect(viaImport.pairs.length).toBe(viaTrained.pairs.length);
      expect(viaImport.meanCorrelation).toBeCloseTo(viaTrained.meanCorrelation, 4);
    });
  });

  it.skipIf(!numpyPython)(
    'a Gemma Scope params.npz imports and encodes the tap like a numpy JumpReLU',
    async () => {
      const dir = join(exported, 'gemma', 'layer_1', 'width_40', 'average_l0_12');
      mkdirSync(dir, { recursive: true });
      runPython(
        numpyPython!,
        String.raw`
import sys, os
import numpy as np
x_file, dir = sys.argv[1], sys.argv[2]
x = np.load(x_file).astype(np.float64)
rng = np.random.default_rng(7)
d_in, d_sae = x.shape[1], 40
W_enc = rng.normal(size=(d_in, d_sae)).astype(np.float32)
b_enc = (0.1 * rng.normal(size=d_sae)).astype(np.float32)
pre = x @ W_enc.astype(np.float64) + b_enc
# Each latent's threshold: the midpoint of the widest gap between its distinct pre-activations in their
# 60-80% range, so that no token sits near it (float32 and float64 agree on which side each one is).
def cut(v):
    v = np.unique(v)
    lo, hi = int(0.6 * len(v)), int(0.8 * len(v))
    i = lo + int(np.argmax(np.diff(v[lo:hi + 1])))
    return max((v[i] + v[i + 1]) / 2, 0.01)
threshold = np.array([cut(pre[:, j]) for j in range(d_sae)], dtype=np.float32)
np.savez(os.path.join(dir, 'params.npz'), W_enc=W_enc, W_dec=rng.normal(size=(d_sae, d_in)).astype(np.float32),
         b_enc=b_enc, b_dec=rng.normal(size=d_in).astype(np.float32), threshold=threshold)
f = (pre > threshold) * np.maximum(pre, 0)
np.save(os.path.join(dir, 'ref.npy'), f.astype(np.float32))
`,
        [join(exported, 'x.npy'), dir],
      );
      const from = join(dir, 'params.npz');
      const i = cli([
        'import',
        'sae',
        '--project',
        t.dir,
        '--from',
        from,
        '--checkpoint',
        'base',
        '--tap',
        TAP,
        '--name',
        'gs',
        '--json',
      ]);
      expect(i.code, i.stderr).toBe(0);
      expect(JSON.parse(i.stdout)).toMatchObject({
        kind: 'jumprelu',
        dSae: 40,
        imported: { format: 'gemma-scope' },
      });
      const ref = parseNpy(readFileSync(join(dir, 'ref.npy')), 'ref.npy').data;
      const { z } = await latents('gs');
      const firing = Array.from(ref).filter((v) => v > 0).length;
      expect(firing).toBeGreaterThan(0.1 * ref.length);
      expect(firing).toBeLessThan(0.5 * ref.length);
      expect(maxDiff(z.data, ref)).toBeLessThan(1e-3);

      // The same npz for a tap of another width: d_in is refused, naming the file and the array.
      await withService((service) =>
        expect(
          service.call('sae.import', { from, checkpoint: 'base', tap: 'blocks.1.resid_post', name: 'gs2' }),
        ).rejects.toThrow(
          `${from} array 'W_enc' (shape [d_model, d_sae]) gives d_in 32, but base blocks.1.resid_post has 16 columns`,
        ),
      );
    },
  );

  it('refuses a hook that is not the tap, an --out in the managed folders and a non-empty --out', async () => {
    const out = join(exported, 'saelens'); // the first case's export
    await withService(async (service) => {
      await expect(
        service.call('sae.import', { from: out, checkpoint: 'base', tap: 'blocks.0.mlp.post', name: 'h' }),
      ).rejects.toThrow(
        `${join(out, 'cfg.json')} field 'metadata.hook_name' is 'blocks.1.mlp.hook_post', which is not the tap blocks.0.mlp.post`,
      );
      await expect(
        service.call('sae.export', { sae: 's', out: join(t.dir, 'saes', 'copy') }),
      ).rejects.toThrow(`is inside the Monoscope project ${t.dir}`);
      await expect(service.call('sae.export', { sae: 's', out })).rejects.toThrow(
        `${out} is not empty; give a new or empty folder`,
      );
    });
  });
});
