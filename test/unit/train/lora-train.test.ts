// LoRA fine-tuning in the training loop (loop.ts with `spec.lora`, step.ts): only the adapter trains and
// is saved as resumable state, the base weights stay bit-identical, the reference is the base (checked
// against the float64 PyTorch reference's log-probs), the adapter's gradients match finite differences,
// gradient accumulation over micro-batches equals the whole batch, and a cancelled and resumed run ends
// with the same adapter bytes as an uninterrupted one.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../helpers/backend.js';
import { loadWeights } from '../../../src/core/model/checkpoint.js';
import type { ModelConfig } from '../../../src/core/model/architecture.js';
import {
  adaptedLinears,
  adapterParamSpecs,
  disposeParams,
  paramsFromArrays,
} from '../../../src/core/model/models.js';
import {
  defaultLoraTargets,
  initLoraArrays,
  loraA,
  loraB,
  type LoraSpec,
} from '../../../src/core/model/lora.js';
import { Rng } from '../../../src/core/model/rng.js';
import { readSafetensors, type NamedArray } from '../../../src/core/model/safetensors.js';
import { WordLevelTokenizer } from '../../../src/core/model/tokenizers.js';
import type { TokenizedPair } from '../../../src/core/data/types.js';
import { preferenceBatch } from '../../../src/core/train/batches.js';
import {
  Stepper,
  defaultTap,
  preferenceObjective,
  type PreferenceObjective,
} from '../../../src/core/train/step.js';
import {
  runSpec,
  train,
  type FinalModel,
  type PairData,
  type RunSpec,
} from '../../../src/core/train/loop.js';
import { makeReferenceCheckpoint, referenceForward } from '../model/architectures/reference.js';

