/**
 * The LoRA DecPO step at a real size, `npm run bench:train -- --lora [--pairs 8 --micro-pairs 1 --steps 3
 * --warmup 1 --profile]`: {@link Stepper.preferenceStep} on a random-weight model of Pythia-160m's exact shape
 * ({@link PYTHIA_160M}: GPT-NeoX, 12 layers, d_model 768, 12 heads, 3,072 neurons, vocab 50,304, rotary_pct
 * 0.25, parallel residual, untied embed_out, 2,048 positions) with the DecPO authors' adapter (rank 8,
 * alpha 16, dropout 0.05) on `defaultLoraTargets('gpt_neox')` (query_key_value, dense_h_to_4h), only the
 * adapter training; `--pairs` preference pairs of 64 prompt + 64 response tokens (random ids); DPO's
 * sigmoid loss against reference log-probs cached before the clock starts (the base model's, as training
 * caches them); `barlow` (lambda 1e-4) on block 6's `mlp.post`; AdamW (lr 1e-4, weight decay 0.1); on the
 * wasm backend with our GEMM worker thread (2 threads, as training runs). The step's pairs run as
 * micro-batches of `--micro-pairs` (gradient accumulation, each with its own barlow penalty, as the
 * Stepper defines it): one pair's training step grows the wasm heap to about 2.8 GB (0.65 GB of it the
 * weights), and two pairs at once already exceed its 4 GiB. LoRA dropout is drawn per step (seed = step index).
 *
 * Against it, in the same run on the same CPU: bench/train_lora_torch.py, the same step written in plain
 * PyTorch (float32, 2 threads) on the same weights and batches, which our side exports to a temporary
 * folder (config.json, model.safetensors, batches.json with the cached reference log-probs,
 * expected.json with our loss, penalty, log-probs and gradient norm before the first update); it checks
 * that its loss equals ours there (in float32 and float64), after timing its own steps.
 *
 * Our side runs in a child process (`--lora-child DIR`), so its peak RSS is the step's. Prints one JSON
 * object: ours (`ms_per_step` the median of the timed steps, `tokens_per_s`, `peak_rss_mb`, the wasm
 * heap's size), PyTorch's (`torch_*`), `ratio` = our tokens per second / PyTorch's, the check, the
 * machine and its 1-minute load average before and after; with `--profile`, our kernels of one more step
 * by total time.
 */
import { fork, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, type BackendName } from '../src/core/backend/index.js';
import { isWasmBackend } from '../src/core/backend/wasm-heap.js';
import { startWasmGemmWorker } from '../src/core/backend/wasm-threads.js';
import type { TokenizedPair } from '../src/core/data/types.js';
import type { ModelConfig } from '../src/core/model/architecture.js';
import {
  AUTHORS_LORA,
  baseConfig,
  defaultLoraTargets,
  initLoraArrays,
  type LoraConfig,
} from '../src/core/model/lora.js';
import {
  adaptedLinears,
  adapterParamSpecs,
  disposeParams,
  modelConfigJson,
  paramSpecs,
  paramsFromArrays,
  parseModelConfig,
} from '../src/core/model/models.js';
import type { Params } from '../src/core/model/architecture.js';
import { Rng } from '../src/core/model/rng.js';
import { writeSafetensors, type NamedArray } from '../src/core/model/safetensors.js';
import { preferenceBatch, type PreferenceBatch } from '../src/core/train/batches.js';
import { Stepper, preferenceObjective, responseLogps, type RefLogps } from '../src/core/train/step.js';
import { profileKernels, round, timeSteps, type KernelShare } from './timing.js';

/** The Python with torch: Debian's here; `PYTHON` names another (bench/gpu.sh: the GPU machine's). */
const PYTHON = process.env.PYTHON ?? '/usr/bin/python3';
const ROOT = resolve(import.meta.dirname, '..');

