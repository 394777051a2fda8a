import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/core/backend/index.js';
import type { Matrix } from '../../../src/core/analysis/matrix.js';
import { encodeCrosscoder, type Crosscoder } from '../../../src/core/diff/crosscoder.js';
import {
  decoderCosines,
  latentPairs,
  latentScaling,
  latentTag,
  relativeDecoderNorm,
} from '../../../src/core/diff/latents.js';
import { Rng } from '../../../src/core/model/rng.js';
import { numpyPython, runPython } from '../store/python.js';

beforeAll(async () => {
  await initBackend('cpu');
});

const dIn = 4;
const dSae = 5;
/** Planted decoder blocks [d^A, d^B] per latent. */
const s = Math.SQRT1_2;
const planted: [number[], number[]][] = [
  [
    [2, 0, 0, 0],
    [0, 0, 0, 0],
  ], // 0: A only
  [
    [0, 1, 0, 0],
    [0, 0.6, 0.8, 0],
  ], // 1: both, equal norms, cosine 0.6
  [
    [0, 0, 0, 0],
    [0, 0, 0, 1.5],
  ], // 2: B only
  [
    [2 * s, 2 * s, 0, 0],
    [s, s, 0, 0],
  ], // 3: A's norm twice B's: Δ = 0.75, cosine 1
  [
    [0.05, 0, 0.05, 0],
    [0.6, 0, 0.8, 0],
  ], // 4: almost only B: Δ = (0.0707 − 1 + 1) / 2
];

/** A hand-made BatchTopK crosscoder of 2 models with the planted decoders and a random encoder. */
function handCrosscoder(nModels = 2, seed = 5): Crosscoder {
  const r = new Rng(seed);
  const wDec = new Float32Array(dSae * nModels * dIn);
  planted.forEach((blocks, i) => {
    for (let m = 0; m < nModels; m++) wDec.set(blocks[m % 2], (i * nModels + m) * dIn);
  });
  return {
    config: {
      kind: 'batchtopk',
      nModels,
      dIn,
      dSae,
      k: 2,
      l1Coefficient: 5,
      lr: 1e-3,
      batchSize: 16,
      steps: 1,
      seed: 0,
    },
    inputScales: Array.from({ length: nModels }, (_, m) => [1.3, 0.7, 1.1][m]),
    wEnc: Float32Array.from({ length: nModels * dIn * dSae }, () => 0.6 * r.normal()),
    bEnc: Float32Array.from({ length: dSae }, () => 0.1 * r.normal()),
    wDec,
    bDec: Float32Array.from({ length: nModels * dIn }, () => 0.2 * r.normal()),
    threshold: new Float32Array(dSae).fill(0.1),
  };
}

function randomActs(rows: number, seed: number, nModels = 2): Matrix[] {
  const r = new Rng(seed);
  return Array.from({ length: nModels }, () => ({
    data: Float32Array.from({ length: rows * dIn }, () => r.normal() + 0.2),
    rows,
    cols: dIn,
  }));
}

