/**
 * `neuronpedia.export` on a tiny real project: the files of Neuronpedia's export layout, every row with the
 * fields (and types) of Neuronpedia's `Neuron` and `Activation` records (neuronpedia-utils `db_models/
 * feature.py` and `activation.py`), the activations equal to the SAE's codes of the recorded tap, and the
 * logit effects equal to a float64 numpy reference from the saved weights. A crosscoder's pages, once per
 * model: the activations equal the shared code of a float64 numpy crosscoder (JumpReLU with θ of
 * Σ_m W_enc^m x^m s_m + b_enc) from its saved files and the recorded taps, the same for every model, and
 * the logit effects that model's decoder block through its unembedding.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeSae, loadSae } from '../../../src/core/analysis/index.js';
import { loadTap, type TapData } from '../../../src/core/ops/tap.js';
import { numpyPython, runPython } from '../store/python.js';
import { testProject, type TestProject } from './project.js';
import { NUMPY_SAFETENSORS } from '../../helpers/numpy-safetensors.js';

const TAP = 'blocks.1.mlp.post';
let t: TestProject;
const out = mkdtempSync(join(tmpdir(), 'neuronpedia-'));

beforeAll(async () => {
  t = testProject();
  await t.service.call('sae.train', {
    name: 'Feat_SAE',
    ref: { checkpoint: 'base', tap: TAP },
    latents: 40,
    k: 6,
    steps: 10,
    batchSize: 256,
  });
  await t.service.call('crosscoder.train', {
    name: 'Feat_CC',
    checkpoints: ['base', 'dpo'],
    tap: TAP,
    latents: 24,
    k: 4,
    steps: 10,
    batchSize: 256,
  });
}, 120_000);
afterAll(() => {
  t?.close();
  rmSync(out, { recursive: true, force: true });
});

/** The fields of Neuronpedia's `Feature` (a `Neuron` row) and `Activation` records, with their JSON types. */
const FEATURE_FIELDS: Record<string, string> = {
  modelId: 'string',
  layer: 'string',
  index: 'string',
  creatorId: 'string',
  createdAt: 'string',
  maxActApprox: 'number',
  hasVector: 'boolean',
  vector: 'number[]',
  vectorLabel: 'null',
  vectorDefaultSteerStrength: 'null',
  hookName: 'null',
  topkCosSimIndices: 'number[]',
  topkCosSimValues: 'number[]',
  neuron_alignment_indices: 'number[]',
  neuron_alignment_values: 'number[]',
  neuron_alignment_l1: 'number[]',
  correlated_neurons_indices: 'number[]',
  correlated_neurons_pearson: 'number[]',
  correlated_neurons_l1: 'number[]',
  correlated_features_indices: 'number[]',
  correlated_features_pearson: 'number[]',
  correlated_features_l1: 'number[]',
  neg_str: 'string[]',
  neg_values: 'number[]',
  pos_str: 'string[]',
  pos_values: 'number[]',
  frac_nonzero: 'number',
  freq_hist_data_bar_heights: 'number[]',
  freq_hist_data_bar_values: 'number[]',
  logits_hist_data_bar_heights: 'number[]',
  logits_hist_data_bar_values: 'number[]',
  decoder_weights_dist: 'number[]',
};
const ACTIVATION_FIELDS: Record<string, string> = {
  id: 'string',
  tokens: 'string[]',
  index: 'string',
  layer: 'string',
  modelId: 'string',
  maxValue: 'number',
  maxValueTokenIndex: 'number',
  minValue: 'number',
  values: 'number[]',
  creatorId: 'string',
  dataSource: 'string',
  dataIndex: 'string',
  dfaValues: 'number[]',
  dfaTargetIndex: 'null',
  dfaMaxValue: 'null',
  createdAt: 'string',
  lossValues: 'number[]',
  logitContributions: 'null',
  binMin: 'null',
  binMax: 'null',
  binContains: 'null',
  qualifyingTokenIndex: 'number',
};

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return v.length ? `${typeOf(v[0])}[]` : 'number[]';
  return typeof v;
}

function expectFields(row: Record<string, unknown>, fields: Record<string, string>) {
  expect(Object.keys(row).sort()).toEqual(Object.keys(fields).sort());
  for (const [k, type] of Object.entries(fields)) expect([k, typeOf(row[k])]).toEqual([k, type]);
}

