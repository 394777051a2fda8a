/**
 * Analysis benchmark: `npm run bench:analysis [-- --scale 0.1 --no-numpy --threads 2 --runs 3]`.
 *
 * Prints one JSON object (times are the median of `--runs` runs, default 3; `load` is the 1-minute load
 * average when it started, which should be near 0 for comparable numbers) with
 *   - correlation: the Pearson matrix of 2,048 neurons over 50,000 tokens (x scale), on 1 thread and on
 *     `--threads` (default 2) with worker threads; ms and GFLOP/s (2 n d^2 flops, the full product);
 *   - svcca: SVCCA (intended mode, 99% variance) of 2 x 1,000 paired rows of 512 dimensions; ms and k;
 *     the float64 permutation-null statistic per shuffle (median of 20 shuffles), and per shuffle of a
 *     whole 100-shuffle null on `--threads` worker threads (`permutationNullThreaded`, startup included);
 *   - effective_rank: the eigenvalues of a 2,048 x 2,048 covariance, with the two-stage solver that
 *     effectiveRank uses on wasm (ms) and, once, the float64 solver (ms_float64) and their largest
 *     difference relative to the largest eigenvalue;
 *   - sae: TopK SAE training throughput, d_in 512, 4,096 latents, k 32, batch 1,024; tokens/s over the
 *     timed steps after 2 warm-up steps;
 *   - numpy: the same cases timed with numpy (test/python/bench_analysis.py), when /usr/bin/python3 has it.
 * Backend: wasm.
 */
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { initBackend } from '../src/core/backend/index.js';
import { pearsonMatrix } from '../src/core/analysis/correlation.js';
import { pearsonMatrixThreaded } from '../src/core/analysis/gram-threads.js';
import { trainSae } from '../src/core/analysis/sae.js';
import { covarianceMatrix, effectiveRankOfSpectrum } from '../src/core/analysis/sparsity.js';
import { symmetricEigenvaluesTwoStage } from '../src/core/analysis/eigenvalues.js';
import { symmetricEigen } from '../src/core/analysis/linalg.js';
import { prepareSvcca, svcca, svccaScoreForPermutation } from '../src/core/analysis/svcca.js';
import { permutationNullThreaded } from '../src/core/analysis/null-threads.js';
import { Rng } from '../src/core/model/rng.js';

const argv = process.argv.slice(2);
const arg = (name: string, fallback: string): string => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : fallback;
};
const scale = Number(arg('scale', '1'));
const threads = Number(arg('threads', '2'));
const saeSteps = Number(arg('sae-steps', '6'));
const runs = Number(arg('runs', '3'));
const load = Math.round(loadavg()[0] * 100) / 100;
const ms = (t0: number) => Math.round((performance.now() - t0) * 10) / 10;
/** The median wall time (ms) of `count` calls of f. */
const median = (f: () => unknown, count = runs): number => {
  const t: number[] = [];
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    f();
    t.push(ms(t0));
  }
  return t.sort((a, b) => a - b)[Math.floor(count / 2)];
};
const medianAsync = async (f: () => Promise<unknown>, count = runs): Promise<number> => {
  const t: number[] = [];
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    await f();
    t.push(ms(t0));
  }
  return t.sort((a, b) => a - b)[Math.floor(count / 2)];
};

const backend = await initBackend('wasm');
const rng = new Rng(0);

// Correlation: activations with a few shared factors, like an MLP layer.
const rows = Math.round(50_000 * scale);
const cols = 2048;
const x = new Float32Array(rows * cols);
for (let r = 0; r < rows; r++) {
  const f = rng.normal();
  for (let c = 0; c < cols; c++) x[r * cols + c] = rng.normal() + (c % 8 === 0 ? f : 0);
}
const flops = 2 * rows * cols * cols;
const oneThread = median(() => pearsonMatrix({ data: x, rows, cols }));
const multi = await medianAsync(() => pearsonMatrixThreaded({ data: x, rows, cols }, { threads }));