const dir = mkdtempSync(join(tmpdir(), 'monoscope-lora-train-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Only the pad id matters to the loop; the reference checkpoints have 512 tokens.
const tok = WordLevelTokenizer.fromWords(['a', 'b']);
const LORA: LoraSpec = {
  r: 4,
  alpha: 8,
  dropout: 0.1,
  targets: ['q_proj', 'v_proj', 'up_proj'],
  rslora: false,
};

let llama: { config: ModelConfig; arrays: Map<string, NamedArray> };

beforeAll(async () => {
  await useBackend('cpu');
  llama = loadWeights(makeReferenceCheckpoint('llama', join(dir, 'llama')));
});

/** Pairs of a fixed shape (prompt 5, responses 4): the rows stack into one rectangular id matrix. */
function pairs(n: number, seed: number): TokenizedPair[] {
  const r = new Rng(seed);
  const ids = (k: number) => Array.from({ length: k }, () => 3 + r.int(500));
  return Array.from({ length: n }, () => ({ prompt: ids(5), chosen: ids(4), rejected: ids(4) }));
}

const data: PairData = { kind: 'pairs', train: pairs(12, 1), eval: pairs(4, 2) };

function loraSpec(o: Partial<RunSpec> = {}): RunSpec {
  return runSpec({
    stage: 'decpo',
    steps: 6,
    batchSize: 4,
    lr: 5e-2,
    evalEvery: 0,
    checkpointEvery: 2,
    seed: 3,
    objective: preferenceObjective({ stage: 'decpo', layer: 1, tap: defaultTap(llama.config), lambda: 0.1 }),
    lora: LORA,
    ...o,
  });
}

/** Runs `spec` in `runDir` and returns the result and the final model. */
async function run(spec: RunSpec, runDir: string, signal?: AbortSignal, onStep?: (s: number) => void) {
  let final: FinalModel | undefined;
  const res = await train(
    spec,
    { config: llama.config, arrays: llama.arrays, tokenizer: tok, refHash: 'llama' },
    data,
    {
      runDir,
      signal,
      onStep,
      final: (m) => {
        final = m;
        return 'hash';
      },
    },
  );
  return { res, final };
}

const bytes = (a: NamedArray) => Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength);

describe('LoRA training runs', () => {
  it('train only the adapter: base bit-identical, state = adapter + moments, reference = the base', async () => {
    const runDir = join(dir, 'run-a');
    const { res, final } = await run(loraSpec(), runDir);
    expect(res.status).toBe('completed');
    expect(final!.config.lora).toEqual(LORA);
    const adapterNames = adapterParamSpecs(final!.config).map((s) => s.name);
    expect(adapterNames.length).toBe(2 * 3 * llama.config.nLayer);
    for (const [name, a] of llama.arrays)
      expect(bytes(final!.arrays.get(name)!).equals(bytes(a)), name).toBe(true);
    const b = final!.arrays.get(loraB(adaptedLinears(final!.config)[0].module))!.data;
    expect(Math.max(...b.map(Math.abs))).toBeGreaterThan(1e-4); // B started at zero and trained
    // The resumable state holds the adapter only, and AdamW's two moments of each of its tensors.
    const state = readSafetensors(join(runDir, 'state', 'model.safetensors')).tensors;
    expect([...state.keys()].sort()).toEqual([...adapterNames].sort());
    const opt = readSafetensors(join(runDir, 'state', 'optimizer.safetensors')).tensors;
    expect(opt.size).toBe(2 * adapterNames.length);
    expect(res.peakMemory!.tensorBytes).toBeGreaterThan(0);
    expect(res.peakMemory!.rssBytes).toBeGreaterThan(res.peakMemory!.tensorBytes);

    // The cached reference log-probs are the base model's: summed response log-probs of the float64
    // PyTorch reference forward of the base checkpoint on the same rows.
    const cached = readSafetensors(join(runDir, 'ref_logps.safetensors')).tensors;
    const rows = [
      ...data.train.map((p) => [...p.prompt, ...p.chosen]),
      ...data.train.map((p) => [...p.prompt, ...p.rejected]),
    ];
    const lp = referenceForward(join(dir, 'llama'), rows, join(dir, 'ref-a.safetensors')).get(
      'logprobs',
    )!.data;
    const V = llama.config.vocabSize;
    const T = rows[0].length;
    const want = rows.map((row) => {
      let s = 0;
      for (let t = 5; t < T; t++) s += lp[(rows.indexOf(row) * T + t - 1) * V + row[t]];
      return s;
    });
    const P = data.train.length;
    for (let i = 0; i < P; i++) {
      expect(cached.get('train.chosen')!.data[i]).toBeCloseTo(want[i], 3);
      expect(cached.get('train.rejected')!.data[i]).toBeCloseTo(want[P + i], 3);
    }
  });

  it('cancelled mid-way and resumed, ends with the same adapter bytes as an uninterrupted run', async () => {
    const whole = await run(loraSpec(), join(dir, 'run-whole'));
    const ctl = new AbortController();
    const runDir = join(dir, 'run-cut');
    const cut = await run(loraSpec(), runDir, ctl.signal, (s) => s === 3 && ctl.abort());
    expect(cut.res.status).toBe('cancelled');
    expect(cut.res.step).toBe(3);
    const resumed = await run(loraSpec(), runDir);
    expect(resumed.res.status).toBe('completed');
    for (const { name } of adapterParamSpecs(whole.final!.config))
      expect(
        bytes(resumed.final!.arrays.get(name)!).equals(bytes(whole.final!.arrays.get(name)!)),
        name,
      ).toBe(true);
    // Dropout is part of the run: another seed draws other masks and ends elsewhere.
    const other = await run(loraSpec({ seed: 4 }), join(dir, 'run-seed4'));
    const first = loraA(adaptedLinears(whole.final!.config)[0].module);
    expect(bytes(other.final!.arrays.get(first)!).equals(bytes(whole.final!.arrays.get(first)!))).toBe(false);
  });

  it('refuse a tap the architecture lacks, with the kinds it has', async () => {
    const o = preferenceObjective({ stage: 'decpo', layer: 0, tap: 'mlp.pre_linear' });
    const gpt2 = loadWeights(makeReferenceCheckpoint('gpt2', join(dir, 'gpt2')));
    expect(defaultTap(gpt2.config)).toBe('mlp.post');
    expect(defaultTap(llama.config)).toBe('mlp.pre_linear');
    await expect(
      train(
        runSpec({ stage: 'decpo', steps: 1, batchSize: 2, objective: o }),
        { config: gpt2.config, arrays: gpt2.arrays, tokenizer: tok, refHash: 'gpt2' },
        data,
        { runDir: join(dir, 'run-badtap') },
      ),
    ).rejects.toThrow(/tap 'mlp.pre_linear' does not exist in this gpt2 model; its tap kinds: .*mlp.post/);
  });
});

describe.each(['gpt2', 'gpt_neox', 'gpt_neo', 'llama', 'mistral', 'qwen2', 'gemma', 'gemma2'])(
  'LoRA DecPO on %s',
  (arch) => {
    it('trains the default targets on the default tap with the base unchanged', async () => {
      const { config, arrays } = loadWeights(makeReferenceCheckpoint(arch, join(dir, `all-${arch}`)));
      const tap = defaultTap(config);
      expect(tap).toBe(arch.startsWith('gpt') ? 'mlp.post' : 'mlp.pre_linear');
      const lora = { ...LORA, targets: defaultLoraTargets(arch) };
      let final: FinalModel | undefined;
      const res = await train(
        loraSpec({
          steps: 2,
          checkpointEvery: 0,
          lora,
          objective: preferenceObjective({ stage: 'decpo', layer: 1, tap, lambda: 0.1 }),
        }),
        { config, arrays, tokenizer: tok, refHash: arch },
        data,
        { runDir: join(dir, `run-${arch}`), final: (m) => ((final = m), 'hash') },
      );
      expect(res.status, res.message).toBe('completed');
      expect(Number.isFinite(res.last!['decorr/penalty'])).toBe(true);
      for (const [name, a] of arrays)
        expect(bytes(final!.arrays.get(name)!).equals(bytes(a)), name).toBe(true);
      const trained = adapterParamSpecs(final!.config).filter((p) => p.name.endsWith('lora_B.weight'));
      expect(trained.length).toBe(config.nLayer * lora.targets.length);
      for (const { name } of trained)
        expect(Math.max(...final!.arrays.get(name)!.data.map(Math.abs)), name).toBeGreaterThan(0);
    });
  },
);

/** A Stepper on the llama checkpoint with an adapter whose B is random (so every gradient is non-zero). */
function adapterStepper(spec: LoraSpec) {
  const cfg = { ...llama.config, lora: spec };
  const adapter = initLoraArrays(adaptedLinears(cfg), spec.r, 1);
  const r = new Rng(9);
  for (const [name, a] of adapter)
    if (name.endsWith('lora_B.weight')) a.data = a.data.map(() => 0.3 * r.normal());
  const params = paramsFromArrays(cfg, new Map([...llama.arrays, ...adapter]), 'adapter');
  return { cfg, params, stepper: new Stepper(cfg, params, { weightDecay: 0, maxGradNorm: 1 }) };
}

async function gradsOf(
  stepper: Stepper,
  batch: ReturnType<typeof preferenceBatch> | ReturnType<typeof preferenceBatch>[],
  ref: { chosen: Float32Array; rejected: Float32Array },
  o: PreferenceObjective,
  dropoutSeed?: number,
) {
  const { metrics, grads } = await stepper.preferenceGradients(batch, ref, o, true, { dropoutSeed });
  const out = new Map<string, Float32Array>();
  for (const [name, g] of Object.entries(grads!)) out.set(name, Float32Array.from(g.dataSync()));
  for (const g of Object.values(grads!)) g.dispose();
  return { metrics, grads: out };
}

describe('LoRA gradients', () => {
  const items = pairs(4, 5);
  const ref = { chosen: Float32Array.of(-40, -41, -39, -42), rejected: Float32Array.of(-41, -40, -42, -39) };

  it('of the adapter equal central finite differences of the DecPO loss (dropout on, fixed mask)', async () => {
    const { params, stepper } = adapterStepper({ ...LORA, dropout: 0.2 });
    const o = preferenceObjective({
      stage: 'decpo',
      layer: 1,
      tap: 'mlp.pre_linear',
      lambda: 0.5,
      beta: 0.5,
    });
    const batch = preferenceBatch(items, tok.padId);
    const { grads } = await gradsOf(stepper, batch, ref, o, 77);
    const rng = new Rng(2);
    const eps = 1e-2;
    let checked = 0;
    // One coordinate of every fifth tensor (A and B, of q, v and up, across the blocks): each check costs
    // two full steps.
    const names = stepper.names.filter((_, j) => j % 5 === 0);
    for (const name of names) {
      const v = params.get(name)!;
      const g = grads.get(name)!;
      const host = Float32Array.from(v.dataSync());
      {
        const i = rng.int(host.length);
        const lossAt = async (x: number) => {
          const h = Float32Array.from(host);
          h[i] = x;
          v.assign(tf.tensor(h, v.shape));
          const r = await gradsOf(stepper, batch, ref, o, 77);
          return r.metrics.loss;
        };
        const fd = ((await lossAt(host[i] + eps)) - (await lossAt(host[i] - eps))) / (2 * eps);
        expect(Math.abs(g[i] - fd), `${name}[${i}]`).toBeLessThan(0.02 * Math.abs(fd) + 2e-3);
        checked += Math.abs(fd) > 1e-3 ? 1 : 0;
        v.assign(tf.tensor(host, v.shape));
      }
    }
    expect(checked).toBeGreaterThan(names.length / 2);
    stepper.dispose();
    disposeParams(params);
  });

  it('accumulated over micro-batches equal the whole batch (DPO); DecPO averages the micro-batch penalties', async () => {
    const { params, stepper } = adapterStepper({ ...LORA, dropout: 0 });
    const dpo = preferenceObjective({ stage: 'dpo' });
    const whole = await gradsOf(stepper, preferenceBatch(items, tok.padId), ref, dpo);
    const halves = [
      preferenceBatch(items.slice(0, 2), tok.padId),
      preferenceBatch(items.slice(2), tok.padId),
    ];
    const micro = await gradsOf(stepper, halves, ref, dpo);
    expect(micro.metrics.loss).toBeCloseTo(whole.metrics.loss, 5);
    expect(micro.metrics['rewards/margins']).toBeCloseTo(whole.metrics['rewards/margins'], 5);
    for (const [name, g] of whole.grads) {
      const m = micro.grads.get(name)!;
      const scale = Math.max(...g.map(Math.abs));
      for (let i = 0; i < g.length; i++) expect(Math.abs(m[i] - g[i])).toBeLessThan(1e-4 * scale + 1e-7);
    }
    const decpo = preferenceObjective({ stage: 'decpo', layer: 1, tap: 'mlp.pre_linear', lambda: 0.5 });
    const split = (k: number) => ({
      chosen: ref.chosen.slice(2 * k, 2 * k + 2),
      rejected: ref.rejected.slice(2 * k, 2 * k + 2),
    });
    const a = await gradsOf(stepper, halves[0], split(0), decpo);
    const b = await gradsOf(stepper, halves[1], split(1), decpo);
    const both = await gradsOf(stepper, halves, ref, decpo);
    expect(both.metrics['decorr/penalty']).toBeCloseTo(
      (a.metrics['decorr/penalty'] + b.metrics['decorr/penalty']) / 2,
      5,
    );
    expect(both.metrics.loss).toBeCloseTo((a.metrics.loss + b.metrics.loss) / 2, 5);
    stepper.dispose();
    disposeParams(params);
  });
});
