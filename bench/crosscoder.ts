/**
 * Crosscoder training benchmark: `npm run bench:crosscoder [-- --models 3 --d-in 512 --latents 1024 --k 32
 * --batch 256 --steps 8 --warmup 2 --runs 3 --no-torch]`.
 *
 * Times the BatchTopK crosscoder training step of `trainCrosscoder` (src/core/diff/crosscoder.ts) at the
 * demo's shape (3 models' MLP neurons of d_in 512, 1,024 latents, k 32, batches of 256 tokens) on the
 * wasm backend, and the same step written independently in PyTorch float32 on the same number of threads
 * (test/python/bench_crosscoder.py), in the same run. Prints one JSON object: per side, ms_per_step (the
 * median over `--runs` runs of each run's median step after `--warmup` untimed steps) and tokens_per_s;
 * `load` is the 1-minute load average when it started (near 0 for comparable figures).
 */
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { initBackend } from '../src/core/backend/index.js';
import { startWasmGemmWorker, stopWasmGemmWorker } from '../src/core/backend/wasm-threads.js';
import { trainCrosscoder } from '../src/core/diff/crosscoder.js';
import { Rng } from '../src/core/model/rng.js';
import { median, round } from './timing.js';

const argv = process.argv.slice(2);
const arg = (name: string, fallback: number): number => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : fallback;
};
const models = arg('models', 3);
const dIn = arg('d-in', 512);
const latents = arg('latents', 1024);
const k = arg('k', 32);
const batch = arg('batch', 256);
const steps = arg('steps', 8);
const warmup = arg('warmup', 2);
const runs = arg('runs', 3);
const threads = arg('threads', 2);
const load = round(loadavg()[0]);

const backend = await initBackend('wasm');
// `--threads 2` (the default) lends our GEMM worker thread to the big products, as the crosscoder op does.
if (threads >= 2) await startWasmGemmWorker();
const rng = new Rng(0);
const rows = 4 * batch;
const xs = Array.from({ length: models }, () => ({
  data: Float32Array.from({ length: rows * dIn }, () => rng.normal()),
  rows,
  cols: dIn,
}));

/** One training run of warmup + steps steps; the median time of the timed steps (ms). */
function timedRun(seed: number): number {
  const stamps: number[] = [performance.now()];
  trainCrosscoder(
    xs,
    {
      kind: 'batchtopk',
      nModels: models,
      dIn,
      dSae: latents,
      k,
      batchSize: batch,
      steps: warmup + steps,
      seed,
    },
    () => stamps.push(performance.now()),
  );
  const ms = stamps.slice(1).map((t, i) => t - stamps[i]);
  return median(ms.slice(warmup));
}
const ours = median(Array.from({ length: runs }, (_, i) => timedRun(i)));
await stopWasmGemmWorker();

let torch: unknown = null;
if (!argv.includes('--no-torch')) {
  const perRun = [];
  for (let i = 0; i < runs; i++) {
    const r = spawnSync(
      '/usr/bin/python3',
      [
        'test/python/bench_crosscoder.py',
        ...[models, dIn, latents, k, batch, steps, warmup, threads].map(String),
      ],
      { encoding: 'utf8' },
    );
    if (r.status !== 0) {
      torch = { error: (r.stderr || r.error?.message || 'failed').trim().split('\n').pop() };
      break;
    }
    perRun.push(JSON.parse(r.stdout) as { torch: string; ms_per_step: number });
  }
  if (perRun.length === runs) {
    const ms = median(perRun.map((r) => r.ms_per_step));
    torch = {
      version: perRun[0].torch,
      threads,
      ms_per_step: round(ms, 1),
      tokens_per_s: Math.round((batch * 1000) / ms),
    };
  }
}

console.log(
  JSON.stringify({
    bench: 'crosscoder',
    load,
    runs,
    shape: { models, d_in: dIn, latents, k, batch },
    ours: {
      backend: backend.backend,
      device: backend.device,
      threads: threads >= 2 ? 2 : 1,
      ms_per_step: round(ours, 1),
      tokens_per_s: Math.round((batch * 1000) / ours),
    },
    torch,
  }),
);