/** EleutherAI/pythia-160m's config.json, as far as the shape goes. */
export const PYTHIA_160M = {
  model_type: 'gpt_neox',
  hidden_size: 768,
  num_hidden_layers: 12,
  num_attention_heads: 12,
  intermediate_size: 3072,
  vocab_size: 50304,
  rotary_pct: 0.25,
  rotary_emb_base: 10000,
  use_parallel_residual: true,
  tie_word_embeddings: false,
  max_position_embeddings: 2048,
  hidden_act: 'gelu',
  layer_norm_eps: 1e-5,
  bos_token_id: 0,
  eos_token_id: 0,
};

const PROMPT = 64;
const RESPONSE = 64;
/** Batches the steps take in turn. */
const BATCHES = 2;
const LR = 1e-4;
const objective = preferenceObjective({ stage: 'decpo', regularizer: 'barlow', lambda: 1e-4, layer: 6 });

export interface LoraBenchArgs {
  /** Our backend (wasm unless asked; bench/gpu.sh asks for webgpu). */
  backend: BackendName;
  /** Where PyTorch runs its side: `cpu`, or `cuda` (bench/gpu.sh). */
  torchDevice: string;
  pairs: number;
  /** Pairs per micro-batch (gradient accumulation): a whole batch's activations exceed the wasm heap. */
  microPairs: number;
  steps: number;
  warmup: number;
  threads: number;
  profile: boolean;
}

/** Pythia-160m's shape with the authors' adapter on the default NeoX targets. */
function loraConfig(): LoraConfig {
  const base = parseModelConfig(PYTHIA_160M, 'pythia-160m config');
  return { ...base, lora: { ...AUTHORS_LORA, targets: defaultLoraTargets('gpt_neox'), rslora: false } };
}

/**
 * Random weights (seeded): every base tensor N(0, 0.02), layer norms' scales 1 + N(0, 0.02); the adapter's A
 * as PEFT draws it, its B N(0, 0.02) rather than PEFT's zeros, as some steps into training, so the update
 * is in the loss the check compares.
 */
function randomArrays(cfg: LoraConfig, seed: number): Map<string, NamedArray> {
  const arrays = new Map<string, NamedArray>();
  let k = seed;
  const normal = (shape: number[], mean: number): Float32Array => {
    const t = tf.randomNormal(shape, mean, 0.02, 'float32', k++);
    const data = t.dataSync() as Float32Array;
    t.dispose();
    return data;
  };
  for (const { name, shape } of paramSpecs(cfg)) {
    const scale = /layernorm\.weight$|final_layer_norm\.weight$/.test(name);
    arrays.set(name, { shape, data: normal(shape, scale ? 1 : 0) });
  }
  for (const [name, a] of initLoraArrays(adaptedLinears(cfg), cfg.lora.r, seed))
    arrays.set(name, name.endsWith('lora_B.weight') ? { shape: a.shape, data: normal(a.shape, 0) } : a);
  return arrays;
}

function randomPairs(rng: Rng, cfg: ModelConfig, pairs: number): TokenizedPair[] {
  const tokens = (n: number): number[] => Array.from({ length: n }, () => 3 + rng.int(cfg.vocabSize - 3));
  return Array.from({ length: pairs }, () => ({
    prompt: tokens(PROMPT),
    chosen: tokens(RESPONSE),
    rejected: tokens(RESPONSE),
  }));
}

/**
 * Response log-probs of every pair, one pair per forward pass (a whole batch's forward pass at this size
 * needs more than the wasm heap): equal to the batch's, since no row is padded.
 */
async function logpsByPair(
  cfg: ModelConfig,
  params: Params,
  items: readonly TokenizedPair[],
): Promise<RefLogps> {
  const chosen = new Float32Array(items.length);
  const rejected = new Float32Array(items.length);
  for (const [i, item] of items.entries()) {
    const l = await responseLogps(cfg, params, preferenceBatch([item], cfg.eosTokenId), 'sum');
    chosen[i] = l[0];
    rejected[i] = l[1];
  }
  return { chosen, rejected };
}

const list = (a: ArrayLike<number>): number[] => Array.from(a);

