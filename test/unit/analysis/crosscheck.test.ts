/**
 * Cross-checks against numpy, SciPy and scikit-learn on files written to disk: our numbers must match what
 * test/python/crosscheck_analysis.py computes from the same .npy files. CI installs python3-numpy,
 * python3-scipy and python3-sklearn; a machine without them skips this file (and says so).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { linearSumAssignment } from 'linear-sum-assignment';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/core/backend/index.js';
import { pearsonMatrix } from '../../../src/core/analysis/correlation.js';
import { monosemanticity } from '../../../src/core/analysis/monosemanticity.js';
import { rsa } from '../../../src/core/analysis/rsa.js';
import { effectiveRank, hoyerSparsity } from '../../../src/core/analysis/sparsity.js';
import { svcca } from '../../../src/core/analysis/svcca.js';
import { npyHeader } from '../../../src/core/store/export.js';
import { writeMatrixNpy, writeRecordsCsv } from '../../../src/core/analysis/export.js';
import { Rng } from '../../../src/core/model/rng.js';

const PY = '/usr/bin/python3';
const hasPython = spawnSync(PY, ['-c', 'import numpy, scipy, sklearn'], { encoding: 'utf8' }).status === 0;
if (!hasPython)
  console.warn('crosscheck: /usr/bin/python3 with numpy, scipy and sklearn not found; skipping');

type M = { data: Float32Array; rows: number; cols: number };
const writeNpy = (file: string, m: M) =>
  writeFileSync(
    file,
    Buffer.concat([
      npyHeader([m.rows, m.cols]),
      Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength),
    ]),
  );

describe.skipIf(!hasPython)('analysis numerics vs numpy / SciPy / scikit-learn', () => {
  const dir = mkdtempSync(join(tmpdir(), 'monoscope-crosscheck-'));
  const rng = new Rng(2024);
  const gauss = (rows: number, cols: number): M => ({
    data: Float32Array.from({ length: rows * cols }, () => rng.normal()),
    rows,
    cols,
  });
  // x: 500 tokens x 40 neurons with a few shared factors and a ReLU, as MLP activations look.
  const x = gauss(500, 40);
  for (let r = 0; r < 500; r++) {
    const f = [rng.normal(), rng.normal()];
    for (let c = 0; c < 40; c++)
      x.data[r * 40 + c] = Math.max(0, x.data[r * 40 + c] + f[c % 2] * (c / 20)) + 0.01 * c;
  }
  // a, b: 300 paired rows; b is a noisy linear map of a.
  const a = gauss(300, 20);
  const b: M = { data: new Float32Array(300 * 16), rows: 300, cols: 16 };
  const W = Float64Array.from({ length: 20 * 16 }, () => rng.normal());
  for (let r = 0; r < 300; r++) {
    for (let j = 0; j < 16; j++) {
      let s = 0;
      for (let i = 0; i < 20; i++) s += a.data[r * 20 + i] * W[i * 16 + j];
      b.data[r * 16 + j] = s + 2 * rng.normal();
    }
  }
  // act: 400 tokens x 6 neurons, some tied to concepts.
  const names = ['colour', 'animal', 'food', null];
  const labels = Array.from({ length: 400 }, (_, i) => names[(i * 7) % 4]);
  const act = gauss(400, 6);
  for (let r = 0; r < 400; r++)
    for (let j = 0; j < 3; j++) if (labels[r] === names[j]) act.data[r * 6 + j] += 2 + j;
  const cost = gauss(12, 9);
  let ref: Record<string, any>;

  beforeAll(async () => {
    await initBackend('wasm');
    writeNpy(join(dir, 'x.npy'), x);
    writeNpy(join(dir, 'a.npy'), a);
    writeNpy(join(dir, 'b.npy'), b);
    writeNpy(join(dir, 'act.npy'), act);
    writeNpy(join(dir, 'cost.npy'), cost);
    writeFileSync(join(dir, 'labels.json'), JSON.stringify(labels));
    const r = spawnSync(PY, ['test/python/crosscheck_analysis.py', dir], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`crosscheck_analysis.py failed: ${r.stderr}`);
    ref = JSON.parse(r.stdout);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('Pearson matrix matches np.corrcoef (float32 Gram: within 2e-6)', () => {
    const c = pearsonMatrix(x, { chunkRows: 128, blockCols: 16 });
    let maxErr = 0;
    for (let i = 0; i < c.corr.length; i++) maxErr = Math.max(maxErr, Math.abs(c.corr[i] - ref.pearson[i]));
    expect(maxErr).toBeLessThan(2e-6);
  });

  it('effective rank matches exp(entropy) of np.linalg.eigvalsh of np.cov', () => {
    expect(effectiveRank(x).effectiveRank).toBeCloseTo(ref.effective_rank, 4);
  });

  it('Hoyer sparsity matches the numpy formula per token', () => {
    const h = hoyerSparsity(x).perToken;
    for (let i = 0; i < h.length; i++) expect(h[i]).toBeCloseTo(ref.hoyer[i], 10);
  });

  it('SVCCA (intended mode) matches a numpy SVD + QR + SVD reference, including the k kept', () => {
    const s = svcca(a, b);
    expect(s.kA).toBe(ref.svcca.kA);
    expect(s.kB).toBe(ref.svcca.kB);
    expect(s.score).toBeCloseTo(ref.svcca.score, 8);
  });

  it('RSA matches scipy.stats.spearmanr on the upper triangles of np.corrcoef RDMs', () => {
    expect(rsa(a, b).score).toBeCloseTo(ref.rsa, 8);
  });

  it('NMI matches sklearn normalized_mutual_info_score on the binned activations', () => {
    const res = monosemanticity(act, labels, { bins: 10 });
    res.neurons.forEach((n, j) => expect(n.nmi).toBeCloseTo(ref.nmi[j], 10));
  });

  it('the Hungarian matching package agrees with scipy.optimize.linear_sum_assignment', () => {
    const rows = Array.from({ length: 12 }, (_, i) =>
      Float64Array.from(cost.data.subarray(i * 9, i * 9 + 9)),
    );
    const { rowAssignments } = linearSumAssignment(rows, { maximaze: true });
    let total = 0;
    rowAssignments.forEach((c, r) => {
      if (c >= 0) total += rows[r][c];
    });
    expect(total).toBeCloseTo(ref.assignment_total, 5);
  });
});

describe.skipIf(!hasPython)('analysis exports read back in numpy', () => {
  it('writes a matrix as .npy and a neuron table as CSV that numpy parses to the same values', () => {
    const dir = mkdtempSync(join(tmpdir(), 'monoscope-export-'));
    try {
      const m = { data: Float32Array.from([1.5, -2, 0.1, 3, 4, 5]), rows: 2, cols: 3 };
      writeMatrixNpy(join(dir, 'm.npy'), m);
      writeRecordsCsv(join(dir, 't.csv'), [
        { neuron: 0, label: 'dead', concept: null, share: 0.1 },
        { neuron: 1, label: 'a, "quoted"', concept: 'colour', share: 1 / 3 },
      ]);
      const code = [
        'import sys, csv, json, numpy as np',
        'm = np.load(sys.argv[1] + "/m.npy")',
        'rows = list(csv.DictReader(open(sys.argv[1] + "/t.csv")))',
        'print(json.dumps({"shape": list(m.shape), "m": m.ravel().tolist(), "rows": rows}))',
      ].join('\n');
      const r = spawnSync(PY, ['-c', code, dir], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout);
      expect(out.shape).toEqual([2, 3]);
      expect(out.m).toEqual([...m.data]);
      expect(out.rows[1]).toEqual({
        neuron: '1',
        label: 'a, "quoted"',
        concept: 'colour',
        share: String(1 / 3),
      });
      expect(out.rows[0].concept).toBe('');
      expect(Number(out.rows[1].share)).toBe(1 / 3);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
