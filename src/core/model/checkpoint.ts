/**
 * Checkpoint folders in the Hugging Face GPT-2 layout: `model.safetensors` (names `wte.weight`,
 * `h.{i}.attn.c_attn.weight`, ..., Conv1D weights [in, out]), `config.json` (GPT2Config keys) and the
 * tokenizer files, plus `monoscope.json` with our provenance (stage, run, parent, backend). A folder
 * written here loads unchanged with `GPT2LMHeadModel.from_pretrained(folder)`; GPT-2-family folders
 * (gpt2, distilgpt2, gpt2-medium, ...) with `model.safetensors` load here.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gptConfig, paramNames, paramShape, type GPTConfig } from './gpt.js';
import { readSafetensors, writeSafetensors, type NamedArray } from './safetensors.js';
import { tempPath } from '../store/files.js';
import { loadTokenizer } from './tokenizers.js';
import type { Tokenizer } from './tokenizer.js';

/** Provenance kept beside the weights. */
export interface CheckpointMeta {
  format: 'monoscope-checkpoint';
  formatVersion: 1;
  /** base, sft, dpo, decpo, simpo, l1, or `imported` for a foreign folder. */
  stage: string;
  runId?: string;
  parent?: string;
  step?: number;
  createdAt: string;
  backend?: string;
  task?: string;
  /** Anything else worth keeping (training settings, regularizer id, ...). */
  extra?: Record<string, unknown>;
}

export interface LoadedCheckpoint {
  dir: string;
  config: GPTConfig;
  arrays: Map<string, NamedArray>;
  tokenizer: Tokenizer;
  meta: CheckpointMeta;
  /** sha256 of model.safetensors. */
  hash: string;
}

const SUPPORTED_ACTIVATIONS = new Set(['gelu_new', 'gelu_pytorch_tanh', 'gelu_fast']);

/** The Hugging Face `config.json` for a config. */
export function hfConfigJson(cfg: GPTConfig): Record<string, unknown> {
  return {
    architectures: ['GPT2LMHeadModel'],
    model_type: 'gpt2',
    vocab_size: cfg.vocabSize,
    n_positions: cfg.nCtx,
    n_ctx: cfg.nCtx,
    n_embd: cfg.nEmbd,
    n_layer: cfg.nLayer,
    n_head: cfg.nHead,
    n_inner: cfg.nInner,
    activation_function: 'gelu_new',
    resid_pdrop: 0.0,
    embd_pdrop: 0.0,
    attn_pdrop: 0.0,
    layer_norm_epsilon: cfg.layerNormEps,
    initializer_range: 0.02,
    scale_attn_weights: true,
    tie_word_embeddings: true,
    bos_token_id: cfg.bosTokenId,
    eos_token_id: cfg.eosTokenId,
    use_cache: true,
    torch_dtype: 'float32',
  };
}

/** Reads and validates a Hugging Face GPT-2 `config.json`. */
export function parseHfConfig(json: Record<string, unknown>, file: string): GPTConfig {
  const need = (k: string): number => {
    const v = json[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
      throw new Error(`${file}: field '${k}' must be a positive integer, got ${JSON.stringify(v)}`);
    }
    return v;
  };
  if (json.model_type !== 'gpt2') {
    throw new Error(
      `${file}: model_type is ${JSON.stringify(json.model_type)}; only GPT-2-family checkpoints ('gpt2') are supported`,
    );
  }
  const act = (json.activation_function as string | undefined) ?? 'gelu_new';
  if (!SUPPORTED_ACTIVATIONS.has(act)) {
    throw new Error(`${file}: activation_function '${act}' is not supported (expected gelu_new)`);
  }
  if (json.tie_word_embeddings === false) throw new Error(`${file}: untied LM heads are not supported`);
  const nEmbd = need('n_embd');
  const vocabSize = need('vocab_size');
  return gptConfig({
    vocabSize,
    nCtx: need('n_positions'),
    nEmbd,
    nLayer: need('n_layer'),
    nHead: need('n_head'),
    nInner: typeof json.n_inner === 'number' ? json.n_inner : 4 * nEmbd,
    layerNormEps: typeof json.layer_norm_epsilon === 'number' ? json.layer_norm_epsilon : 1e-5,
    bosTokenId: typeof json.bos_token_id === 'number' ? json.bos_token_id : vocabSize - 1,
    eosTokenId: typeof json.eos_token_id === 'number' ? json.eos_token_id : vocabSize - 1,
  });
}

/**
 * Writes a checkpoint folder. The folder is built under a temporary name and renamed into place, so a crash
 * never leaves a half-written checkpoint under the final name.
 */