/** A step's micro-batches, each with the reference log-probs of its pairs. */
function microJson(step: { micro: PreferenceBatch[]; ref: RefLogps }): Record<string, unknown>[] {
  let from = 0;
  return step.micro.map((b) => {
    const ref = {
      chosen: step.ref.chosen.subarray(from, from + b.pairs),
      rejected: step.ref.rejected.subarray(from, from + b.pairs),
    };
    from += b.pairs;
    return batchJson(b, ref);
  });
}

function batchJson(b: PreferenceBatch, ref: RefLogps): Record<string, unknown> {
  return {
    pairs: b.pairs,
    T: b.T,
    ids: list(b.ids),
    predIdx: list(b.predIdx),
    targets: list(b.targets),
    rowOfToken: list(b.rowOfToken),
    respIdx: list(b.respIdx),
    refChosen: list(ref.chosen),
    refRejected: list(ref.rejected),
  };
}

/** What the child reports. */
interface OursRun {
  record: Record<string, string | number>;
  peakRssMb: number;
  wasmHeapMb: number;
  adapterParams: number;
  adaptedModules: number;
  profile?: KernelShare[];
}

/** Our side, in the child: exports weights and batches to `dir`, then times the step there. */
export async function loraChild(dir: string, args: LoraBenchArgs): Promise<void> {
  const info = await initBackend(args.backend);
  if (args.backend === 'wasm' && args.threads === 2) await startWasmGemmWorker();
  const cfg = loraConfig();
  let arrays: Map<string, NamedArray> | null = randomArrays(cfg, 1);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(modelConfigJson(cfg), null, 2));
  writeSafetensors(join(dir, 'model.safetensors'), arrays, { format: 'pt' });
  const params = paramsFromArrays(cfg, arrays, 'adapter');
  arrays = null;
  const rng = new Rng(1234);
  const batches: { micro: PreferenceBatch[]; ref: RefLogps }[] = [];
  let firstLogps: RefLogps | null = null;
  for (let i = 0; i < BATCHES; i++) {
    const items = randomPairs(rng, cfg, args.pairs);
    const micro: PreferenceBatch[] = [];
    for (let j = 0; j < items.length; j += args.microPairs)
      micro.push(preferenceBatch(items.slice(j, j + args.microPairs), cfg.eosTokenId));
    batches.push({ micro, ref: await logpsByPair(baseConfig(cfg), params, items) });
    // The policy's log-probs of the first batch before any update, for the check.
    if (i === 0) firstLogps = await logpsByPair(cfg, params, items);
  }
  const settings = {
    r: cfg.lora.r,
    alpha: cfg.lora.alpha,
    dropout: cfg.lora.dropout,
    dropoutInStep: true,
    beta: objective.beta,
    lambda: objective.lambda,
    layer: objective.layer,
    lr: LR,
  };
  writeFileSync(join(dir, 'batches.json'), JSON.stringify({ settings, steps: batches.map(microJson) }));
  const stepper = new Stepper(cfg, params, { weightDecay: 0.1, maxGradNorm: 1 });
  // Step i draws its LoRA dropout from seed i; the check's step (the first batch, before any update) has none.
  const step = async (i: number, dropout = true) => {
    const { micro, ref } = batches[i % BATCHES];
    return stepper.preferenceStep(micro, ref, objective, LR, true, dropout ? { dropoutSeed: i } : {});
  };
  const m = await step(0, false);
  writeFileSync(
    join(dir, 'expected.json'),
    JSON.stringify({
      loss: m.loss,
      'decorr/penalty': m['decorr/penalty'],
      grad_norm: m.grad_norm,
      logps: [...list(firstLogps!.chosen), ...list(firstLogps!.rejected)],
    }),
  );
  const tokens = 2 * args.pairs * (PROMPT + RESPONSE);
  const record = await timeSteps(
    { backend: info.backend, device: info.device, threads: args.threads },
    tokens,
    args.warmup,
    args.steps,
    async (i) => {
      await step(i + 1);
    },
  );
  const be = tf.backend();
  const run: OursRun = {
    record,
    peakRssMb: round(process.resourceUsage().maxRSS / 1024, 1),
    wasmHeapMb: isWasmBackend(be) ? round(be.wasm.HEAPU8.length / 2 ** 20, 1) : 0,
    adapterParams: adapterParamSpecs(cfg).reduce((s, p) => s + p.shape[0] * p.shape[1], 0),
    adaptedModules: adaptedLinears(cfg).length,
  };
  if (args.profile) run.profile = await profileKernels(async () => void (await step(0)), 15);
  stepper.dispose();
  disposeParams(params);
  process.send!(run);
}