// SVCCA of 2 x 1,000 features, 512 dimensions, B a noisy linear map of A.
const n = 1000;
const d = 512;
const a = Float32Array.from({ length: n * d }, () => rng.normal());
const M = Float32Array.from({ length: d * d }, () => rng.normal() / Math.sqrt(d));
const b = new Float32Array(n * d);
for (let i = 0; i < n; i++) {
  for (let k = 0; k < d; k++) {
    const v = a[i * d + k];
    for (let j = 0; j < d; j++) b[i * d + j] += v * M[k * d + j];
  }
  for (let j = 0; j < d; j++) b[i * d + j] += 0.5 * rng.normal();
}
const A = { data: a, rows: n, cols: d };
const B = { data: b, rows: n, cols: d };
const sv = svcca(A, B);
const svccaMs = median(() => svcca(A, B));
const prepared = prepareSvcca(A, B);
const perms = Array.from({ length: 21 }, () => rng.shuffle(Array.from({ length: n }, (_, i) => i)));
svccaScoreForPermutation(prepared, perms[20]); // warm-up
const shuffleMs = median(() => svccaScoreForPermutation(prepared, perms.pop()!), 20);
// A whole null of 100 shuffles on `threads` worker threads (startup included), per shuffle.
const NULL_SHUFFLES = 100;
const nullMs =
  (await medianAsync(() =>
    permutationNullThreaded(sv.score, { measure: 'svcca', prepared }, { shuffles: NULL_SHUFFLES, threads }),
  )) / NULL_SHUFFLES;

// Effective rank: eigenvalues of a 2,048 x 2,048 covariance (from 4,096 of the tokens).
const sub = Math.min(rows, 4096);
const cov = covarianceMatrix({ data: x.subarray(0, sub * cols), rows: sub, cols });
const eig = symmetricEigenvaluesTwoStage(cov, cols);
const eigMs = median(() => symmetricEigenvaluesTwoStage(cov, cols));
const t0 = performance.now();
const eig64 = symmetricEigen(cov, cols).values;
const eig64Ms = ms(t0);
let eigDiff = 0;
for (let i = 0; i < cols; i++) eigDiff = Math.max(eigDiff, Math.abs(eig[i] - eig64[i]));

// SAE throughput on random activations.
const saeRows = 8192;
const acts = {
  data: Float32Array.from({ length: saeRows * 512 }, () => rng.normal()),
  rows: saeRows,
  cols: 512,
};
const stamps: number[] = [];
trainSae(
  acts,
  { kind: 'topk', dIn: 512, dSae: 4096, k: 32, batchSize: 1024, steps: saeSteps + 2, seed: 1 },
  () => stamps.push(performance.now()),
);
const timed = (stamps[stamps.length - 1] - stamps[1]) / 1000;
const tokensPerS = Math.round((1024 * (stamps.length - 2)) / timed);

let numpy: unknown = null;
if (!argv.includes('--no-numpy')) {
  const r = spawnSync('/usr/bin/python3', ['test/python/bench_analysis.py', String(scale)], {
    encoding: 'utf8',
  });
  numpy =
    r.status === 0
      ? JSON.parse(r.stdout)
      : { error: (r.stderr || r.error?.message || 'failed').trim().split('\n').pop() };
}

console.log(
  JSON.stringify({
    bench: 'analysis',
    backend: backend.backend,
    device: backend.device,
    load,
    runs,
    correlation: {
      rows,
      cols,
      ms_1_thread: oneThread,
      gflops_1_thread: Math.round(flops / oneThread / 1e6) / 1,
      threads,
      ms_threads: multi,
      gflops_threads: Math.round(flops / multi / 1e6),
    },
    svcca: {
      n,
      d,
      ms: svccaMs,
      kA: sv.kA,
      kB: sv.kB,
      score: sv.score,
      ms_per_shuffle: shuffleMs,
      threads,
      null_ms_per_shuffle_threads: Math.round(nullMs * 10) / 10,
    },
    effective_rank: {
      d: cols,
      ms: eigMs,
      value: effectiveRankOfSpectrum(eig),
      ms_float64: eig64Ms,
      value_float64: effectiveRankOfSpectrum(eig64),
      max_eigenvalue_diff_relative: eigDiff / eig64[cols - 1],
    },
    sae: {
      kind: 'topk',
      d_in: 512,
      d_sae: 4096,
      k: 32,
      batch: 1024,
      timed_steps: stamps.length - 2,
      tokens_per_s: tokensPerS,
    },
    numpy,
  }),
);