const readJsonl = (file: string) =>
  (file.endsWith('.gz') ? gunzipSync(readFileSync(file)).toString('utf8') : readFileSync(file, 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

/**
 * Python: the F32 tensors of a safetensors file as float64 arrays, and the logit effects of decoder rows
 * `dec` [latents, d_in] of a dictionary that decodes inputs scaled by `scale`: (dec / scale) c_proj(block 1)
 * wte^T, from a checkpoint's saved weights.
 */
const TENSORS = `${NUMPY_SAFETENSORS}
def logit_effects(dec, scale, ck):
    m = tensors(ck + '/model.safetensors')
    proj = next(v for k, v in m.items() if k.endswith('h.1.mlp.c_proj.weight'))
    wte = next(v for k, v in m.items() if k.endswith('wte.weight'))
    return (dec / scale) @ proj @ wte.T
`;

/** An SAE's logit effects (argv: its folder, the checkpoint's folder). */
const LOGITS = `${TENSORS}
sae, ck = sys.argv[1], sys.argv[2]
scale = json.load(open(sae + '/cfg.json'))['inputScale']
print(json.dumps(logit_effects(tensors(sae + '/sae_weights.safetensors')['W_dec'], scale, ck).tolist()))
`;

/**
 * A crosscoder's codes and per-model logit effects, written as JSON to a file (argv: that file, the
 * crosscoder's folder, each model's raw float32 activations [tokens, d_in], each model's checkpoint folder): f = pre·[pre > θ] with pre = Σ_m (x^m s_m) W_enc^m + b_enc;
 * model m's logit effects from its decoder block W_dec[:, m, :] and scale s_m.
 */
const CROSSCODER = `${TENSORS}
out, cc = sys.argv[1], sys.argv[2]
cfg = json.load(open(cc + '/cfg.json'))
n, d, s = cfg['nModels'], cfg['dIn'], cfg['inputScales']
w = tensors(cc + '/sae_weights.safetensors')
xs = [np.fromfile(f, dtype='<f4').reshape(-1, d).astype(np.float64) for f in sys.argv[3:3 + n]]
pre = sum((xs[m] * s[m]) @ w['W_enc'][m] for m in range(n)) + w['b_enc']
codes = np.where(pre > w['threshold'], pre, 0.0)
logits = [logit_effects(w['W_dec'][:, m, :], s[m], ck).tolist() for m, ck in enumerate(sys.argv[3 + n:])]
json.dump({'codes': codes.tolist(), 'logits': logits}, open(out, 'w'))
`;

/** `a` equals `b` (exactly when `tol` is 0, else within tol·(1 + |b|)). */
function near(a: unknown, b: number, tol: number) {
  if (tol === 0) expect(a).toBe(b);
  else expect(Math.abs((a as number) - b)).toBeLessThanOrEqual(tol * (1 + Math.abs(b)));
}

/**
 * Checks the pages in `dir/base` against the codes `code(row, latent)` of `cols` latents on the recorded tap
 * `tap`: a page for every latent that fires on a non-special token and no other, Neuronpedia's fields,
 * densities and histograms, and each of the (at most `topK`) top contexts one probe sequence with the codes
 * on its tokens (0 on specials), strongest first. Returns the rows.
 */
function checkPages(
  dir: string,
  base: string,
  tap: TapData,
  code: (row: number, l: number) => number,
  cols: number,
  topK: number,
  tol: number,
) {
  const special = new Set(tap.specialIds);
  const usable = Array.from(tap.ids.keys()).filter((i) => !special.has(tap.ids[i]));
  const firing = Array.from({ length: cols }, (_, l) => l).filter((l) =>
    usable.some((row) => code(row, l) > 0),
  );
  const features = readJsonl(join(dir, base, 'features', 'batch-0.jsonl.gz'));
  const activations = readJsonl(join(dir, base, 'activations', 'batch-0.jsonl.gz'));
  expect(firing.length).toBeGreaterThan(0);
  expect(features.map((f) => Number(f.index))).toEqual(firing);
  for (const f of features) expectFields(f, FEATURE_FIELDS);
  for (const a of activations) expectFields(a, ACTIVATION_FIELDS);

  for (const f of features) {
    const l = Number(f.index);
    const active = usable.filter((row) => code(row, l) > 0);
    expect(f.frac_nonzero).toBeCloseTo(active.length / usable.length, 12);
    expect((f.freq_hist_data_bar_heights as number[]).reduce((s, x) => s + x, 0)).toBe(active.length);
    const mine = activations.filter((a) => a.index === f.index);
    expect(mine.length).toBe(Math.min(topK, new Set(active.map((row) => tap.seqOf[row])).size));
    // Strongest first; each context is one probe sequence with the codes on its tokens (0 on specials).
    const maxima = mine.map((a) => a.maxValue as number);
    expect(maxima).toEqual([...maxima].sort((x, y) => y - x));
    near(maxima[0], Math.max(...active.map((row) => code(row, l))), tol);
    expect(f.maxActApprox).toBe(maxima[0]);
    for (const a of mine) {
      const seq = Number(a.dataIndex);
      const rows = Array.from(tap.seqOf.keys()).filter((row) => tap.seqOf[row] === seq);
      expect(a.tokens).toEqual(rows.map((row) => tap.tokenizer.tokenString(tap.ids[row])));
      const values = a.values as number[];
      expect(values.length).toBe(rows.length);
      rows.forEach((row, i) => near(values[i], special.has(tap.ids[row]) ? 0 : code(row, l), tol));
      expect(values[a.maxValueTokenIndex as number]).toBe(a.maxValue);
      expect(a.maxValue).toBe(Math.max(...values));
      expect(a.minValue).toBe(Math.min(...values));
    }
  }
  return { features, activations };
}

/** The top and bottom 10 tokens of each page's logit effects and their values, against `effects[latent]`. */
function checkLogits(features: Record<string, unknown>[], effects: number[][], tap: TapData) {
  for (const f of features) {
    const e = effects[Number(f.index)];
    const order = e.map((_, i) => i).sort((x, y) => e[y] - e[x] || x - y);
    const pos = order.slice(0, 10);
    const neg = order.slice(-10).reverse();
    expect(f.pos_str).toEqual(pos.map((id) => tap.tokenizer.tokenString(id)));
    expect(f.neg_str).toEqual(neg.map((id) => tap.tokenizer.tokenString(id)));
    (f.pos_values as number[]).forEach((v, i) => expect(v).toBeCloseTo(e[pos[i]], 9));
    (f.neg_values as number[]).forEach((v, i) => expect(v).toBeCloseTo(e[neg[i]], 9));
  }
}

describe('neuronpedia.export', () => {
  it("writes Neuronpedia's export layout with the store's activations and the weights' logit effects", async () => {
    const dir = join(out, 'pages');
    const r = await t.service.call('neuronpedia.export', { sae: 'Feat_SAE', topK: 3, out: dir });
    const base = join('base', '1-feat_sae');
    expect(r.dir).toBe(dir);
    expect(r.files).toEqual(
      ['release.jsonl', 'model.jsonl', 'sourceset.jsonl', 'source.jsonl']
        .map((f) => join(base, f))
        .concat([join(base, 'features', 'batch-0.jsonl.gz'), join(base, 'activations', 'batch-0.jsonl.gz')]),
    );
    const [source] = readJsonl(join(dir, base, 'source.jsonl'));
    expect(source).toMatchObject({ id: '1-feat_sae', modelId: 'base', setName: 'feat_sae' });
    expect(readJsonl(join(dir, base, 'sourceset.jsonl'))[0]).toMatchObject({
      modelId: 'base',
      name: 'feat_sae',
    });
    expect(readJsonl(join(dir, base, 'model.jsonl'))[0]).toMatchObject({
      id: 'base',
      layers: 2,
      dimension: 16,
    });

    // The SAE's codes on the recorded tap: what the pages must show.
    const tap = await loadTap(t.project, { checkpoint: 'base', tap: TAP, probe: 'builtin' });
    const sae = loadSae(join(t.project.saesDir, 'Feat_SAE'));
    const codes = encodeSae(sae, tap.x);
    const code = (row: number, l: number) => codes.data[row * codes.cols + l];
    const { features } = checkPages(dir, base, tap, code, codes.cols, 3, 0);
    expect(r.latents).toBe(features.length);

    // Logit effects against numpy: the top and bottom 10 tokens and their values.
    if (numpyPython) {
      const effects = JSON.parse(
        runPython(numpyPython, LOGITS, [
          join(t.project.saesDir, 'Feat_SAE'),
          t.project.checkpointDir('base'),
        ]),
      ) as number[][];
      checkLogits(features, effects, tap);
    }
  }, 120_000);

  it.skipIf(!numpyPython)(
    "writes a crosscoder's pages per model: the shared code of a numpy crosscoder, each model's decoder through its unembedding",
    async () => {
      const models = ['base', 'dpo'];
      const taps = await Promise.all(
        models.map((checkpoint) => loadTap(t.project, { checkpoint, tap: TAP, probe: 'builtin' })),
      );
      const xFiles = taps.map((tap, m) => {
        const file = join(out, `x-${m}.f32`);
        writeFileSync(file, new Uint8Array(tap.x.data.buffer, tap.x.data.byteOffset, tap.x.data.byteLength));
        return file;
      });
      const refFile = join(out, 'crosscoder-reference.json');
      runPython(numpyPython!, CROSSCODER, [
        refFile,
        join(t.project.crosscodersDir, 'Feat_CC'),
        ...xFiles,
        ...models.map((m) => t.project.checkpointDir(m)),
      ]);
      const ref = JSON.parse(readFileSync(refFile, 'utf8')) as { codes: number[][]; logits: number[][][] };
      const code = (row: number, l: number) => ref.codes[row][l];

      // The default is the first model; dpo's pages are asked for by name.
      const pages: ReturnType<typeof checkPages>[] = [];
      for (const [m, checkpoint] of [undefined, 'dpo'].entries()) {
        const dir = join(out, `cc-${models[m]}`);
        const r = await t.service.call('neuronpedia.export', {
          sae: 'Feat_CC',
          checkpoint,
          topK: 3,
          out: dir,
        });
        const base = join(models[m], '1-feat_cc');
        expect(r.files.slice(0, 4)).toEqual(
          ['release.jsonl', 'model.jsonl', 'sourceset.jsonl', 'source.jsonl'].map((f) => join(base, f)),
        );
        const { features, activations } = checkPages(dir, base, taps[m], code, 24, 3, 1e-4);
        expect(r.latents).toBe(features.length);
        checkLogits(features, ref.logits[m], taps[m]);
        for (const row of [...features, ...activations])
          expect([row.modelId, row.layer]).toEqual([models[m], '1-feat_cc']);
        // Neuronpedia has no crosscoder field: its free-text fields say what the pages are.
        const [set] = readJsonl(join(dir, base, 'sourceset.jsonl'));
        expect(set).toMatchObject({ modelId: models[m], name: 'feat_cc' });
        expect(set.description).toContain(`crosscoder, batchtopk, over base, dpo; decoder of ${models[m]}`);
        expect(readJsonl(join(dir, base, 'source.jsonl'))[0].notes).toContain('shared by base, dpo');
        expect(readJsonl(join(dir, base, 'release.jsonl'))[0].description).toContain(
          'crosscoder Feat_CC over base, dpo',
        );
        pages.push({ features, activations });
      }
      // The contexts are the shared code's: the same in both models' pages; the logits are each model's own.
      const contexts = (rows: Record<string, unknown>[]) =>
        rows.map(({ index, tokens, values, dataIndex }) => ({ index, tokens, values, dataIndex }));
      expect(contexts(pages[1].activations)).toEqual(contexts(pages[0].activations));
      expect(pages[1].features.map((f) => f.pos_values)).not.toEqual(
        pages[0].features.map((f) => f.pos_values),
      );
    },
    120_000,
  );

  it('refuses a non-empty folder, a folder inside the project, a latent the SAE does not have, and a checkpoint that is not a crosscoder model', async () => {
    const full = join(out, 'full');
    mkdirSync(full);
    writeFileSync(join(full, 'keep.txt'), 'x');
    await expect(t.service.call('neuronpedia.export', { sae: 'Feat_SAE', out: full })).rejects.toThrow(
      /is not empty/,
    );
    await expect(
      t.service.call('neuronpedia.export', { sae: 'Feat_SAE', out: join(t.project.saesDir, 'pages') }),
    ).rejects.toThrow(/inside the Monoscope project/);
    await expect(
      t.service.call('neuronpedia.export', { sae: 'Feat_SAE', latents: [40], out: join(out, 'bad') }),
    ).rejects.toThrow(/latents 0\.\.39, not 40/);
    await expect(
      t.service.call('neuronpedia.export', { sae: 'Feat_CC', checkpoint: 'decpo', out: join(out, 'bad') }),
    ).rejects.toThrow(/crosscoder 'Feat_CC' is over base, dpo; 'decpo' is not one of them/);
    await expect(
      t.service.call('neuronpedia.export', { sae: 'Feat_SAE', checkpoint: 'base', out: join(out, 'bad') }),
    ).rejects.toThrow(/'Feat_SAE' is an SAE of base, not a crosscoder/);
    await expect(
      t.service.call('neuronpedia.export', { sae: 'Nope', out: join(out, 'bad') }),
    ).rejects.toThrow(/no SAE or crosscoder named 'Nope'/);
  });
});