describe('Δ, tags and cosines on a planted dictionary', () => {
  it('Δ is 1 for a latent decoded only in A, 0.5 for equal norms, 0 only in B; tags follow the thresholds', () => {
    const delta = relativeDecoderNorm([2, 1, 0, 2, Math.hypot(0.05, 0.05)], [0, 1, 1.5, 1, 1]);
    expect([...delta.slice(0, 4)]).toEqual([1, 0.5, 0, 0.75]);
    expect(delta[4]).toBeCloseTo(Math.hypot(0.05, 0.05) / 2, 12);
    const t = { specific: 0.9, shared: 0.1 };
    expect([...delta].map((d) => latentTag(d, t))).toEqual(['a-only', 'shared', 'b-only', 'other', 'b-only']);
    // The thresholds are strict and configurable.
    expect(latentTag(0.9, t)).toBe('other');
    expect(latentTag(0.61, t)).toBe('other');
    expect(latentTag(0.59, t)).toBe('shared');
    expect(latentTag(0.75, { specific: 0.7, shared: 0.1 })).toBe('a-only');
    expect(latentTag(NaN, t)).toBe('other');
  });

  it('cosines of the two decoder vectors, NaN where one is zero', () => {
    const cos = decoderCosines(handCrosscoder(), 0, 1);
    expect(cos[0]).toBeNaN();
    expect(cos[1]).toBeCloseTo(0.6, 6);
    expect(cos[2]).toBeNaN();
    expect(cos[3]).toBeCloseTo(1, 6);
    expect(cos[4]).toBeCloseTo((0.05 * 0.6 + 0.05 * 0.8) / (Math.hypot(0.05, 0.05) * 1), 6);
  });

  it('latentPairs reads every pair a < b of 3 models, with ν only for b-only latents', () => {
    // Model m decodes with block m % 2: models 0 and 2 are alike, model 1 differs.
    const cc = handCrosscoder(3);
    const xs = randomActs(300, 8, 3);
    const pairs = latentPairs(cc, xs, { specific: 0.9, shared: 0.1 });
    expect(pairs.map((p) => [p.a, p.b])).toEqual([
      [0, 1],
      [0, 2],
      [1, 2],
    ]);
    expect(pairs[0].tag).toEqual(['a-only', 'shared', 'b-only', 'other', 'b-only']);
    // Models 0 and 2 decode alike: Δ = 0.5 everywhere, NaN where both blocks are zero.
    expect(pairs[1].tag).toEqual(['shared', 'shared', 'other', 'shared', 'shared']);
    expect(pairs[2].tag).toEqual(['b-only', 'shared', 'a-only', 'other', 'a-only']);
    expect(pairs[0].counts).toEqual({ 'a-only': 1, 'b-only': 2, shared: 1, other: 1 });
    expect(pairs[1].delta[0]).toBe(0.5);
    expect(pairs[1].delta[2]).toBeNaN();
    for (const p of pairs) {
      p.tag.forEach((t, i) => {
        if (t !== 'b-only') expect(p.nuError[i]).toBeNull();
      });
    }
    const z = encodeCrosscoder(cc, xs);
    const scaling = latentScaling(cc, xs, z, 0, 1, [2, 4]);
    expect(latentScaling(cc, xs, z, 0, 2, []).nuError).toHaveLength(0);
    expect(pairs[0].nuError[2]).toBeCloseTo(scaling.nuError[0], 12);
    expect(pairs[0].nuRecon[4]).toBeCloseTo(scaling.nuRecon[1], 12);
  });
});

// The closed form of Latent Scaling (Minder et al. 2025, §4) in float64 numpy, from the published definition:
// z = JumpReLU_θ(Σ_m W_enc^m x^m s_m + b_enc); x̂^m = z W_dec^m + b_dec^m; for latent j with d = d_j^B,
// β(y) = Σ_t z_tj ⟨d, y_t⟩ / (||d||² Σ_t z_tj²); ε^m = x^m s_m − (x̂^m − z_j d_j^m), r^m = x̂^m;
// ν^ε = β(ε^A) / β(ε^B), ν^r = β(r^A) / β(r^B).
const NUMPY_LATENT_SCALING = `
import json, sys
import numpy as np
c = json.load(open(sys.argv[1]))
n, d_in, d_sae = c["n"], c["d_in"], c["d_sae"]
W_enc = np.array(c["wEnc"], dtype=np.float64).reshape(n, d_in, d_sae)
W_dec = np.array(c["wDec"], dtype=np.float64).reshape(d_sae, n, d_in)
b_enc = np.array(c["bEnc"], dtype=np.float64)
b_dec = np.array(c["bDec"], dtype=np.float64).reshape(n, d_in)
X = [np.array(x, dtype=np.float64).reshape(-1, d_in) * s for x, s in zip(c["xs"], c["scales"])]
pre = sum(X[m] @ W_enc[m] for m in range(n)) + b_enc
z = pre * (pre > c["theta"])
xhat = [z @ W_dec[:, m, :] + b_dec[m] for m in range(n)]
a, b = c["a"], c["b"]
out = {"z": z.ravel().tolist(), "betaErrorA": [], "betaErrorB": [], "betaReconA": [], "betaReconB": []}
for j in c["latents"]:
    d = W_dec[j, b]
    f = z[:, j]
    beta = lambda y: float(f @ (y @ d) / ((d @ d) * (f @ f)))
    out["betaErrorA"].append(beta(X[a] - (xhat[a] - np.outer(f, W_dec[j, a]))))
    out["betaErrorB"].append(beta(X[b] - (xhat[b] - np.outer(f, d))))
    out["betaReconA"].append(beta(xhat[a]))
    out["betaReconB"].append(beta(xhat[b]))
print(json.dumps(out))
`;

