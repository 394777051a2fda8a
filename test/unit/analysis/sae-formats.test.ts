// SAEs in other tools' formats, against numpy references written from the published definitions (SAELens
// v6's encode of each architecture, Gemma Scope's JumpReLU), never from our TypeScript:
// - SAELens folders written by Python (standard, topk with rescale_acts_by_decoder_norm, a batchtopk
//   training checkpoint with its scalar topk_threshold in float64, jumprelu without b_dec on the input)
//   are read and encode like SAELens;
// - our SAEs exported in SAELens's format (input scale folded) are read by an independent Python reader
//   (json + safetensors parsed with numpy) that encodes and decodes like SAELens, and match our encoding of
//   the raw activations;
// - a crosscoder exported in dictionary_learning's layout computes, read with numpy, what its files with
//   their input scales compute;
// - Gemma Scope params.npz files from np.savez (float32) and np.savez_compressed (float16) read and encode
//   like a numpy JumpReLU; a missing tensor and a wrong shape are errors naming the file and the tensor.
import { beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../../../src/core/backend/index.js';
import { encodeSae, type Sae } from '../../../src/core/analysis/sae.js';
import { crosscoderSaeLensFiles, readSaeLens, saeLensFiles } from '../../../src/core/analysis/saelens.js';
import { readGemmaScope } from '../../../src/core/analysis/gemma-scope.js';
import { parseNpy } from '../../../src/core/analysis/npz.js';
import { serializeSafetensors } from '../../../src/core/model/safetensors.js';
import { Rng } from '../../../src/core/model/rng.js';
import type { Matrix } from '../../../src/core/analysis/matrix.js';
import { numpyPython, runPython } from '../store/python.js';
import { NUMPY_SAFETENSORS } from '../../helpers/numpy-safetensors.js';

beforeAll(async () => {
  await initBackend('cpu');
});

const root = mkdtempSync(join(tmpdir(), 'monoscope-sae-formats-'));
const D_IN = 8;
const D_SAE = 12;
const TOKENS = 40;

/** An npy file as a matrix. */
function npyMatrix(file: string): Matrix {
  const a = parseNpy(readFileSync(file), file);
  return { data: a.data as Float32Array, rows: a.shape[0], cols: a.shape[1] };
}

/** max |a - b| over two arrays of one length. */
function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Number of non-zero entries. */
const nonzero = (a: ArrayLike<number>) => Array.from(a).filter((v) => v !== 0).length;

// SAELens v6 encodes (sae_lens/saes/*.py): sae_in = x - b_dec * apply_b_dec_to_input; pre = sae_in W_enc +
// b_enc; standard: ReLU(pre); topk: pre * ||W_dec_i|| when rescale_acts_by_decoder_norm, then ReLU of the k
// largest; jumprelu: ReLU(pre) * (pre > ReLU(threshold)); a batchtopk training checkpoint is saved for
// inference as jumprelu with threshold = topk_threshold everywhere (its pre rescaled like topk's).
const PY_COMMON =
  NUMPY_SAFETENSORS +
  String.raw`
import os

def save_safetensors(path, arrays):
    header, blobs, off = {}, [], 0
    for name, a in arrays.items():
        dtype = {'float32': 'F32', 'float64': 'F64', 'float16': 'F16'}[str(a.dtype)]
        b = np.ascontiguousarray(a).astype(a.dtype.newbyteorder('<')).tobytes()
        header[name] = {'dtype': dtype, 'shape': list(a.shape), 'data_offsets': [off, off + len(b)]}
        off += len(b)
        blobs.append(b)
    h = json.dumps(header).encode()
    h += b' ' * ((8 - len(h) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)) + h + b''.join(blobs))


def encode(cfg, w, x):
    sae_in = x - w['b_dec'] * (1.0 if cfg.get('apply_b_dec_to_input', True) else 0.0)
    pre = sae_in @ w['W_enc'] + w['b_enc']
    arch = cfg.get('architecture', 'standard')
    if arch in ('topk', 'batchtopk'):
        default = arch == 'batchtopk'
        if cfg.get('rescale_acts_by_decoder_norm', default):
            pre = pre * np.linalg.norm(w['W_dec'], axis=1)
    if arch == 'standard':
        return np.maximum(pre, 0)
    if arch == 'topk':
        k = cfg['k']
        idx = np.argsort(-pre, axis=1)[:, :k]
        f = np.zeros_like(pre)
        np.put_along_axis(f, idx, np.maximum(np.take_along_axis(pre, idx, axis=1), 0), axis=1)
        return f
    theta = w['threshold'] if 'threshold' in w else np.full(pre.shape[1], float(w['topk_threshold']))
    return np.maximum(pre, 0) * (pre > np.maximum(theta, 0))

def decode(cfg, w, f, x):
    if cfg.get('architecture') in ('topk', 'batchtopk') and cfg.get('rescale_acts_by_decoder_norm', cfg.get('architecture') == 'batchtopk'):
        f = f / np.linalg.norm(w['W_dec'], axis=1)
    return f @ w['W_dec'] + w['b_dec']
`;

describe.skipIf(!numpyPython)('SAELens folders in', () => {
  it('standard, topk (decoder-norm rescaled), batchtopk (training checkpoint) and jumprelu folders encode like SAELens', () => {
    const dir = join(root, 'in');
    mkdirSync(dir, { recursive: true });
    runPython(
      numpyPython!,
      PY_COMMON +
        String.raw`
root = sys.argv[1]
d_in, d_sae, n = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rng = np.random.default_rng(3)
x = rng.normal(size=(n, d_in)).astype(np.float32)
np.save(os.path.join(root, 'x.npy'), x)
def weights():
    return {
        'W_enc': rng.normal(size=(d_in, d_sae)).astype(np.float32),
        'b_enc': (0.2 * rng.normal(size=d_sae)).astype(np.float32),
        'W_dec': rng.normal(size=(d_sae, d_in)).astype(np.float32),
        'b_dec': (0.3 * rng.normal(size=d_in)).astype(np.float32),
    }
cases = {
    'standard': ({'architecture': 'standard', 'apply_b_dec_to_input': True}, {}),
    'topk': ({'architecture': 'topk', 'k': 3, 'rescale_acts_by_decoder_norm': True}, {}),
    'batchtopk': ({'architecture': 'batchtopk', 'k': 3.5}, {'topk_threshold': np.array(1.25, dtype=np.float64)}),
    'jumprelu': ({'architecture': 'jumprelu', 'apply_b_dec_to_input': False},
                 {'threshold': np.abs(rng.normal(size=d_sae)).astype(np.float32)}),
}
for name, (cfg, extra) in cases.items():
    w = {**weights(), **extra}
    cfg = {**cfg, 'd_in': d_in, 'd_sae': d_sae, 'dtype': 'float32', 'normalize_activations': 'none',
           'metadata': {'sae_lens_version': '6.5.0', 'model_name': 'tiny', 'hook_name': 'blocks.1.hook_resid_post'}}
    folder = os.path.join(root, name)
    os.makedirs(folder)
    json.dump(cfg, open(os.path.join(folder, 'cfg.json'), 'w'))
    save_safetensors(os.path.join(folder, 'sae_weights.safetensors'), w)
    w64 = {k: v.astype(np.float64) for k, v in w.items()}
    np.save(os.path.join(folder, 'ref.npy'), encode(cfg, w64, x.astype(np.float64)).astype(np.float32))
`,
      [dir, String(D_IN), String(D_SAE), String(TOKENS)],
    );
    const x = npyMatrix(join(dir, 'x.npy'));
    for (const name of ['standard', 'topk', 'batchtopk', 'jumprelu']) {
      const imp = readSaeLens(join(dir, name));
      expect(imp.architecture).toBe(name);
      expect(imp.hook?.name).toBe('blocks.1.hook_resid_post');
      const ref = npyMatrix(join(dir, name, 'ref.npy'));
      const z = encodeSae(imp.sae, x);
      // Each case fires on some but not all latents, so the comparison tests the selection.
      expect(nonzero(ref.data), name).toBeGreaterThan(TOKENS);
      expect(nonzero(ref.data), name).toBeLessThan(TOKENS * D_SAE);
      expect(maxDiff(z.data, ref.data), name).toBeLessThan(1e-4);
    }
  });

  it('a missing tensor names the file and the tensor; a bad field names cfg.json and the field', () => {
    const folder = join(root, 'broken');
    mkdirSync(folder, { recursive: true });
    const tensors = new Map([
      ['W_enc', { shape: [D_IN, D_SAE], data: new Float32Array(D_IN * D_SAE) }],
      ['b_enc', { shape: [D_SAE], data: new Float32Array(D_SAE) }],
      ['W_dec', { shape: [D_SAE, D_IN], data: new Float32Array(D_SAE * D_IN) }],
      ['b_dec', { shape: [D_IN], data: new Float32Array(D_IN) }],
    ]);
    writeFileSync(join(folder, 'sae_weights.safetensors'), serializeSafetensors(tensors));
    const cfg = { architecture: 'jumprelu', d_in: D_IN, d_sae: D_SAE, normalize_activations: 'none' };
    writeFileSync(join(folder, 'cfg.json'), JSON.stringify(cfg));
    expect(() => readSaeLens(folder)).toThrow(
      `${join(folder, 'sae_weights.safetensors')}: tensor 'threshold' is missing`,
    );
    writeFileSync(join(folder, 'cfg.json'), JSON.stringify({ ...cfg, d_in: D_IN + 1 }));
    expect(() => readSaeLens(folder)).toThrow(
      /sae_weights\.safetensors: tensor 'W_enc' has shape \[8,12\], expected \[9,12\]/,
    );
    writeFileSync(join(folder, 'cfg.json'), JSON.stringify({ ...cfg, normalize_activations: 'layer_norm' }));
    expect(() => readSaeLens(folder)).toThrow(`${join(folder, 'cfg.json')}: field 'normalize_activations'`);
    writeFileSync(join(folder, 'cfg.json'), JSON.stringify({ ...cfg, architecture: 'gated' }));
    expect(() => readSaeLens(folder)).toThrow(`${join(folder, 'cfg.json')}: field 'architecture'`);
  });
});

/** A random SAE of ours with a non-trivial input scale (inputs are multiplied by it before encoding). */
function randomSae(kind: Sae['config']['kind'], applyBDecToInput: boolean, seed: number): Sae {
  const rng = new Rng(seed);
  const rand = (n: number, s: number) => Float32Array.from({ length: n }, () => s * rng.normal());
  return {
    config: { kind, dIn: D_IN, dSae: D_SAE, k: 4, applyBDecToInput },
    inputScale: 2.5,
    wEnc: rand(D_IN * D_SAE, 1),
    bEnc: rand(D_SAE, 0.2),
    wDec: rand(D_SAE * D_IN, 1),
    bDec: rand(D_IN, 0.5),
    ...(kind === 'jumprelu' && { threshold: Float32Array.from(rand(D_SAE, 1), Math.abs) }),
  };
}

/** Our reconstruction of `x`: (z W_dec + b_dec) / scale in float64. */
function reconstruct(sae: Sae, z: Matrix): Float64Array {
  const out = new Float64Array(z.rows * D_IN);
  for (let r = 0; r < z.rows; r++)
    for (let j = 0; j < D_IN; j++) {
      let s = sae.bDec[j];
      for (let i = 0; i < D_SAE; i++) s += z.data[r * D_SAE + i] * sae.wDec[i * D_IN + j];
      out[r * D_IN + j] = s / sae.inputScale;
    }
  return out;
}

describe.skipIf(!numpyPython)('SAELens folders out', () => {
  it('our topk, relu-l1 and jumprelu SAEs, read by a numpy SAELens reader, encode raw activations like ours', () => {
    const rng = new Rng(9);
    const x: Matrix = {
      data: Float32Array.from({ length: TOKENS * D_IN }, () => 0.4 * rng.normal()),
      rows: TOKENS,
      cols: D_IN,
    };
    const dir = join(root, 'out');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'x.json'), JSON.stringify(Array.from(x.data)));
    const cases: [string, Sae][] = [
      ['topk', randomSae('topk', true, 1)],
      ['relu-l1', randomSae('relu-l1', true, 2)],
      ['jumprelu', randomSae('jumprelu', false, 3)],
    ];
    for (const [name, sae] of cases) {
      const { cfg, tensors } = saeLensFiles(sae, {
        modelName: 'base',
        tap: 'blocks.1.mlp.post',
        contextSize: 16,
        extra: {},
      });
      const folder = join(dir, name);
      mkdirSync(folder);
      writeFileSync(join(folder, 'cfg.json'), JSON.stringify(cfg));
      writeFileSync(join(folder, 'sae_weights.safetensors'), serializeSafetensors(tensors, { format: 'pt' }));
    }
    const out = JSON.parse(
      runPython(
        numpyPython!,
        PY_COMMON +
          String.raw`
root = sys.argv[1]
x = np.array(json.load(open(os.path.join(root, 'x.json'))), dtype=np.float64).reshape(-1, int(sys.argv[2]))
res = {}
for name in sys.argv[3:]:
    folder = os.path.join(root, name)
    cfg = json.load(open(os.path.join(folder, 'cfg.json')))
    w = tensors(os.path.join(folder, 'sae_weights.safetensors'))
    f = encode(cfg, w, x)
    res[name] = {'cfg': cfg, 'f': f.ravel().tolist(), 'x_hat': decode(cfg, w, f, x).ravel().tolist()}
print(json.dumps(res))
`,
        [dir, String(D_IN), ...cases.map(([n]) => n)],
      ),
    );
    for (const [name, sae] of cases) {
      const { cfg, f, x_hat } = out[name];
      expect(cfg.architecture).toBe({ topk: 'topk', 'relu-l1': 'standard', jumprelu: 'jumprelu' }[name]);
      expect(cfg.normalize_activations).toBe('none');
      expect(cfg.apply_b_dec_to_input).toBe(name !== 'jumprelu');
      expect(cfg.metadata.hook_name).toBe('blocks.1.mlp.hook_post');
      const z = encodeSae(sae, x);
      expect(nonzero(z.data), name).toBeGreaterThan(TOKENS);
      expect(maxDiff(z.data, f), name).toBeLessThan(1e-4);
      expect(maxDiff(reconstruct(sae, z), x_hat), name).toBeLessThan(1e-4);
    }
  });
});

