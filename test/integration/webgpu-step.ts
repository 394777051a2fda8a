/**
 * One training step of a named case on one backend, in a process of its own (TF.js takes one WebGPU
 * backend per process): `tsx test/integration/webgpu-step.ts <case> <backend> <out.json>`.
 *
 * Every case starts from the same weights and the same batch (both made from fixed seeds here, on the
 * host), computes the reference log-probs with the initial model (with a LoRA adapter: its base, from the
 * same tensors), runs one DecPO step through {@link Stepper.preferenceStep} and writes the step's metrics
 * and every new weight to `out.json`, so that the webgpu equality test can compare backends value by value. A case is a model config with its
 * trainable parameters (all of them, or a LoRA adapter's); adding one is one entry of {@link CASES}.
 */
import { writeFileSync } from 'node:fs';
import { initBackend, type BackendName } from '../../src/core/backend/index.js';
import { WORLD_MODEL } from '../../src/core/ops/train.js';
import { gptConfig, initParamArrays } from '../../src/core/model/arch/gpt2.js';
import type { ModelConfig } from '../../src/core/model/architecture.js';
import { AUTHORS_LORA, baseConfig, defaultLoraTargets, initLoraArrays } from '../../src/core/model/lora.js';
import {
  adaptedLinears,
  disposeParams,
  paramSpecs,
  paramsFromArrays,
  parseModelConfig,
  toNamedArrays,
} from '../../src/core/model/models.js';
import { Rng } from '../../src/core/model/rng.js';
import type { NamedArray } from '../../src/core/model/safetensors.js';
import { worldTokenizer } from '../../src/core/data/world.js';
import { preferenceTask } from '../../src/core/data/tasks.js';
import { pairLimits, tokenizePairs } from '../../src/core/data/jsonl.js';
import { preferenceBatch, type PreferenceBatch } from '../../src/core/train/batches.js';
import type { TokenizedPair } from '../../src/core/data/types.js';
import {
  Stepper,
  defaultTap,
  preferenceObjective,
  responseLogps,
  type PreferenceObjective,
  type StepOptions,
} from '../../src/core/train/step.js';

/** What a case gives the step: model, initial weights, one batch and the objective. */
export interface StepCase {
  cfg: ModelConfig;
  arrays: Map<string, NamedArray>;
  batch: PreferenceBatch;
  objective: PreferenceObjective;
  /** The step's options (a LoRA dropout seed). */
  options?: StepOptions;
}

/** What the step wrote: its metrics (TRL names) and every weight after AdamW. */
export interface StepResult {
  backend: string;
  device: string;
  metrics: Record<string, number>;
  weights: Record<string, number[]>;
}

/** Random weights for any config: N(0, 0.02) matrices, norm gains 1, biases 0. */
function randomArrays(cfg: ModelConfig, seed: number): Map<string, NamedArray> {
  const rng = new Rng(seed);
  const out = new Map<string, NamedArray>();
  for (const { name, shape } of paramSpecs(cfg)) {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    if (shape.length === 1 && /norm/.test(name)) data.fill(1);
    else if (shape.length > 1) for (let i = 0; i < data.length; i++) data[i] = 0.02 * rng.normal();
    out.set(name, { shape, data });
  }
  return out;
}

/** `pairs` toxicity pairs in the world's words, cut to the limits training gives the built-in tasks. */
function toxicityPairs(pairs: number, nCtx: number): TokenizedPair[] {
  const task = preferenceTask('toxicity', { seed: 1000, train: pairs, eval: 0 });
  return tokenizePairs(task.train, worldTokenizer(), pairLimits(nCtx, {}, true));
}

/** Random token pairs for a model with its own vocabulary. */
function randomPairs(vocab: number, pairs: number, seed: number): TokenizedPair[] {
  const rng = new Rng(seed);
  const tokens = (n: number) => Array.from({ length: n }, () => rng.int(vocab));
  return Array.from({ length: pairs }, () => ({ prompt: tokens(6), chosen: tokens(5), rejected: tokens(4) }));
}

/** A small random Llama: 2 layers, width 32, 4 query heads on 2 key/value heads, SwiGLU of width 48. */
function smallLlama(): ModelConfig {
  return parseModelConfig(
    {
      model_type: 'llama',
      vocab_size: 61,
      hidden_size: 32,
      intermediate_size: 48,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      max_position_embeddings: 32,
      rms_norm_eps: 1e-5,
      rope_theta: 10000,
      bos_token_id: 1,
      eos_token_id: 2,
    },
    'small llama config',
  );
}

