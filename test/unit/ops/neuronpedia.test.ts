/**
 * `neuronpedia.export` on a tiny real project: the files of Neuronpedia's export layout, every row with the
 * fields (and types) of Neuronpedia's `Neuron` and `Activation` records (neuronpedia-utils `db_models/
 * feature.py` and `activation.py`), the activations equal to the SAE's codes of the recorded tap, and the
 * logit effects equal to a float64 numpy reference from the saved weights.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeSae, loadSae } from '../../../src/core/analysis/index.js';
import { loadTap } from '../../../src/core/ops/tap.js';
import { numpyPython, runPython } from '../store/python.js';
import { testProject, type TestProject } from './project.js';

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

/** Logit effects of SAE latents, (W_dec[l] / scale) c_proj(block 1) wte^T, from the saved files (float64). */
const LOGITS = `
import json, struct, sys
import numpy as np
def tensors(path):
    b = open(path, 'rb').read()
    n = struct.unpack('<Q', b[:8])[0]
    head = json.loads(b[8:8 + n])
    out = {}
    for k, v in head.items():
        if k == '__metadata__': continue
        assert v['dtype'] == 'F32', v['dtype']
        s, e = v['data_offsets']
        out[k] = np.frombuffer(b[8 + n + s:8 + n + e], dtype='<f4').reshape(v['shape']).astype(np.float64)
    return out
sae, ck = sys.argv[1], sys.argv[2]
scale = json.load(open(sae + '/cfg.json'))['inputScale']
w = tensors(sae + '/sae_weights.safetensors')
m = tensors(ck + '/model.safetensors')
proj = next(v for k, v in m.items() if k.endswith('h.1.mlp.c_proj.weight'))
wte = next(v for k, v in m.items() if k.endswith('wte.weight'))
eff = (w['W_dec'] / scale) @ proj @ wte.T
print(json.dumps(eff.tolist()))
`;

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
    const special = new Set(tap.specialIds);
    const usable = Array.from(tap.ids.keys()).filter((i) => !special.has(tap.ids[i]));
    const code = (row: number, l: number) => codes.data[row * codes.cols + l];
    const firing = Array.from({ length: codes.cols }, (_, l) => l).filter((l) =>
      usable.some((row) => code(row, l) > 0),
    );

    const features = readJsonl(join(dir, base, 'features', 'batch-0.jsonl.gz'));
    const activations = readJsonl(join(dir, base, 'activations', 'batch-0.jsonl.gz'));
    expect(r.latents).toBe(firing.length);
    expect(features.map((f) => Number(f.index))).toEqual(firing);
    for (const f of features) expectFields(f, FEATURE_FIELDS);
    for (const a of activations) expectFields(a, ACTIVATION_FIELDS);

    for (const f of features) {
      const l = Number(f.index);
      const active = usable.filter((row) => code(row, l) > 0);
      expect(f.frac_nonzero).toBeCloseTo(active.length / usable.length, 12);
      expect((f.freq_hist_data_bar_heights as number[]).reduce((s, x) => s + x, 0)).toBe(active.length);
      const mine = activations.filter((a) => a.index === f.index);
      expect(mine.length).toBe(Math.min(3, new Set(active.map((row) => tap.seqOf[row])).size));
      // Strongest first; each context is one probe sequence with the codes on its tokens (0 on specials).
      const maxima = mine.map((a) => a.maxValue as number);
      expect(maxima).toEqual([...maxima].sort((x, y) => y - x));
      expect(maxima[0]).toBe(Math.max(...active.map((row) => code(row, l))));
      expect(f.maxActApprox).toBe(maxima[0]);
      for (const a of mine) {
        const seq = Number(a.dataIndex);
        const rows = Array.from(tap.seqOf.keys()).filter((row) => tap.seqOf[row] === seq);
        expect(a.tokens).toEqual(rows.map((row) => tap.tokenizer.tokenString(tap.ids[row])));
        expect(a.values).toEqual(rows.map((row) => (special.has(tap.ids[row]) ? 0 : code(row, l))));
        const values = a.values as number[];
        expect(values[a.maxValueTokenIndex as number]).toBe(a.maxValue);
        expect(a.maxValue).toBe(Math.max(...values));
        expect(a.minValue).toBe(Math.min(...values));
      }
    }

    // Logit effects against numpy: the top and bottom 10 tokens and their values.
    if (numpyPython) {
      const effects = JSON.parse(
        runPython(numpyPython, LOGITS, [
          join(t.project.saesDir, 'Feat_SAE'),
          t.project.checkpointDir('base'),
        ]),
      ) as number[][];
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
  }, 120_000);

  it('refuses a non-empty folder, a folder inside the project, and a latent the SAE does not have', async () => {
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
  });
});