describe.skipIf(!numpyPython)('Gemma Scope params.npz in', () => {
  it('np.savez (float32) and np.savez_compressed (float16) files encode like a numpy JumpReLU without b_dec on the input', () => {
    const dir = join(root, 'gemma');
    mkdirSync(dir, { recursive: true });
    runPython(
      numpyPython!,
      String.raw`
import sys, os
import numpy as np
root, d_in, d_sae, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rng = np.random.default_rng(5)
x = rng.normal(size=(n, d_in)).astype(np.float32)
np.save(os.path.join(root, 'x.npy'), x)
for name, dtype, save in [('f32', np.float32, np.savez), ('f16', np.float16, np.savez_compressed)]:
    p = {
        'W_enc': rng.normal(size=(d_in, d_sae)).astype(dtype),
        'W_dec': rng.normal(size=(d_sae, d_in)).astype(dtype),
        'b_enc': (0.2 * rng.normal(size=d_sae)).astype(dtype),
        'b_dec': rng.normal(size=d_in).astype(dtype),
        'threshold': np.abs(rng.normal(size=d_sae)).astype(dtype),
    }
    os.makedirs(os.path.join(root, name))
    save(os.path.join(root, name, 'params.npz'), **p)
    w = {k: v.astype(np.float64) for k, v in p.items()}
    pre = x.astype(np.float64) @ w['W_enc'] + w['b_enc']
    f = (pre > w['threshold']) * np.maximum(pre, 0)
    np.save(os.path.join(root, name, 'ref.npy'), f.astype(np.float32))
bad = dict(np.load(os.path.join(root, 'f32', 'params.npz')))
bad['W_dec'] = bad['W_dec'].T.copy()
os.makedirs(os.path.join(root, 'bad'))
np.savez(os.path.join(root, 'bad', 'params.npz'), **bad)
`,
      [dir, String(D_IN), String(D_SAE), String(TOKENS)],
    );
    const x = npyMatrix(join(dir, 'x.npy'));
    for (const name of ['f32', 'f16']) {
      const imp = readGemmaScope(join(dir, name, 'params.npz'));
      expect(imp.sae.config).toMatchObject({
        kind: 'jumprelu',
        dIn: D_IN,
        dSae: D_SAE,
        applyBDecToInput: false,
      });
      const ref = npyMatrix(join(dir, name, 'ref.npy'));
      expect(nonzero(ref.data), name).toBeGreaterThan(TOKENS);
      expect(nonzero(ref.data), name).toBeLessThan(TOKENS * D_SAE);
      expect(maxDiff(encodeSae(imp.sae, x).data, ref.data), name).toBeLessThan(1e-4);
    }
    const bad = join(dir, 'bad', 'params.npz');
    expect(() => readGemmaScope(bad)).toThrow(
      `${bad}: tensor 'W_dec' has shape [8,12], expected [12,8] from W_enc's shape [d_model 8, d_sae 12]`,
    );
  });
});