export const CASES: Record<string, () => StepCase> = {
  /** A full-parameter DecPO step (barlow on block 0) of the built-in world's GPT on two toxicity pairs. */
  'world-gpt': () => {
    const cfg = gptConfig({ vocabSize: worldTokenizer().vocabSize, ...WORLD_MODEL });
    return {
      cfg,
      arrays: initParamArrays(cfg, 5),
      batch: preferenceBatch(toxicityPairs(2, cfg.nCtx), cfg.eosTokenId),
      objective: preferenceObjective({ stage: 'decpo', regularizer: 'barlow', lambda: 1e-4, layer: 0 }),
    };
  },
  /**
   * A full-parameter DecPO step of a small Llama-style model: grouped-query attention (4 query heads on 2
   * key/value heads), RoPE, RMSNorm, SwiGLU; barlow on block 1's neurons.
   */
  'llama-full': () => {
    const cfg = smallLlama();
    return {
      cfg,
      arrays: randomArrays(cfg, 11),
      batch: preferenceBatch(randomPairs(cfg.vocabSize, 3, 12), cfg.eosTokenId),
      objective: preferenceObjective({ stage: 'decpo', regularizer: 'barlow', lambda: 1e-3, layer: 1 }),
    };
  },
  /**
   * A LoRA DecPO step of the same Llama-style model as the DecPO authors trained theirs: rank 8, alpha 16,
   * dropout 0.05 (seeded: both backends draw the same masks) on q_proj, v_proj and up_proj, the regularizer on
   * the up projection's output (the paper's z), the base frozen and the reference the base itself. B starts
   * non-zero (an adapter part-way through training), so that A's gradient is not zero and the policy
   * differs from the reference.
   */
  'llama-lora': () => {
    const base = smallLlama();
    const cfg = {
      ...base,
      lora: { ...AUTHORS_LORA, targets: defaultLoraTargets(base.arch!), rslora: false },
    };
    const arrays = randomArrays(base, 11);
    const rng = new Rng(13);
    for (const [name, a] of initLoraArrays(adaptedLinears(cfg), cfg.lora.r, 14)) {
      if (name.endsWith('lora_B.weight'))
        for (let i = 0; i < a.data.length; i++) a.data[i] = 0.05 * rng.normal();
      arrays.set(name, a);
    }
    return {
      cfg,
      arrays,
      batch: preferenceBatch(randomPairs(cfg.vocabSize, 3, 12), cfg.eosTokenId),
      objective: preferenceObjective({
        stage: 'decpo',
        regularizer: 'barlow',
        lambda: 1e-3,
        layer: 1,
        tap: defaultTap(cfg),
      }),
      options: { dropoutSeed: 77 },
    };
  },
};

/** Runs `name`'s step on `backend` and returns what {@link StepResult} describes. */
export async function runCase(name: string, backend: BackendName): Promise<StepResult> {
  const make = CASES[name];
  if (!make) throw new Error(`unknown case '${name}' (expected ${Object.keys(CASES).join(', ')})`);
  const info = await initBackend(backend);
  const c = make();
  // With an adapter only the adapter trains, and the reference is the base: the same tensors without it.
  const params = paramsFromArrays(c.cfg, c.arrays, c.cfg.lora ? 'adapter' : true);
  const P = c.batch.pairs;
  const ref = await responseLogps(baseConfig(c.cfg), params, c.batch, c.objective.logpAgg);
  const stepper = new Stepper(c.cfg, params, { weightDecay: 0.1, maxGradNorm: 1e9, eps: 1e-5 });
  const metrics = await stepper.preferenceStep(
    c.batch,
    { chosen: ref.slice(0, P), rejected: ref.slice(P) },
    c.objective,
    1e-3,
    true,
    c.options,
  );
  const weights: Record<string, number[]> = {};
  for (const [k, a] of await toNamedArrays(params)) weights[k] = Array.from(a.data);
  stepper.dispose();
  disposeParams(params);
  return { backend: info.backend, device: info.device, metrics, weights };
}

if (process.argv[1] && /webgpu-step\.ts$/.test(process.argv[1])) {
  const [name, backend, out] = process.argv.slice(2);
  const result = await runCase(name, backend as BackendName);
  writeFileSync(out, JSON.stringify(result));
}
