// `crosscoder.findings` and `analyze crosscoder --seed-baseline` on a small project (tiny random checkpoints
// base, dpo, decpo): without the baseline the op trains nothing and reads the record (each fine-tune's
// specific latents are the record's B-only latents of the pair (base, it)); with it, the twin `cc-seed1` is
// trained once (seed 1, the same settings, the same activations) and found in the store afterwards; the
// CLI's --json record carries the op's findings as `findings`, and its summary the seed baseline.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from './cli.js';
import { numpyPython, runPython } from '../unit/store/python.js';
import { NUMPY_SAFETENSORS } from '../helpers/numpy-safetensors.js';
import { loadTap } from '../../src/core/ops/tap.js';
import { testProject, writeCheckpoint, type TestProject } from '../unit/ops/project.js';
import { openProject } from '../../src/core/store/project.js';
import { createService, type Service } from '../../src/core/service.js';
import { jsonText } from '../../src/main/cli.js';
import type { CrosscoderRecord, DiffingFindings } from '../../src/core/diff/types.js';

const TAP = 'blocks.1.mlp.post';
const MODELS = ['base', 'dpo', 'decpo'];
const REQUEST = { name: 'cc', checkpoints: MODELS, tap: TAP, latents: 16, k: 4, steps: 10 };
const FLAGS = ['--checkpoints', MODELS.join(','), '--tap', TAP, '--name', 'cc'].concat([
  '--latents',
  '16',
  '--k',
  '4',
  '--steps',
  '10',
  '--seed-baseline',
]);
let t: TestProject;

beforeAll(() => {
  t = testProject();
  writeCheckpoint(t.project, 'decpo', 3, 'decpo');
  t.service.close(); // the CLI writes the store; each check below opens it afresh
});
afterAll(() => t.close());

/** Runs `fn` on a service over the project, closed afterwards. */
async function withService<T>(fn: (s: Service) => Promise<T>): Promise<T> {
  const s = createService(openProject(t.dir));
  try {
    return await fn(s);
  } finally {
    s.close();
  }
}

/** A value as it crosses JSON (NaN reads null), for comparing the service's results with the CLI's. */
const asJson = (v: unknown): unknown => JSON.parse(jsonText(v));

/** The latents tagged B-only in the record's pair (base, b), read from the record here. */
function bOnly(r: CrosscoderRecord, b: number): number[] {
  const p = r.pairs.find((q) => q.a === 0 && q.b === b)!;
  return p.tag.flatMap((tag, i) => (tag === 'b-only' ? [i] : []));
}

let record: CrosscoderRecord;
let cliFindings: DiffingFindings;