describe.skipIf(!numpyPython)('Latent Scaling against a float64 numpy reference', () => {
  const dir = mkdtempSync(join(tmpdir(), 'monoscope-nu-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('β of the error and the reconstruction in each model, and ν^ε, ν^r, for the b-only latents', () => {
    const cc = handCrosscoder();
    const xs = randomActs(400, 9);
    const file = join(dir, 'cc.json');
    const latents = [2, 4];
    writeFileSync(
      file,
      JSON.stringify({
        n: 2,
        d_in: dIn,
        d_sae: dSae,
        wEnc: [...cc.wEnc],
        wDec: [...cc.wDec],
        bEnc: [...cc.bEnc],
        bDec: [...cc.bDec],
        scales: cc.inputScales,
        theta: cc.threshold![0],
        xs: xs.map((x) => [...x.data]),
        a: 0,
        b: 1,
        latents,
      }),
    );
    const want = JSON.parse(runPython(numpyPython!, NUMPY_LATENT_SCALING, [file]));
    const z = encodeCrosscoder(cc, xs);
    // The encoder agrees (JumpReLU with θ), and both latents fire on part of the tokens.
    z.data.forEach((v, i) => expect(Math.abs(v - want.z[i])).toBeLessThan(1e-5));
    for (const l of latents) {
      const firing = Array.from({ length: z.rows }, (_, t) => z.data[t * dSae + l]).filter((v) => v > 0);
      expect(firing.length).toBeGreaterThan(20);
      expect(firing.length).toBeLessThan(z.rows);
    }
    const got = latentScaling(cc, xs, z, 0, 1, latents);
    for (const key of ['betaErrorA', 'betaErrorB', 'betaReconA', 'betaReconB'] as const) {
      latents.forEach((_, j) => {
        // float32 projections, float64 sums: 1e-5 relative to the β of B (the scale of the ratios).
        const scale = Math.max(1, Math.abs(want[key.replace(/A$/, 'B')][j]));
        expect(Math.abs(got[key][j] - want[key][j]) / scale, `${key}[${j}]`).toBeLessThan(1e-5);
      });
    }
    latents.forEach((_, j) => {
      expect(got.nuError[j]).toBeCloseTo(want.betaErrorA[j] / want.betaErrorB[j], 4);
      expect(got.nuRecon[j]).toBeCloseTo(want.betaReconA[j] / want.betaReconB[j], 4);
    });
  });

  it("β^ε of A rises by exactly 1 when A's activations carry the latent's B direction (an artifact)", () => {
    // Add z_2 d_2^B (in the scaled space) to model A's activations: the least-squares fit of z_2 d_2^B to
    // A's error takes all of it, and B's fit is unchanged, so ν^ε rises by 1 / β^ε_B.
    const cc = handCrosscoder();
    const rows = 400;
    const xs = randomActs(rows, 10);
    const z = encodeCrosscoder(cc, xs);
    const xa = Float32Array.from(xs[0].data);
    for (let t = 0; t < rows; t++) {
      const f = z.data[t * dSae + 2];
      for (let c = 0; c < dIn; c++) xa[t * dIn + c] += (f * planted[2][1][c]) / cc.inputScales[0];
    }
    const carried: Matrix[] = [{ data: xa, rows, cols: dIn }, xs[1]];
    // The codes stay those of `xs` (the same z feeds both fits), so the fits differ only in A's target.
    const plain = latentScaling(cc, xs, z, 0, 1, [2]);
    const artifact = latentScaling(cc, carried, z, 0, 1, [2]);
    expect(artifact.betaErrorA[0] - plain.betaErrorA[0]).toBeCloseTo(1, 4);
    expect(artifact.betaErrorB[0]).toBe(plain.betaErrorB[0]);
    expect(artifact.betaReconA[0]).toBe(plain.betaReconA[0]);
    expect(artifact.nuError[0] - plain.nuError[0]).toBeCloseTo(1 / plain.betaErrorB[0], 4);
  });
});
