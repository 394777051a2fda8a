/**
 * Benchmark of the activation store (`npm run bench:store`), printed as one JSON object:
 * - recording: a 4-layer GPT with d_mlp 512 over a 20,000-token probe set, all four `mlp.post` taps,
 *   forward pass, float16 rounding, SQLite writes and statistics included; and the forward pass alone
 *   over the same batches, for comparison;
 * - reads at 20,000 tokens x 2,048 neurons in one tap (written through the same repository with synthetic
 *   GELU-like values): p50/p95 of one neuron's page (vector, stats, histogram, top examples, quantile
 *   samples, concept means), of the neuron vector alone, of the whole tap matrix, of all neurons' stats;
 * - bytes on disk per stored activation (after a WAL checkpoint).
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/core/backend/index.js';
import { saveCheckpoint } from '../src/core/model/checkpoint.js';
import { disposeParams, forward, paramsFromArrays } from '../src/core/model/models.js';
import { gptConfig, initParamArrays } from '../src/core/model/arch/gpt2.js';
import { Rng } from '../src/core/model/rng.js';
import { WordLevelTokenizer } from '../src/core/model/tokenizers.js';
import type { ProbeSet } from '../src/core/data/types.js';
import { accumulatorFor, recordActivations } from '../src/core/record/record.js';
import { float16BitsToFloat32, float32ToFloat16Bits } from '../src/core/store/float16.js';
import { openProject } from '../src/core/store/project.js';
import type { RecordingSettings } from '../src/core/store/activations.js';

const TOKENS = 20_000;
const SEQ = 64;

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

/** User + system CPU seconds of this process since `since` (less sensitive than wall time to other load). */
function cpuSeconds(since: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1e6;
}

function timeEach(n: number, fn: (i: number) => void): { p50: number; p95: number } {
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    fn(i);
    ms.push(performance.now() - t);
  }
  return { p50: +quantile(ms, 0.5).toFixed(3), p95: +quantile(ms, 0.95).toFixed(3) };
}

/** 20,000 tokens in sequences of 64 (the last one shorter), random words, a concept on half the tokens. */
function probeSet(vocab: number, seed: number): ProbeSet {
  const rng = new Rng(seed);
  const concepts = ['animal', 'colour', 'number', 'place'];
  const sequences = [];
  for (let left = TOKENS; left > 0; left -= SEQ) {
    const len = Math.min(SEQ, left);
    const ids = [0];
    const labels: (string | null)[] = [null];
    for (let t = 1; t < len; t++) {
      ids.push(3 + rng.int(vocab - 3));
      labels.push(rng.next() < 0.5 ? rng.pick(concepts) : null);
    }
    sequences.push({ ids, concepts: labels });
  }
  return {
    name: 'bench',
    hash: createHash('sha256').update(JSON.stringify(sequences)).digest('hex'),
    concepts,
    sequences,
  };
}