export function saveCheckpoint(
  dir: string,
  cfg: GPTConfig,
  arrays: Map<string, NamedArray>,
  tokenizer: Tokenizer,
  meta: Omit<CheckpointMeta, 'format' | 'formatVersion' | 'createdAt'> & { createdAt?: string },
): string {
  mkdirSync(dirname(dir), { recursive: true });
  const tmp = tempPath(dir);
  mkdirSync(tmp);
  const ordered = new Map<string, NamedArray>();
  for (const name of paramNames(cfg)) {
    const a = arrays.get(name);
    if (!a) throw new Error(`cannot save checkpoint: parameter '${name}' is missing`);
    ordered.set(name, a);
  }
  writeSafetensors(join(tmp, 'model.safetensors'), ordered, { format: 'pt' });
  writeFileSync(join(tmp, 'config.json'), JSON.stringify(hfConfigJson(cfg), null, 2));
  tokenizer.save(tmp);
  const full: CheckpointMeta = {
    format: 'monoscope-checkpoint',
    formatVersion: 1,
    createdAt: new Date().toISOString(),
    ...meta,
  };
  writeFileSync(join(tmp, 'monoscope.json'), JSON.stringify(full, null, 2));
  const old = tempPath(dir);
  if (existsSync(dir)) renameSync(dir, old);
  renameSync(tmp, dir);
  rmSync(old, { recursive: true, force: true });
  return hashFile(join(dir, 'model.safetensors'));
}

/** sha256 of a file, hex. */
export function hashFile(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

const weightsHashes = new Map<string, { stamp: string; hash: string }>();
/**
 * The content hash of a checkpoint folder's weights (sha256 of `model.safetensors`), or undefined when the
 * file is missing. Kept per file while its size, modification and change times stay the same.
 */
export function checkpointWeightsHash(dir: string): string | undefined {
  const file = join(dir, 'model.safetensors');
  const s = statSync(file, { bigint: true, throwIfNoEntry: false });
  if (!s) return undefined;
  const stamp = `${s.size}:${s.mtimeNs}:${s.ctimeNs}:${s.ino}`;
  const hit = weightsHashes.get(file);
  if (hit?.stamp === stamp) return hit.hash;
  const hash = hashFile(file);
  weightsHashes.set(file, { stamp, hash });
  return hash;
}

/**
 * Loads and validates a checkpoint folder. Every problem is reported with the file and the field: a missing
 * folder or file, a config that is not GPT-2, a tensor that is missing or of the wrong shape.
 */
export function loadCheckpoint(dir: string): LoadedCheckpoint {
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new Error(`checkpoint folder not found: ${dir}`);
  const cfgFile = join(dir, 'config.json');
  if (!existsSync(cfgFile)) throw new Error(`${dir}: not a checkpoint folder (no config.json)`);
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(readFileSync(cfgFile, 'utf8'));
  } catch (e) {
    throw new Error(`${cfgFile}: invalid JSON: ${(e as Error).message}`);
  }
  const config = parseHfConfig(json, cfgFile);
  const weights = join(dir, 'model.safetensors');
  if (!existsSync(weights)) {
    const hint = existsSync(join(dir, 'pytorch_model.bin'))
      ? ' (found pytorch_model.bin: save it with `model.save_pretrained(dir, safe_serialization=True)`)'
      : '';
    throw new Error(`${dir}: no model.safetensors${hint}`);
  }
  const { tensors } = readSafetensors(weights);
  const arrays = new Map<string, NamedArray>();
  for (const name of paramNames(config)) {
    const t = tensors.get(name) ?? tensors.get(`transformer.${name}`);
    if (!t) throw new Error(`${weights}: tensor '${name}' is missing`);
    const shape = paramShape(config, name);
    if (t.shape.join(',') !== shape.join(',')) {
      throw new Error(
        `${weights}: tensor '${name}' has shape [${t.shape}] but config.json implies [${shape}]`,
      );
    }
    if (!(t.data instanceof Float32Array))
      throw new Error(`${weights}: tensor '${name}' is not floating point`);
    arrays.set(name, t);
  }
  const tokenizer = loadTokenizer(dir, config.vocabSize);
  const metaFile = join(dir, 'monoscope.json');
  let meta: CheckpointMeta;
  if (existsSync(metaFile)) {
    try {
      meta = JSON.parse(readFileSync(metaFile, 'utf8'));
    } catch (e) {
      throw new Error(`${metaFile}: invalid JSON: ${(e as Error).message}`);
    }
  } else {
    meta = {
      format: 'monoscope-checkpoint',
      formatVersion: 1,
      stage: 'imported',
      createdAt: statSync(weights).mtime.toISOString(),
    };
  }
  return { dir, config, arrays, tokenizer, meta, hash: hashFile(weights) };
}
