/**
 * sharedLatents against an independent reference: scipy's `linear_sum_assignment` on the cosine matrix of
 * the decoder (and encoder) rows, computed in float64 numpy from the definition of Paulo & Belrose 2025.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { sharedLatents } from '../../../src/core/analysis/dictionary-overlap.js';
import type { Matrix } from '../../../src/core/analysis/matrix.js';
import { Rng } from '../../../src/core/model/rng.js';
import { numpyPython, runPython } from '../store/python.js';

const scipyPython =
  numpyPython && spawnSync(numpyPython, ['-c', 'import scipy.optimize'], { encoding: 'utf8' }).status === 0
    ? numpyPython
    : null;

const dir = mkdtempSync(join(tmpdir(), 'overlap-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The reference: Hungarian assignment (maximised cosine) of decoders and encoders, shared when both agree. */
const REFERENCE = `
import json, sys
import numpy as np
from scipy.optimize import linear_sum_assignment
d = json.load(open(sys.argv[1]))
def mat(m): return np.array(m['data'], dtype=np.float64).reshape(m['rows'], m['cols'])
def assign(a, b):
    na = a / np.where(np.linalg.norm(a, axis=1, keepdims=True) > 0, np.linalg.norm(a, axis=1, keepdims=True), 1)
    nb = b / np.where(np.linalg.norm(b, axis=1, keepdims=True) > 0, np.linalg.norm(b, axis=1, keepdims=True), 1)
    c = na @ nb.T
    r, j = linear_sum_assignment(c, maximize=True)
    partner = -np.ones(a.shape[0], dtype=int); cos = np.full(a.shape[0], np.nan)
    partner[r] = j; cos[r] = c[r, j]
    return partner, cos
p, c = assign(mat(d['decA']), mat(d['decB']))
ok = (p >= 0) & (c > d['threshold'])
ec = None
if 'encA' in d:
    q, ec = assign(mat(d['encA']), mat(d['encB']))
    ok = ok & (q == p) & (ec > d['threshold'])
    ec = [None if np.isnan(x) else float(x) for x in ec]
print(json.dumps({'partner': p.tolist(), 'cosine': [None if np.isnan(x) else float(x) for x in c],
  'encoderCosine': ec, 'shared': int(ok.sum())}))
`;

function reference(decA: Matrix, decB: Matrix, threshold: number, enc?: { a: Matrix; b: Matrix }) {
  const plain = (m: Matrix) => ({ rows: m.rows, cols: m.cols, data: Array.from(m.data) });
  const file = join(dir, 'in.json');
  writeFileSync(
    file,
    JSON.stringify({
      decA: plain(decA),
      decB: plain(decB),
      threshold,
      ...(enc ? { encA: plain(enc.a), encB: plain(enc.b) } : {}),
    }),
  );
  return JSON.parse(runPython(scipyPython!, REFERENCE, [file])) as {
    partner: number[];
    cosine: (number | null)[];
    encoderCosine: (number | null)[] | null;
    shared: number;
  };
}

function random(rng: Rng, rows: number, cols: number): Matrix {
  const data = new Float32Array(rows * cols);
  for (let i = 0; i < data.length; i++) data[i] = rng.normal();
  return { data, rows, cols };
}

/** B's row j is A's row perm[j] plus noise for j < planted; the other rows of B are fresh noise. */
function plantedPair(rng: Rng, rows: number, cols: number, planted: number, noise: number) {
  const a = random(rng, rows, cols);
  const perm = rng.shuffle(Array.from({ length: rows }, (_, i) => i));
  const b = random(rng, rows, cols);
  for (let j = 0; j < planted; j++)
    for (let c = 0; c < cols; c++) b.data[j * cols + c] = a.data[perm[j] * cols + c] + noise * rng.normal();
  return { a, b, perm };
}

function expectEqualToReference(got: ReturnType<typeof sharedLatents>, ref: ReturnType<typeof reference>) {
  expect(Array.from(got.partner)).toEqual(ref.partner);
  ref.cosine.forEach((c, i) =>
    c === null ? expect(got.cosine[i]).toBeNaN() : expect(got.cosine[i]).toBeCloseTo(c, 10),
  );
  expect(got.shared).toBe(ref.shared);
}

describe.skipIf(!scipyPython)('sharedLatents (Paulo & Belrose 2025) against scipy', () => {
  it('random dictionaries: the same assignment and cosines as linear_sum_assignment, almost nothing shared', () => {
    const rng = new Rng(11);
    const a = random(rng, 40, 16);
    const b = random(rng, 40, 16);
    const got = sharedLatents(a, b);
    expectEqualToReference(got, reference(a, b, 0.7));
    expect(got.fraction).toBeLessThan(0.2);
  });

  it('planted dictionaries: the planted partners are found and counted shared, with and without encoders', () => {
    const rng = new Rng(5);
    const { a, b, perm } = plantedPair(rng, 30, 24, 18, 0.2);
    const got = sharedLatents(a, b);
    expectEqualToReference(got, reference(a, b, 0.7));
    for (let j = 0; j < 18; j++) expect(got.partner[perm[j]]).toBe(j);
    expect(got.shared).toBe(18);
    expect(got.fraction).toBeCloseTo(18 / 30, 12);

    // Encoders: the same plant for 10 of the 18 latents, fresh noise for the rest; only those 10 stay shared.
    const encA = random(rng, 30, 24);
    const encB = random(rng, 30, 24);
    for (let j = 0; j < 10; j++)
      for (let c = 0; c < 24; c++) encB.data[j * 24 + c] = encA.data[perm[j] * 24 + c] + 0.2 * rng.normal();
    const withEnc = sharedLatents(a, b, 0.7, { a: encA, b: encB });
    const ref = reference(a, b, 0.7, { a: encA, b: encB });
    expectEqualToReference(withEnc, ref);
    ref.encoderCosine!.forEach((c, i) => expect(withEnc.encoderCosine![i]).toBeCloseTo(c!, 10));
    expect(withEnc.shared).toBe(10);
  });

  it('rectangular dictionaries: the extra latents of A get no partner', () => {
    const rng = new Rng(8);
    const { a, b } = plantedPair(rng, 20, 12, 12, 0.05);
    const small = { data: b.data.slice(0, 14 * 12), rows: 14, cols: 12 };
    const got = sharedLatents(a, small, 0.9);
    expectEqualToReference(got, reference(a, small, 0.9));
    expect(Array.from(got.partner).filter((p) => p < 0)).toHaveLength(6);
    expect(got.shared).toBe(12);
  });
});

describe('sharedLatents input checks', () => {
  it('refuses rows of different sizes', () => {
    const rng = new Rng(1);
    expect(() => sharedLatents(random(rng, 4, 3), random(rng, 4, 5))).toThrow(
      /3 values but those of B have 5/,
    );
  });
});