/** Runs our side in a child process and returns what it reports. */
function oursInChild(dir: string, args: LoraBenchArgs): Promise<OursRun> {
  const childArgs = [
    '--lora-child',
    dir,
    '--pairs',
    String(args.pairs),
    '--micro-pairs',
    String(args.microPairs),
  ];
  childArgs.push('--steps', String(args.steps));
  childArgs.push(
    '--warmup',
    String(args.warmup),
    '--threads',
    String(args.threads),
    '--backend',
    args.backend,
  );
  if (args.profile) childArgs.push('--profile');
  return new Promise((done, fail) => {
    const child = fork(process.argv[1], childArgs);
    let got: OursRun | undefined;
    child.on('message', (m) => (got = m as OursRun));
    child.on('exit', (code) =>
      got ? done(got) : fail(new Error(`bench:train --lora: our step's child exited with code ${code}`)),
    );
  });
}

/** bench/train_lora_torch.py on the exported folder: the check, then its timed steps. */
function torchRun(dir: string, args: LoraBenchArgs): Record<string, unknown> {
  const script = join(ROOT, 'bench/train_lora_torch.py');
  const r = spawnSync(
    PYTHON,
    [script, '--dir', dir, '--steps', String(args.steps), '--warmup', String(args.warmup)].concat([
      '--threads',
      String(args.threads),
      '--device',
      args.torchDevice,
    ]),
    { encoding: 'utf8', maxBuffer: 1 << 20 },
  );
  const last = r.stdout.trim().split('\n').pop();
  if (!last?.startsWith('{'))
    throw new Error(`bench:train --lora: train_lora_torch.py failed: ${r.stderr || r.error?.message}`);
  return JSON.parse(last) as Record<string, unknown>;
}

/** The whole benchmark: ours, then PyTorch's on the same weights and batches; prints the JSON. */
export async function loraBench(args: LoraBenchArgs): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-train-lora-'));
  try {
    const loadBefore = round(loadavg()[0]);
    const ours = await oursInChild(dir, args);
    const torch = torchRun(dir, args);
    const loadAfter = round(loadavg()[0]);
    const cfg = loraConfig();
    console.log(
      JSON.stringify({
        bench: 'train',
        step: 'lora-decpo',
        shape: 'pythia-160m (gpt_neox, random weights)',
        pairs: args.pairs,
        micro_pairs: args.microPairs,
        prompt: PROMPT,
        response: RESPONSE,
        tokens_per_step: 2 * args.pairs * (PROMPT + RESPONSE),
        lora: { r: cfg.lora.r, alpha: cfg.lora.alpha, dropout: cfg.lora.dropout, targets: cfg.lora.targets },
        dropout_in_step: true,
        adapted_modules: ours.adaptedModules,
        adapter_params: ours.adapterParams,
        regularizer: `barlow, lambda ${objective.lambda}, blocks.${objective.layer}.${objective.tap}`,
        ...ours.record,
        warmup: args.warmup,
        peak_rss_mb: ours.peakRssMb,
        wasm_heap_mb: ours.wasmHeapMb,
        ...torch,
        ratio: round(Number(ours.record.tokens_per_s) / Number(torch.torch_tokens_per_s), 3),
        cores: availableParallelism(),
        cpu: cpus()[0]?.model,
        load_before: loadBefore,
        load_after: loadAfter,
        ...(ours.profile && { profile: ours.profile }),
      }),
    );
    if (!(torch.check as { ok: boolean }).ok) process.exitCode = 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