describe.skipIf(!numpyPython)('crosscoders out', () => {
  it("a BatchTopK crosscoder's export, read with numpy, encodes and decodes raw activations like the contract's files with their input scales", () => {
    const [M, dIn, dSae] = [2, 6, 10];
    const rng = new Rng(11);
    const rand = (n: number, s: number) => Float32Array.from({ length: n }, () => s * rng.normal());
    const folder = join(root, 'crosscoder');
    mkdirSync(folder, { recursive: true });
    const cfg = {
      kind: 'batchtopk',
      dIn,
      dSae,
      nModels: M,
      k: 3,
      inputScales: [1.5, 0.5],
      checkpoints: ['base', 'dpo'],
      tap: 'blocks.1.resid_post',
    };
    writeFileSync(join(folder, 'cfg.json'), JSON.stringify(cfg));
    const weights = new Map([
      ['W_enc', { shape: [M, dIn, dSae], data: rand(M * dIn * dSae, 1) }],
      ['b_enc', { shape: [dSae], data: rand(dSae, 0.2) }],
      ['W_dec', { shape: [dSae, M, dIn], data: rand(dSae * M * dIn, 1) }],
      ['b_dec', { shape: [M, dIn], data: rand(M * dIn, 0.5) }],
      ['threshold', { shape: [dSae], data: new Float32Array(dSae).fill(0.8) }],
    ]);
    writeFileSync(join(folder, 'sae_weights.safetensors'), serializeSafetensors(weights));
    const { cfg: outCfg, tensors } = crosscoderSaeLensFiles(folder, {
      tap: 'blocks.1.resid_post',
      contextSize: 16,
      extra: {},
    });
    const out = join(root, 'crosscoder-out');
    mkdirSync(out);
    writeFileSync(join(out, 'cfg.json'), JSON.stringify(outCfg));
    writeFileSync(join(out, 'sae_weights.safetensors'), serializeSafetensors(tensors));
    // The contract: f = JumpReLU_θ(Σ_m (s_m x^m) W_enc[m] + b_enc), x̂^m = (f W_dec[:, m] + b_dec[m]) / s_m;
    // the export (dictionary_learning's layout): the same with s_m = 1 on its own weights.
    const r = JSON.parse(
      runPython(
        numpyPython!,
        PY_COMMON +
          String.raw`
src, out = sys.argv[1], sys.argv[2]
c = json.load(open(os.path.join(src, 'cfg.json')))
w = tensors(os.path.join(src, 'sae_weights.safetensors'))
e_cfg = json.load(open(os.path.join(out, 'cfg.json')))
e = tensors(os.path.join(out, 'sae_weights.safetensors'))
rng = np.random.default_rng(2)
x = rng.normal(size=(30, c['nModels'], c['dIn']))
def run(w, scales):
    pre = sum((scales[m] * x[:, m]) @ w['W_enc'][m] for m in range(len(scales))) + w['b_enc']
    f = np.maximum(pre, 0) * (pre > np.maximum(w['threshold'], 0))
    x_hat = np.stack([(f @ w['W_dec'][:, m] + w['b_dec'][m]) / scales[m] for m in range(len(scales))], axis=1)
    return f, x_hat
f0, h0 = run(w, c['inputScales'])
f1, h1 = run(e, [1.0] * c['nModels'])
print(json.dumps({'cfg': e_cfg, 'fired': int((f0 > 0).sum()), 'f': float(np.abs(f0 - f1).max()),
                  'x_hat': float(np.abs(h0 - h1).max())}))
`,
        [folder, out],
      ),
    );
    expect(r.cfg).toMatchObject({
      architecture: 'jumprelu',
      n_models: M,
      d_in: dIn,
      d_sae: dSae,
      apply_b_dec_to_input: false,
      normalize_activations: 'none',
      layout: { W_dec: 'd_sae n_models d_in', b_dec: 'n_models d_in' },
      metadata: { hook_name: 'blocks.1.hook_resid_post', model_names: ['base', 'dpo'] },
    });
    expect(r.fired).toBeGreaterThan(30);
    expect(r.fired).toBeLessThan(30 * dSae);
    expect(r.f).toBeLessThan(1e-4);
    expect(r.x_hat).toBeLessThan(1e-4);
  });
});