const root = mkdtempSync(join(tmpdir(), 'monoscope-bench-store-'));
try {
  const backend = await initBackend('wasm');
  const project = openProject(join(root, 'proj'), { create: true });
  const store = project.store;

  // ---- recording throughput ------------------------------------------------------------------------------
  const tok = WordLevelTokenizer.fromWords(Array.from({ length: 253 }, (_, i) => `w${i}`));
  const cfg = gptConfig({
    vocabSize: tok.vocabSize,
    nEmbd: 128,
    nLayer: 4,
    nHead: 4,
    nInner: 512,
    nCtx: SEQ,
    bosTokenId: 0,
    eosTokenId: 0,
  });
  const ckDir = project.checkpointDir('base');
  saveCheckpoint(ckDir, cfg, initParamArrays(cfg, 1), tok, { stage: 'base' });
  const probe = probeSet(tok.vocabSize, 7);
  const batchSize = 32;

  // The forward pass alone (same batches, activations downloaded), after one warm-up batch.
  const params = paramsFromArrays(cfg, initParamArrays(cfg, 1), false);
  const taps = Array.from({ length: cfg.nLayer }, (_, i) => `blocks.${i}.mlp.post`);
  const runForward = async (seqs: number[][]): Promise<void> => {
    const outs = tf.tidy(() => {
      const got = forward(cfg, params, tf.tensor2d(seqs, [seqs.length, SEQ], 'int32'), {
        taps,
        hiddenOnly: true,
      }).taps;
      return taps.map((name) => got.get(name)!);
    });
    await Promise.all(outs.map((o) => o.data()));
    tf.dispose(outs);
  };
  const padded = probe.sequences.map((s) => [...s.ids, ...new Array(SEQ - s.ids.length).fill(tok.padId)]);
  await runForward(padded.slice(0, batchSize));
  let t = performance.now();
  let cpu = process.cpuUsage();
  for (let b = 0; b < padded.length; b += batchSize) await runForward(padded.slice(b, b + batchSize));
  const forwardS = (performance.now() - t) / 1000;
  const forwardCpuS = cpuSeconds(cpu);
  disposeParams(params);

  t = performance.now();
  cpu = process.cpuUsage();
  const rec = await recordActivations(store, {
    checkpointName: 'base',
    checkpointDir: ckDir,
    probe,
    taps: ['blocks.*.mlp.post'],
    batchSize,
  });
  const recordS = (performance.now() - t) / 1000;
  const recordCpuS = cpuSeconds(cpu);
  const recorded = TOKENS * cfg.nInner * cfg.nLayer;
  store.checkpointWal();
  const recordBytes = statSync(store.file).size;

  // One tap again in float32, for its bytes per activation.
  await recordActivations(store, {
    checkpointName: 'base-f32',
    checkpointDir: ckDir,
    probe,
    taps: ['blocks.0.mlp.post'],
    batchSize,
    dtype: 'float32',
  });
  store.checkpointWal();
  const f32Bytes = statSync(store.file).size - recordBytes;
  const afterF32 = statSync(store.file).size;

  // ---- reads at 20,000 x 2,048 -----------------------------------------------------------------------------
  const wide = 2048;
  const probeId = store.probes.put(probe);
  store.checkpoints.register({ name: 'wide', dir: ckDir, hash: 'synthetic', stage: 'base', config: cfg });
  const settings: RecordingSettings = {
    topK: 20,
    context: 5,
    activeThreshold: 0,
    histogramBins: 50,
    quantileGroups: 10,
    quantileSamplesPerGroup: 5,
    reservoirSize: 200,
    excludeSpecial: true,
    specialIds: [0, 1, 2],
  };
  const info = store.activations.begin({
    checkpoint: 'wide',
    checkpointHash: 'synthetic',
    probeId,
    tap: 'blocks.0.mlp.post',
    dtype: 'float16',
    nNeurons: wide,
    batchSize,
    settings,
  });
  const rows = store.probes.rows(probeId);
  const acc = accumulatorFor(info, rows);
  const rng = new Rng(3);
  t = performance.now();
  for (let b = 0; b < info.nBatches; b++) {
    const { start, end } = store.activations.batchRows(info, b);
    const n = end - start;
    const x = new Float32Array(wide * n);
    for (let i = 0; i < x.length; i++) {
      const z = rng.normal() - 1; // GELU of a shifted normal: mostly small negatives, a sparse positive tail
      x[i] = 0.5 * z * (1 + Math.tanh(0.7978845608 * (z + 0.044715 * z * z * z)));
    }
    const bits = float32ToFloat16Bits(x);
    float16BitsToFloat32(bits, x);
    store.activations.putBatch(info.id, b, bits);
    for (let i = 0; i < wide; i++) acc.addTile(i, start, x.subarray(i * n, (i + 1) * n));
  }
  store.activations.complete(info.id, acc.result());
  const wideWriteS = (performance.now() - t) / 1000;
  store.checkpointWal();
  const wideBytes = statSync(store.file).size - afterF32;

  const pick = new Rng(9);
  const neurons = Array.from({ length: 300 }, () => pick.int(wide));
  const page = timeEach(300, (i) => store.activations.neuronPage(info.id, neurons[i]));
  const vector = timeEach(300, (i) => store.activations.neuronVector(info.id, neurons[i]));
  const stats = timeEach(20, () => store.activations.tapStats(info.id));
  const matrix = timeEach(7, () => store.activations.tapMatrix(info.id));

  console.log(
    JSON.stringify(
      {
        backend: `${backend.backend} (${backend.device})`,
        recording: {
          model: { nLayer: cfg.nLayer, dModel: cfg.nEmbd, dMlp: cfg.nInner, nCtx: SEQ },
          tokens: TOKENS,
          taps: rec.recordings.length,
          batchSize,
          seconds: +recordS.toFixed(3),
          cpuSeconds: +recordCpuS.toFixed(3),
          activationsPerS: Math.round(recorded / recordS),
          forwardOnlySeconds: +forwardS.toFixed(3),
          forwardOnlyCpuSeconds: +forwardCpuS.toFixed(3),
          forwardOnlyActivationsPerS: Math.round(recorded / forwardS),
          recordOverForward: +(recordS / forwardS).toFixed(3),
          recordOverForwardCpu: +(recordCpuS / forwardCpuS).toFixed(3),
          timing: Object.fromEntries(Object.entries(rec.timing).map(([k, v]) => [k, +v.toFixed(3)])),
          bytesPerActivation: +(recordBytes / recorded).toFixed(3),
          bytesPerActivationFloat32: +(f32Bytes / (TOKENS * cfg.nInner)).toFixed(3),
        },
        reads: {
          shape: [TOKENS, wide],
          dtype: 'float16',
          writeSeconds: +wideWriteS.toFixed(3),
          neuronPageMs: page,
          neuronVectorMs: vector,
          tapStatsMs: stats,
          tapMatrixMs: matrix,
          bytesPerActivation: +(wideBytes / (TOKENS * wide)).toFixed(3),
        },
      },
      null,
      2,
    ),
  );
  project.close();
} finally {
  rmSync(root, { recursive: true, force: true });
}
