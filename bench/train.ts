/**
 * Training-step benchmark: `npm run bench:train [-- --steps N --backend wasm --threads 1,2 --lm --profile]`.
 *
 * Prints one JSON line per usable backend:
 *   {"bench":"train","backend":"wasm","tokens_per_s":…,"ms_per_step":…,"ms_min":…,"ms_max":…,
 *    "cpu_ms_per_step":…,"steps":…,"device":…,"threads":…}
 * The step timed is exactly {@link Stepper.preferenceStep} for DecPO: vocab 256, context 64, 2 layers,
 * d_model 128, 4 heads, d_mlp 512; 16 preference pairs of 32 prompt + 32 response tokens; `barlow` with
 * lambda 1e-4 on block 0; AdamW; reference log-probs precomputed (random) outside the timed step.
 * Tokens counted per step: 2 x 16 x 64. `ms_per_step` is the median over the timed steps.
 *
 * TF.js uses one backend per process, so each backend runs in its own child process (`--child <name>`).
 * `--threads 1,2` also times wasm with our GEMM worker thread (`src/core/backend/wasm-threads.ts`), the
 * way PyTorch uses both cores; `"threads"` in each line says which. With `--lm`, a second line times an
 * LM step on 32 x 64 tokens. With `--profile`, the child also prints the kernels of one step by total
 * time (`tf.profile`) on stderr.
 *
 * `--lora` times instead the LoRA DecPO step at Pythia-160m's exact shape against the same step in PyTorch
 * (bench/train-lora.ts; `--pairs N`, default 8, in micro-batches of `--micro-pairs`, default 1; `--steps` default 3, `--warmup` default 1, `--profile`;
 * `--backend` ours, default wasm; `--torch-device` PyTorch's, default cpu: bench/gpu.sh runs webgpu and cuda).
 *
 * `--export-check DIR` writes the initial weights (model.safetensors), one batch with its reference log-probs
 * (batch.json) and our loss, penalty, per-row log-probs and gradient norm on them (expected.json), for
 * `bench/train_torch.py --check DIR`.
 */
import { fork } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, listBackends, type BackendName } from '../src/core/backend/index.js';
import { availableParallelism } from 'node:os';
import { startWasmGemmWorker } from '../src/core/backend/wasm-threads.js';
import { disposeParams, paramsFromArrays } from '../src/core/model/models.js';
import { gptConfig, initParamArrays } from '../src/core/model/arch/gpt2.js';
import { Rng } from '../src/core/model/rng.js';
import { writeSafetensors } from '../src/core/model/safetensors.js';
import { lmBatch, preferenceBatch, type PreferenceBatch } from '../src/core/train/batches.js';
import { Stepper, preferenceObjective, responseLogps, type RefLogps } from '../src/core/train/step.js';
import type { TokenizedPair } from '../src/core/data/types.js';
import { profileKernels, timeSteps } from './timing.js';
import { loraBench, loraChild, type LoraBenchArgs } from './train-lora.js';

const cfg = gptConfig({ vocabSize: 256, nCtx: 64, nLayer: 2, nEmbd: 128, nHead: 4, nInner: 512 });
const PAIRS = 16;
const PROMPT = 32;
const RESPONSE = 32;
const TOKENS_PER_STEP = 2 * PAIRS * (PROMPT + RESPONSE);
const objective = preferenceObjective({ stage: 'decpo', regularizer: 'barlow', lambda: 1e-4, layer: 0 });

interface Args {
  child?: BackendName;
  backend?: BackendName;
  steps?: number;
  warmup?: number;
  lm: boolean;
  profile: boolean;
  exportCheck?: string;
  /** Thread counts to time the wasm backend with (1: stock; 2: with our GEMM worker thread). */
  threads: number[];
  /** The LoRA step at Pythia-160m's size instead (bench/train-lora.ts), with this many pairs. */
  lora: boolean;
  pairs: number;
  microPairs: number;
  /** Internal: our side of the LoRA benchmark, exporting to this folder. */
  loraChild?: string;
  /** Where PyTorch runs the LoRA step (`cpu`; `cuda` from bench/gpu.sh). */
  torchDevice: string;
}

