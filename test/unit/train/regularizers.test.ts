import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '../../helpers/backend.js';
import {
  authorsPenalty,
  authorsPenaltyClosedForm,
  barlowPenalty,
  meanAbsCorrelation,
  rowcosPenalty,
} from '../../../src/core/train/regularizers.js';
import { Rng } from '../../../src/core/model/rng.js';

beforeAll(async () => {
  await useBackend('cpu');
});

const n = 7;
const d = 4;
function randomZ(seed: number): number[] {
  const r = new Rng(seed);
  return Array.from({ length: n * d }, () => r.normal() + 0.3);
}

/** Host float64 references. */
function pearsonHost(z: number[], rows: number, cols: number, eps = 1e-5): number[][] {
  const mean = Array(cols).fill(0);
  for (let i = 0; i < rows; i++) for (let k = 0; k < cols; k++) mean[k] += z[i * cols + k] / rows;
  const v = Array(cols).fill(0);
  for (let i = 0; i < rows; i++)
    for (let k = 0; k < cols; k++) v[k] += (z[i * cols + k] - mean[k]) ** 2 / rows;
  const c: number[][] = [];
  for (let k = 0; k < cols; k++) {
    c.push([]);
    for (let l = 0; l < cols; l++) {
      let s = 0;
      for (let i = 0; i < rows; i++) s += (z[i * cols + k] - mean[k]) * (z[i * cols + l] - mean[l]);
      c[k].push(s / rows / Math.sqrt((v[k] + eps) * (v[l] + eps)));
    }
  }
  return c;
}
function barlowHost(z: number[]): number {
  const c = pearsonHost(z, n, d);
  let s = 0;
  for (let k = 0; k < d; k++) for (let l = 0; l < d; l++) if (k !== l) s += c[k][l] ** 2;
  return s;
}
function rowcosHost(z: number[], normalize: boolean): number {
  const rows: number[][] = [];
  for (let i = 0; i < n; i++) {
    const r = z.slice(i * d, (i + 1) * d);
    const norm = normalize ? Math.sqrt(r.reduce((a, b) => a + b * b, 0)) : 1;
    rows.push(r.map((x) => x / norm));
  }
  let s = 0;
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      const dot = rows[i].reduce((a, x, k) => a + x * rows[j][k], 0);
      s += (dot - (i === j ? 1 : 0)) ** 2;
    }
  return s;
}

/** Central finite differences of a host function, against TF.js's gradient of the tensor function. */
function checkGradient(f: (z: tf.Tensor2D) => tf.Scalar, host: (z: number[]) => number, z0: number[]): void {
  const g = tf.tidy(() =>
    tf
      .grad((z: tf.Tensor) => f(z as tf.Tensor2D))(tf.tensor2d(z0, [n, d]))
      .dataSync(),
  );
  const h = 1e-4;
  for (let i = 0; i < z0.length; i++) {
    const zp = [...z0];
    const zm = [...z0];
    zp[i] += h;
    zm[i] -= h;
    const fd = (host(zp) - host(zm)) / (2 * h);
    expect(Math.abs(g[i] - fd)).toBeLessThan(2e-3 * Math.max(1, Math.abs(fd)));
  }
}

describe('DecPO regularizers', () => {
  it('barlow: value is the sum of squared off-diagonal Pearson correlations', () => {
    const z = randomZ(1);
    const v = tf.tidy(() => barlowPenalty(tf.tensor2d(z, [n, d])).dataSync()[0]);
    expect(v).toBeCloseTo(barlowHost(z), 4);
    expect(v).toBeGreaterThan(0);
  });
  it('barlow: perfectly correlated columns give (d^2 - d), independent-ish ones much less', () => {
    const base = Array.from({ length: n }, (_, i) => i * 0.7 - 1);
    const z = base.flatMap((x) => [x, 2 * x + 1, -x, 3 * x]);
    const v = tf.tidy(() => barlowPenalty(tf.tensor2d(z, [n, d])).dataSync()[0]);
    expect(v).toBeCloseTo(d * d - d, 2);
    const m = tf.tidy(() => meanAbsCorrelation(tf.tensor2d(z, [n, d])).dataSync()[0]);
    expect(m).toBeCloseTo(1, 3);
  });
  it('barlow: gradient matches finite differences', () => {
    checkGradient(barlowPenalty, barlowHost, randomZ(2));
  });
  it('rowcos: value and gradient, normalised and raw', () => {
    const z = randomZ(3);
    expect(tf.tidy(() => rowcosPenalty(tf.tensor2d(z, [n, d])).dataSync()[0])).toBeCloseTo(
      rowcosHost(z, true),
      4,
    );
    expect(tf.tidy(() => rowcosPenalty(tf.tensor2d(z, [n, d]), false).dataSync()[0])).toBeCloseTo(
      rowcosHost(z, false),
      2,
    );
    checkGradient(
      (t) => rowcosPenalty(t),
      (x) => rowcosHost(x, true),
      z,
    );
  });
  it('rowcos: orthonormal rows give 0', () => {
    const eye = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];
    expect(tf.tidy(() => rowcosPenalty(tf.tensor2d(eye, [4, 4])).dataSync()[0])).toBeCloseTo(0, 6);
  });
  it('authors: equals its closed form ||mean|u| ||^2 - 1/B, and its gradient matches finite differences', () => {
    const z = randomZ(4);
    const v = tf.tidy(() => authorsPenalty(tf.tensor2d(z, [n, d])).dataSync()[0]);
    expect(v).toBeCloseTo(authorsPenaltyClosedForm(Float32Array.from(z), n, d), 5);
    checkGradient(authorsPenalty, (x) => authorsPenaltyClosedForm(Float32Array.from(x), n, d), z);
  });
});