describe('crosscoder findings', () => {
  it('without the seed baseline: read from the record, nothing trained', async () => {
    await withService(async (s) => {
      record = await s.call('crosscoder.train', REQUEST);
      const f = await s.call('crosscoder.findings', { name: 'cc' });
      expect(f.name).toBe('cc');
      expect(f.base).toBe('base');
      expect(f.specific.map((x) => [x.checkpoint, x.versus])).toEqual([
        ['dpo', 'base'],
        ['decpo', 'base'],
      ]);
      f.specific.forEach((x, k) => {
        expect(x.latents).toEqual(bOnly(record, k + 1));
        expect(x.count).toBe(x.latents.length);
        expect(x.seedShared).toBeUndefined();
      });
      expect(f.shared.map((x) => x.count)).toEqual(record.pairs.slice(0, 2).map((p) => p.counts.shared));
      expect(f.seed).toBeUndefined();
      expect((await s.call('crosscoders.list', {})).map((c) => c.name)).toEqual(['cc']);
      await expect(s.call('crosscoder.findings', { name: 'nope' })).rejects.toThrow(
        /no crosscoder named 'nope'/,
      );
    });
  });

  it('analyze crosscoder --seed-baseline --json: the stored record, with the findings beside the seed twin', async () => {
    const r = cli(['analyze', 'crosscoder', '--project', t.dir, ...FLAGS, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const { findings, ...printed } = JSON.parse(r.stdout) as CrosscoderRecord & { findings: DiffingFindings };
    cliFindings = findings;
    // The same request found the stored crosscoder; its twin was trained with seed 1 on the same taps.
    expect(printed).toEqual(asJson(record));
    const list = await withService((s) => s.call('crosscoders.list', {}));
    const twin = list.find((c) => c.name === 'cc-seed1')!;
    expect(list.map((c) => c.name).sort()).toEqual(['cc', 'cc-seed1']);
    expect(twin.settings).toEqual({ ...record.settings, seed: 1 });
    expect(twin.sources).toEqual(record.sources);
    expect(findings.seed).toMatchObject({ name: 'cc-seed1', seed: 1 });
    expect(findings.seed!.allShared).toBeGreaterThanOrEqual(0);
    expect(findings.seed!.allShared).toBeLessThanOrEqual(1);
    findings.specific.forEach((x, k) => {
      expect(x.latents).toEqual(bOnly(record, k + 1));
      expect(x.seedTwinCount).toBe(bOnly(twin, k + 1).length);
      // A share of the set, or null (NaN) for an empty one.
      if (x.count === 0) expect(x.seedShared).toBeNull();
      else expect(x.seedShared! >= 0 && x.seedShared! <= 1).toBe(true);
    });
  });

  it('the op with the seed baseline finds the stored twin, and the summary states it', async () => {
    const before = await withService(async (s) =>
      (await s.call('crosscoders.list', {})).find((c) => c.name === 'cc-seed1')!,
    );
    const again = await withService((s) => s.call('crosscoder.findings', { name: 'cc', seedBaseline: true }));
    expect(asJson(again)).toEqual(cliFindings);
    const after = await withService(async (s) =>
      (await s.call('crosscoders.list', {})).find((c) => c.name === 'cc-seed1')!,
    );
    expect([after.weightsHash, after.seconds]).toEqual([before.weightsHash, before.seconds]);
    const human = cli(['analyze', 'crosscoder', '--project', t.dir, ...FLAGS]);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toContain('seed twin cc-seed1');
    expect(human.stdout).toMatch(/Seed baseline: the twin shares \d+\.\d% of all latents/);
  });

  // The latents found again by activations, against numpy and scipy from the two crosscoders' saved weights
  // and the recorded taps: JumpReLU codes of both on the probe's non-special tokens, Pearson r of every
  // pair of latents (0 for a silent latent), scipy's Hungarian assignment, r > 0.7.
  it.skipIf(!numpyPython)(
    'the share found again by activations is that of a numpy/scipy reference',
    async () => {
      const project = openProject(t.dir);
      try {
        const taps = await Promise.all(
          MODELS.map((checkpoint) => loadTap(project, { checkpoint, tap: TAP, probe: 'builtin' })),
        );
        const files = taps.map((tap, m) => {
          const file = join(t.dir, `x-${m}.f32`);
          writeFileSync(
            file,
            new Uint8Array(tap.x.data.buffer, tap.x.data.byteOffset, tap.x.data.byteLength),
          );
          return file;
        });
        const special = new Set(taps[0].specialIds);
        const usable = Array.from(taps[0].ids.keys()).filter((i) => !special.has(taps[0].ids[i]));
        const rowsFile = join(t.dir, 'rows.json');
        writeFileSync(rowsFile, JSON.stringify(usable));
        const ref = JSON.parse(
          runPython(numpyPython!, FOUND_AGAIN, [
            join(project.crosscodersDir, 'cc'),
            join(project.crosscodersDir, 'cc-seed1'),
            rowsFile,
            ...files,
          ]),
        ) as { found: number[]; r: number[] };
        // Some latents are found again and some not, so the comparison can fail either way.
        expect(ref.found.length).toBeGreaterThan(0);
        expect(ref.found.length).toBeLessThan(16);
        expect(cliFindings.seed!.allFound).toBe(ref.found.length / 16);
        cliFindings.specific.forEach((x) => {
          if (x.count === 0) expect(x.seedFound).toBeNull();
          else expect(x.seedFound).toBe(x.latents.filter((i) => ref.found.includes(i)).length / x.count);
        });
      } finally {
        project.close();
      }
    },
  );
});

const FOUND_AGAIN = `${NUMPY_SAFETENSORS}
from scipy.optimize import linear_sum_assignment

def codes(folder, xs):
    cfg = json.load(open(folder + '/cfg.json'))
    w = tensors(folder + '/sae_weights.safetensors')
    s = cfg['inputScales']
    pre = sum((xs[m] * s[m]) @ w['W_enc'][m] for m in range(len(xs))) + w['b_enc']
    return np.where(pre > w['threshold'], pre, 0.0)

a_dir, b_dir, rows_file = sys.argv[1:4]
rows = json.load(open(rows_file))
d = json.load(open(a_dir + '/cfg.json'))['dIn']
xs = [np.fromfile(f, dtype='<f4').reshape(-1, d).astype(np.float64)[rows] for f in sys.argv[4:]]
za, zb = codes(a_dir, xs), codes(b_dir, xs)
za, zb = za - za.mean(0), zb - zb.mean(0)
na, nb = np.linalg.norm(za, axis=0), np.linalg.norm(zb, axis=0)
with np.errstate(invalid='ignore', divide='ignore'):
    r = (za.T @ zb) / np.outer(na, nb)
r = np.nan_to_num(r, nan=0.0, posinf=0.0, neginf=0.0)
ia, ib = linear_sum_assignment(r, maximize=True)
best = r[ia, ib]
print(json.dumps({'found': [int(i) for i, v in zip(ia, best) if v > 0.7], 'r': best.tolist()}))
`;