function parseArgs(argv: string[]): Args {
  // Default: the threads training uses by default (2 where there are 2 cores or more).
  const args: Args = {
    lm: false,
    profile: false,
    threads: [availableParallelism() >= 2 ? 2 : 1],
    lora: false,
    pairs: 8,
    microPairs: 1,
    torchDevice: 'cpu',
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`bench:train: ${a} needs a value`);
      return v;
    };
    if (a === '--child') args.child = value() as BackendName;
    else if (a === '--backend') args.backend = value() as BackendName;
    else if (a === '--steps') args.steps = Number(value());
    else if (a === '--warmup') args.warmup = Number(value());
    else if (a === '--lm') args.lm = true;
    else if (a === '--profile') args.profile = true;
    else if (a === '--export-check') args.exportCheck = value();
    else if (a === '--lora') args.lora = true;
    else if (a === '--pairs') args.pairs = Number(value());
    else if (a === '--micro-pairs') args.microPairs = Number(value());
    else if (a === '--lora-child') args.loraChild = value();
    else if (a === '--torch-device') args.torchDevice = value();
    else if (a === '--threads') {
      args.threads = value().split(',').map(Number);
      if (args.threads.some((t) => t !== 1 && t !== 2))
        throw new Error('bench:train: --threads takes 1, 2 or 1,2');
    } else {
      throw new Error(
        `bench:train: unknown argument '${a}' (expected --backend, --steps, --warmup, --threads, --lm, --profile, --export-check, --lora, --pairs, --micro-pairs, --torch-device)`,
      );
    }
  }
  return args;
}

function randomTokens(rng: Rng, n: number): number[] {
  return Array.from({ length: n }, () => rng.int(cfg.vocabSize));
}

/** A batch of random pairs: 32 prompt tokens, 32 chosen and 32 rejected response tokens each. */
function randomPreferenceBatch(rng: Rng): PreferenceBatch {
  const items: TokenizedPair[] = Array.from({ length: PAIRS }, () => ({
    prompt: randomTokens(rng, PROMPT),
    chosen: randomTokens(rng, RESPONSE),
    rejected: randomTokens(rng, RESPONSE),
  }));
  return preferenceBatch(items, cfg.eosTokenId);
}

/** Random reference log-probs near those of a uniform model (32 ln(1/256) = -177). */
function randomRef(rng: Rng): RefLogps {
  const one = () =>
    Float32Array.from({ length: PAIRS }, () => -RESPONSE * Math.log(cfg.vocabSize) + rng.normal());
  return { chosen: one(), rejected: one() };
}

/** Runs the benchmark on one backend in this process and prints its JSON lines. */
async function runChild(backend: BackendName, args: Args): Promise<void> {
  const info = await initBackend(backend);
  const threads = backend === 'wasm' ? args.threads[0] : 1;
  if (threads === 2) await startWasmGemmWorker();
  const slow = backend === 'cpu';
  const steps = args.steps ?? (slow ? 3 : 20);
  const warmup = args.warmup ?? (slow ? 1 : 3);
  const rng = new Rng(1234);
  const params = paramsFromArrays(cfg, initParamArrays(cfg, 1), true);
  const stepper = new Stepper(cfg, params, { weightDecay: 0.1, maxGradNorm: 1 });
  // Batches and reference log-probs are made before timing; the step itself uploads its batch.
  const batches = Array.from({ length: 4 }, () => ({
    batch: randomPreferenceBatch(rng),
    ref: randomRef(rng),
  }));
  const prefStep = async (i: number): Promise<void> => {
    const { batch, ref } = batches[i % batches.length];
    await stepper.preferenceStep(batch, ref, objective, 1e-4);
  };
  const device = info.device;
  const extra: Record<string, string | number> = { threads };
  if (backend === 'wasm') extra.simd = String(tf.env().getBool('WASM_HAS_SIMD_SUPPORT'));
  const rec = await timeSteps(
    { bench: 'train', backend, step: 'decpo', device, ...extra },
    TOKENS_PER_STEP,
    warmup,
    steps,
    prefStep,
  );
  console.log(JSON.stringify(rec));
  if (args.profile) await profileKernels(() => prefStep(0));
  if (args.lm) {
    const windows = Array.from({ length: 2 * PAIRS }, () => Int32Array.from(randomTokens(rng, cfg.nCtx)));
    const lb = lmBatch(windows, -1);
    const lmRec = await timeSteps(
      { bench: 'train', backend, step: 'lm', device, threads },
      lb.B * lb.T,
      warmup,
      steps,
      async () => {
        await stepper.lmStep(lb, 1e-4);
      },
    );
    console.log(JSON.stringify(lmRec));
  }
  stepper.dispose();
  disposeParams(params);
}

