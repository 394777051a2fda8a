/**
 * Checkpoint folders in the Hugging Face layout: `config.json` (its `model_type` picks the architecture,
 * see models.ts), the weights in `model.safetensors` or sharded as `model.safetensors.index.json` plus the
 * shards it names (stored as F32, F16, BF16 or F64, computed in float32), the tokenizer files, and, for
 * folders we write, `monoscope.json` with our provenance (stage, run, parent, backend). A folder written
 * here loads unchanged with `AutoModelForCausalLM.from_pretrained(folder)`; a folder `save_pretrained`
 * wrote loads here. We never unpickle: a folder with only `pytorch_model.bin` is refused with how to
 * convert it.
 *
 * A PEFT LoRA adapter folder (adapter.ts) is a checkpoint too: base + adapter. Its config is the base's
 * with `lora` set, its weights the base's and the adapter's, its hash derived from both
 * (adapter.ts `adapterHash`), its tokenizer the base's. The base is found by {@link adapterBaseDir}; the
 * loaders' optional `base` gives it explicitly.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import type { ModelConfig } from './architecture.js';
import { architecture, modelConfigJson, paramSpecs, parseModelConfig } from './models.js';
import {
  isFloatDtype,
  readSafetensorsHeader,
  readTensor,
  writeSafetensors,
  type NamedArray,
  type TensorEntry,
} from './safetensors.js';
import { writeFolderAtomic } from '../store/files.js';
import { loadTokenizer } from './tokenizers.js';
import { checkMemory } from './memory.js';
import { activeBackend } from '../backend/index.js';
import type { Tokenizer } from './tokenizer.js';
import {
  ADAPTER_WEIGHTS,
  adapterHash,
  isAdapterFolder,
  readAdapter,
  readAdapterConfig,
  type AdapterBase,
} from './adapter.js';

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
  /** Adapter folders: the base checkpoint the adapter belongs to (see {@link adapterBaseDir}). */
  base?: AdapterBase;
}

/** A checkpoint folder without its weights' values: what {@link openCheckpoint} reads. */
export interface OpenedCheckpoint extends WeightsInfo {
  dir: string;
  tokenizer: Tokenizer;
  meta: CheckpointMeta;
  /** The weights' content hash, see {@link checkpointWeightsHash}. */
  hash: string;
}

export interface LoadedCheckpoint extends OpenedCheckpoint, LoadedWeights {}

/**
 * Writes a checkpoint folder. The folder is built under a temporary name and renamed into place, so a crash
 * never leaves a half-written checkpoint under the final name.
 */
export function saveCheckpoint(
  dir: string,
  cfg: ModelConfig,
  arrays: Map<string, NamedArray>,
  tokenizer: Tokenizer,
  meta: Omit<CheckpointMeta, 'format' | 'formatVersion' | 'createdAt'> & { createdAt?: string },
): string {
  const ordered = new Map<string, NamedArray>();
  for (const { name } of paramSpecs(cfg)) {
    const a = arrays.get(name);
    if (!a) throw new Error(`cannot save checkpoint: parameter '${name}' is missing`);
    ordered.set(name, a);
  }
  const full: CheckpointMeta = {
    format: 'monoscope-checkpoint',
    formatVersion: 1,
    createdAt: new Date().toISOString(),
    ...meta,
  };
  writeFolderAtomic(dir, (tmp) => {
    writeSafetensors(join(tmp, 'model.safetensors'), ordered, { format: 'pt' });
    writeFileSync(join(tmp, 'config.json'), JSON.stringify(modelConfigJson(cfg), null, 2));
    tokenizer.save(tmp);
    writeFileSync(join(tmp, 'monoscope.json'), JSON.stringify(full, null, 2));
  });
  return hashFile(join(dir, 'model.safetensors'));
}

