/**
 * sharedLatents against an independent reference: scipy's `linear_sum_assignment` on the cosine matrix of
 * the decoder (and encoder) rows, computed in float64 numpy from the definition of Paulo & Belrose 2025.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
cases = json.load(open(sys.argv[1]))
def mat(m): return np.array(m['data'], dtype=np.float64).reshape(m['rows'], m['cols'])
def assign(a, b):
    na = a / np.where(np.linalg.norm(a, axis=1, keepdims=True) > 0, np.linalg.norm(a, axis=1, keepdims=True), 1)
    nb = b / np.where(np.linalg.norm(b, axis=1, keepdims=True) > 0, np.linalg.norm(b, axis=1, keepdims=True), 1)
    c = na @ nb.T
    r, j = linear_sum_assignment(c, maximize=True)
    partner = -np.ones(a.shape[0], dtype=int); cos = np.full(a.shape[0], np.nan)
    partner[r] = j; cos[r] = c[r, j]
    return partner, cos
def nums(v): return [None if np.isnan(x) else float(x) for x in v]
out = {}
for name, d in cases.items():
    p, c = assign(mat(d['decA']), mat(d['decB']))
    ok = (p >= 0) & (c > d['threshold'])
    ec = None
    if 'encA' in d:
        q, ec = assign(mat(d['encA']), mat(d['encB']))
        ok = ok & (q == p) & (ec > d['threshold'])
        ec = nums(ec)
    out[name] = {'partner': p.tolist(), 'cosine': nums(c), 'encoderCosine': ec, 'shared': int(ok.sum())}
print(json.dumps(out))
`;

interface Case {
  a: Matrix;
  b: Matrix;
  threshold: number;
  enc?: { a: Matrix; b: Matrix };
}
interface Reference {
  partner: number[];
  cosine: (number | null)[];
  encoderCosine: (number | null)[] | null;
  shared: number;
}

/** The reference of every case, from one Python run. */
function references(cases: Record<string, Case>): Record<string, Reference> {
  const plain = (m: Matrix) => ({ rows: m.rows, cols: m.cols, data: Array.from(m.data) });
  const input = Object.fromEntries(
    Object.entries(cases).map(([name, c]) => [
      name,
      {
        decA: plain(c.a),
        decB: plain(c.b),
        threshold: c.threshold,
        ...(c.enc ? { encA: plain(c.enc.a), encB: plain(c.enc.b) } : {}),
      },
    ]),
  );
  const file = join(dir, 'cases.json');
  writeFileSync(file, JSON.stringify(input));
  return JSON.parse(runPython(scipyPython!, REFERENCE, [file])) as Record<string, Reference>;
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

function expectEqualToReference(got: ReturnType<typeof sharedLatents>, ref: Reference) {
  expect(Array.from(got.partner)).toEqual(ref.partner);
  ref.cosine.forEach((c, i) =>
    c === null ? expect(got.cosine[i]).toBeNaN() : expect(got.cosine[i]).toBeCloseTo(c, 10),
  );
  expect(got.shared).toBe(ref.shared);
}

/** The dictionaries of the tests: random, planted (with and without encoders), rectangular. */
function cases() {
  let rng = new Rng(11);
  const random40 = { a: random(rng, 40, 16), b: random(rng, 40, 16), threshold: 0.7 };
  rng = new Rng(5);
  const { a, b, perm } = plantedPair(rng, 30, 24, 18, 0.2);
  // Encoders: the same plant for 10 of the 18 latents, fresh noise for the rest.
  const encA = random(rng, 30, 24);
  const encB = random(rng, 30, 24);
  for (let j = 0; j < 10; j++)
    for (let c = 0; c < 24; c++) encB.data[j * 24 + c] = encA.data[perm[j] * 24 + c] + 0.2 * rng.normal();
  rng = new Rng(8);
  const r = plantedPair(rng, 20, 12, 12, 0.05);
  const small = { data: r.b.data.slice(0, 14 * 12), rows: 14, cols: 12 };
  return {
    perm,
    all: {
      random: random40,
      planted: { a, b, threshold: 0.7 },
      encoders: { a, b, threshold: 0.7, enc: { a: encA, b: encB } },
      rectangular: { a: r.a, b: small, threshold: 0.9 },
    } satisfies Record<string, Case>,
  };
}

describe.skipIf(!scipyPython)('sharedLatents (Paulo & Belrose 2025) against scipy', () => {
  const { perm, all } = cases();
  let refs: Record<string, Reference>;
  beforeAll(() => {
    refs = references(all);
  }, 60_000);
  const run = (c: Case) => sharedLatents(c.a, c.b, c.threshold, c.enc);

  it('random dictionaries: the same assignment and cosines as linear_sum_assignment, almost nothing shared', () => {
    const got = run(all.random);
    expectEqualToReference(got, refs.random);
    expect(got.fraction).toBeLessThan(0.2);
  });

  it('planted dictionaries: the planted partners are found and counted shared, with and without encoders', () => {
    const got = run(all.planted);
    expectEqualToReference(got, refs.planted);
    for (let j = 0; j < 18; j++) expect(got.partner[perm[j]]).toBe(j);
    expect(got.shared).toBe(18);
    expect(got.fraction).toBeCloseTo(18 / 30, 12);
    // With encoders only the 10 latents planted in both stay shared.
    const withEnc = run(all.encoders);
    expectEqualToReference(withEnc, refs.encoders);
    refs.encoders.encoderCosine!.forEach((c, i) => expect(withEnc.encoderCosine![i]).toBeCloseTo(c!, 10));
    expect(withEnc.shared).toBe(10);
  });

  it('rectangular dictionaries: the extra latents of A get no partner', () => {
    const got = run(all.rectangular);
    expectEqualToReference(got, refs.rectangular);
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