/** Writes weights, one batch and our loss on it, for `bench/train_torch.py --check DIR`. */
async function exportCheck(dir: string, backend: BackendName): Promise<void> {
  await initBackend(backend);
  const rng = new Rng(99);
  const arrays = initParamArrays(cfg, 7);
  const params = paramsFromArrays(cfg, arrays, true);
  const stepper = new Stepper(cfg, params, { weightDecay: 0.1, maxGradNorm: 1 });
  const batch = randomPreferenceBatch(rng);
  const ref = randomRef(rng);
  const logps = await responseLogps(cfg, params, batch, 'sum');
  const m = await stepper.preferenceStep(batch, ref, objective, 1e-4);
  mkdirSync(dir, { recursive: true });
  writeSafetensors(join(dir, 'model.safetensors'), arrays, { format: 'pt' });
  const list = (a: ArrayLike<number>): number[] => Array.from(a);
  const batchJson = {
    pairs: batch.pairs,
    T: batch.T,
    ids: list(batch.ids),
    predIdx: list(batch.predIdx),
    targets: list(batch.targets),
    rowOfToken: list(batch.rowOfToken),
    respIdx: list(batch.respIdx),
    refChosen: list(ref.chosen),
    refRejected: list(ref.rejected),
  };
  writeFileSync(join(dir, 'batch.json'), JSON.stringify(batchJson));
  const expected = {
    backend,
    loss: m.loss,
    'decorr/penalty': m['decorr/penalty'],
    grad_norm: m.grad_norm,
    logps: list(logps),
  };
  writeFileSync(join(dir, 'expected.json'), JSON.stringify(expected, null, 2));
  console.log(
    JSON.stringify({
      exported: dir,
      backend,
      loss: m.loss,
      penalty: m['decorr/penalty'],
      grad_norm: m.grad_norm,
    }),
  );
  stepper.dispose();
  disposeParams(params);
}

/** Forks one child per usable backend (or the one asked for), one after the other. */
async function runAll(args: Args, argv: string[]): Promise<void> {
  const probes = await listBackends();
  const names = probes
    .filter((p) => p.usable && (!args.backend || p.name === args.backend))
    .map((p) => p.name);
  if (args.backend && names.length === 0) {
    const p = probes.find((x) => x.name === args.backend);
    throw new Error(
      `bench:train: backend '${args.backend}' is not usable here: ${p?.reason ?? 'unknown backend'}`,
    );
  }
  for (const p of probes)
    if (!p.usable) process.stderr.write(`bench:train: skipping ${p.name}: ${p.reason}\n`);
  for (const name of names) {
    for (const threads of name === 'wasm' ? args.threads : [1]) {
      const code = await new Promise<number | null>((resolve) => {
        const childArgs = [...argv.filter((_, i) => argv[i] !== '--threads' && argv[i - 1] !== '--threads')];
        const child = fork(process.argv[1], [...childArgs, '--threads', String(threads), '--child', name], {
          stdio: 'inherit',
        });
        child.on('exit', resolve);
      });
      if (code !== 0) process.stderr.write(`bench:train: the ${name} child exited with code ${code}\n`);
    }
  }
}

/** The LoRA benchmark's settings: 2 threads unless asked, 1 warm-up and 3 timed steps unless asked. */
function loraArgs(a: Args): LoraBenchArgs {
  return {
    backend: a.backend ?? 'wasm',
    torchDevice: a.torchDevice,
    pairs: a.pairs,
    microPairs: a.microPairs,
    steps: a.steps ?? 3,
    warmup: a.warmup ?? 1,
    threads: a.threads[0],
    profile: a.profile,
  };
}

const argv = process.argv.slice(2);
const args = parseArgs(argv);
if (args.loraChild) await loraChild(args.loraChild, loraArgs(args));
else if (args.lora) await loraBench(loraArgs(args));
else if (args.exportCheck) await exportCheck(args.exportCheck, args.backend ?? 'wasm');
else if (args.child) await runChild(args.child, args);
else await runAll(args, argv);