/** sha256 of a file, hex, read in 16 MiB chunks (weight files can outgrow a Buffer). */
export function hashFile(file: string): string {
  const h = createHash('sha256');
  const chunk = Buffer.alloc(16 << 20);
  const fd = openSync(file, 'r');
  try {
    for (let n; (n = readSync(fd, chunk, 0, chunk.length, null)) > 0;) h.update(chunk.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return h.digest('hex');
}

const INDEX = 'model.safetensors.index.json';

/**
 * The weight files of a checkpoint folder: `model.safetensors`, or the shards a
 * `model.safetensors.index.json` names (with the index's name of each tensor's shard). Errors name the
 * folder or the index; a folder with only PyTorch pickles is told how to convert.
 */
export function weightFiles(dir: string): { files: string[]; index?: Map<string, string> } {
  const single = join(dir, 'model.safetensors');
  if (existsSync(single)) return { files: [single] };
  const indexFile = join(dir, INDEX);
  if (existsSync(indexFile)) {
    let json: { weight_map?: Record<string, unknown> };
    try {
      json = JSON.parse(readFileSync(indexFile, 'utf8'));
    } catch (e) {
      throw new Error(`${indexFile}: invalid JSON: ${(e as Error).message}`);
    }
    const map = json.weight_map;
    if (!map || typeof map !== 'object') throw new Error(`${indexFile}: field 'weight_map' is missing`);
    const index = new Map<string, string>();
    for (const [name, shard] of Object.entries(map)) {
      if (typeof shard !== 'string' || !/^[^/\\]+\.safetensors$/.test(shard))
        throw new Error(`${indexFile}: weight_map['${name}'] must name a .safetensors file in the folder`);
      index.set(name, join(dir, shard));
    }
    const files = [...new Set(index.values())].sort();
    for (const f of files) if (!existsSync(f)) throw new Error(`${indexFile}: shard ${f} is missing`);
    return { files, index };
  }
  const pickles = ['pytorch_model.bin', 'pytorch_model.bin.index.json'].filter((f) =>
    existsSync(join(dir, f)),
  );
  const hint = pickles.length
    ? ` (found ${pickles.join(', ')}: Monoscope does not unpickle; convert with \`AutoModelForCausalLM.from_pretrained(dir).save_pretrained(dir, safe_serialization=True)\`)`
    : '';
  throw new Error(`${dir}: no model.safetensors or ${INDEX}${hint}`);
}

const weightsHashes = new Map<string, { stamp: string; hash: string }>();
/**
 * The content hash of a checkpoint folder's weights, or undefined when it has none: the sha256 of
 * `model.safetensors`, or for a sharded folder the sha256 of the index file followed by each shard's
 * sha256. Kept per folder while every file's size, modification and change times stay the same.
 */
export function checkpointWeightsHash(dir: string, base?: string): string | undefined {
  if (isAdapterFolder(dir)) return adapterWeightsHash(dir, base);
  let files: string[];
  try {
    const w = weightFiles(dir);
    files = w.index ? [join(dir, INDEX), ...w.files] : w.files;
  } catch {
    return undefined;
  }
  const stamps: string[] = [];
  for (const f of files) {
    const s = statSync(f, { bigint: true, throwIfNoEntry: false });
    if (!s) return undefined;
    stamps.push(`${f}:${s.size}:${s.mtimeNs}:${s.ctimeNs}:${s.ino}`);
  }
  const stamp = stamps.join('|');
  const hit = weightsHashes.get(dir);
  if (hit?.stamp === stamp) return hit.hash;
  const hash =
    files.length === 1
      ? hashFile(files[0])
      : createHash('sha256')
          .update(readFileSync(files[0]))
          .update(files.slice(1).map(hashFile).join(''))
          .digest('hex');
  weightsHashes.set(dir, { stamp, hash });
  return hash;
}

/**
 * The hash of an adapter folder as a checkpoint (adapter.ts `adapterHash` of its base's weights hash, its
 * settings and its weights file), or undefined when its base or its files are not found.
 */
function adapterWeightsHash(dir: string, base?: string): string | undefined {
  try {
    const baseHash = checkpointWeightsHash(adapterBaseDir(dir, base));
    if (baseHash === undefined) return undefined;
    return adapterHash(baseHash, readAdapterConfig(dir).spec, hashFile(join(dir, ADAPTER_WEIGHTS)));
  } catch {
    return undefined;
  }
}

/** A path an adapter folder names: absolute, or relative to the adapter folder. */
const fromAdapter = (dir: string, path: string) => (isAbsolute(path) ? path : resolve(dir, path));

/** Whether `dir` is a checkpoint folder (its config.json) rather than a Hub id or nothing. */
const isModelFolder = (dir: string) => existsSync(join(dir, 'config.json'));

/**
 * The folder of an adapter's base checkpoint: `base` when given (it must be a checkpoint folder); else
 * (a) the `base.dir` of the adapter folder's `monoscope.json` (what our training and `monoscope checkpoints
 * add ADAPTER --base DIR` write), whose weights must still have the hash recorded there; else (b) `base_model_name_or_path` of `adapter_config.json` when it is a
 * checkpoint folder (absolute, or relative to the adapter folder). Otherwise the error names the adapter,
 * the base it asked for, and how to give one.
 */
export function adapterBaseDir(dir: string, base?: string): string {
  if (base !== undefined) {
    if (!isModelFolder(base))
      throw new Error(`${base}: not a checkpoint folder to be ${dir}'s base (no config.json)`);
    return base;
  }
  const meta = readCheckpointMeta(dir);
  if (meta.base) {
    const base = fromAdapter(dir, meta.base.dir);
    if (!isModelFolder(base))
      throw new Error(
        `${join(dir, 'monoscope.json')}: the adapter's base checkpoint ${base} is not found (give another with \`monoscope checkpoints add ${dir} --base DIR\`)`,
      );
    const now = checkpointWeightsHash(base);
    if (now !== meta.base.hash)
      throw new Error(
        `${join(dir, 'monoscope.json')}: the adapter's base checkpoint ${base} has other weights than the adapter was made for (hash ${now?.slice(0, 12)}, expected ${meta.base.hash.slice(0, 12)})`,
      );
    return base;
  }
  const asked = readAdapterConfig(dir).baseModel;
  if (asked !== undefined && isModelFolder(fromAdapter(dir, asked))) return fromAdapter(dir, asked);
  throw new Error(
    `${dir}: the adapter's base model ${asked === undefined ? '(adapter_config.json names none)' : `'${asked}' (base_model_name_or_path)`} is not a checkpoint folder here; register the adapter with its base: \`monoscope checkpoints add ${dir} --base DIR\``,
  );
}

/** Reads and validates a folder's `config.json`. */
export function readModelConfig(dir: string): ModelConfig {
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
  return parseModelConfig(json, cfgFile);
}

/**
 * The tensors of a folder's weight files, by stored name, checked against the model: every parameter
 * present (under one of its stored names) with the shape config.json implies and a floating dtype, and no
 * tensor left over but the architecture's known buffers. Errors name the file and the tensor.
 */
function locateWeights(dir: string, config: ModelConfig): Map<string, { file: string; entry: TensorEntry }> {
  const arch = architecture(config);
  const { files, index } = weightFiles(dir);
  const stored = new Map<string, { file: string; entry: TensorEntry }>();
  for (const file of files) {
    for (const entry of readSafetensorsHeader(file).entries) {
      if (index && index.get(entry.name) !== file)
        throw new Error(`${file}: tensor '${entry.name}' is not listed for this shard in ${INDEX}`);
      stored.set(entry.name, { file, entry });
    }
  }
  if (index) {
    for (const [name, file] of index)
      if (!stored.has(name)) throw new Error(`${file}: tensor '${name}' (listed in ${INDEX}) is missing`);
  }
  const out = new Map<string, { file: string; entry: TensorEntry }>();
  const used = new Set<string>();
  const where = files.length === 1 ? files[0] : `${join(dir, INDEX)}`;
  for (const { name, shape } of paramSpecs(config)) {
    const key = (arch.storedNames?.(name) ?? [name]).find((n) => stored.has(n));
    if (!key) throw new Error(`${where}: tensor '${name}' is missing`);
    const hit = stored.get(key)!;
    if (hit.entry.shape.join(',') !== shape.join(',')) {
      throw new Error(
        `${hit.file}: tensor '${key}' has shape [${hit.entry.shape}] but config.json implies [${shape}]`,
      );
    }
    if (!isFloatDtype(hit.entry.dtype))
      throw new Error(`${hit.file}: tensor '${key}' is ${hit.entry.dtype}, not floating point`);
    out.set(name, hit);
    used.add(key);
  }
  for (const [name, { file }] of stored) {
    if (!used.has(name) && !arch.buffers?.test(name)) {
      throw new Error(
        `${file}: unexpected tensor '${name}': not a parameter of a ${config.arch} model with this config.json`,
      );
    }
  }
  return out;
}

/** What a folder's weights are, read from its config and the files' headers alone. */
export interface WeightsInfo {
  config: ModelConfig;
  /** The dtype the weights are stored in (F32, F16, BF16 or F64; `mixed` when they differ). */
  dtype: string;
  /** Bytes of the weight files. */
  bytes: number;
  /** Number of parameters. */
  params: number;
}

/** A folder's model without its tokenizer: what {@link loadWeights} reads. */
export interface LoadedWeights extends WeightsInfo {
  arrays: Map<string, NamedArray>;
}

/**
 * The config, located tensors and description of a folder's weights, validated by {@link locateWeights};
 * for an adapter folder, its base's with the adapter's settings and tensors (adapter.ts `readAdapter`).
 */
function inspectWeights(
  dir: string,
  base?: string,
): WeightsInfo & {
  located: ReturnType<typeof locateWeights>;
  adapter?: Map<string, NamedArray>;
} {
  if (isAdapterFolder(dir)) {
    const baseDir = adapterBaseDir(dir, base);
    if (isAdapterFolder(baseDir)) throw new Error(`${dir}: its base ${baseDir} is an adapter folder too`);
    const info = inspectWeights(baseDir);
    const { config, arrays } = readAdapter(dir, info.config);
    let params = info.params;
    for (const a of arrays.values()) params += a.data.length;
    const bytes = info.bytes + statSync(join(dir, ADAPTER_WEIGHTS)).size;
    return { ...info, config, params, bytes, adapter: arrays };
  }
  const config = readModelConfig(dir);
  const located = locateWeights(dir, config);
  const dtypes = new Set([...located.values()].map((l) => l.entry.dtype));
  let params = 0;
  for (const { entry } of located.values()) params += entry.shape.reduce((a, b) => a * b, 1);
  return {
    config,
    located,
    dtype: dtypes.size === 1 ? [...dtypes][0] : 'mixed',
    bytes: weightFiles(dir).files.reduce((n, f) => n + statSync(f).size, 0),
    params,
  };
}

/**
 * Validates a folder's config and weights as {@link loadWeights} does, reading only the files' headers,
 * and says what they are.
 */
export function describeWeights(dir: string, base?: string): WeightsInfo {
  const { located: _, adapter: _adapter, ...info } = inspectWeights(dir, base);
  return info;
}

/**
 * Reads and validates a folder's config and weights (widened to float32), see {@link locateWeights}; a
 * model that would not fit in memory on the active backend (with one sequence of up to 128 tokens) is
 * refused before its weights are read, see {@link checkMemory}.
 */
export function loadWeights(dir: string, base?: string): LoadedWeights {
  const { located, adapter, ...info } = inspectWeights(dir, base);
  const tokens = Math.min(128, info.config.nCtx);
  checkMemory(dir, info.config, info.params, activeBackend()?.backend ?? 'cpu', {
    sequences: 1,
    tokens,
    logits: true,
  });
  const arrays = new Map<string, NamedArray>();
  for (const [name, { file, entry }] of located) arrays.set(name, readTensor(file, entry));
  for (const [name, a] of adapter ?? []) arrays.set(name, a);
  return { ...info, arrays };
}

/** A folder's provenance: its `monoscope.json`, or for a foreign folder stage `imported` as of its weights. */
export function readCheckpointMeta(dir: string): CheckpointMeta {
  const metaFile = join(dir, 'monoscope.json');
  if (!existsSync(metaFile)) {
    return {
      format: 'monoscope-checkpoint',
      formatVersion: 1,
      stage: 'imported',
      createdAt: statSync(
        isAdapterFolder(dir) ? join(dir, ADAPTER_WEIGHTS) : weightFiles(dir).files[0],
      ).mtime.toISOString(),
    };
  }
  try {
    return JSON.parse(readFileSync(metaFile, 'utf8'));
  } catch (e) {
    throw new Error(`${metaFile}: invalid JSON: ${(e as Error).message}`);
  }
}

/**
 * Opens and validates a checkpoint folder without reading its weights' values: config, weights' headers,
 * tokenizer, provenance and content hash. Every problem is reported with the file and the field: a
 * missing folder or file, an unsupported or inconsistent config, a tensor that is missing, unexpected or
 * of the wrong shape, a missing or inconsistent tokenizer.
 */
export function openCheckpoint(dir: string, base?: string): OpenedCheckpoint {
  const info = describeWeights(dir, base);
  const tokenizer = loadTokenizer(
    isAdapterFolder(dir) ? adapterBaseDir(dir, base) : dir,
    info.config.vocabSize,
  );
  const hash = checkpointWeightsHash(dir, base)!;
  return { dir, ...info, tokenizer, meta: readCheckpointMeta(dir), hash };
}

/** Loads and validates a checkpoint folder: {@link openCheckpoint} and its weights ({@link loadWeights}). */
export function loadCheckpoint(dir: string, base?: string): LoadedCheckpoint {
  return { ...openCheckpoint(dir, base), ...loadWeights(dir, base) };
}
