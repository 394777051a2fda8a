/**
 * LoRA adapters in Hugging Face PEFT's layout, so that `PeftModel.from_pretrained(base, folder)` loads what
 * we write and an adapter trained with PEFT loads here:
 *
 *   adapter_config.json        LoraConfig's fields (peft tuners/lora/config.py and PeftConfig):
 *                              peft_type "LORA", r, lora_alpha, lora_dropout, target_modules, ...
 *   adapter_model.safetensors  `base_model.model.{module path}.lora_A.weight` [r, in] and
 *                              `...lora_B.weight` [out, r] per adapted linear layer (the adapter name
 *                              `default` is dropped from saved keys, peft utils/save_and_load.py)
 *
 * The module path is the full one of transformers' `*ForCausalLM` (GPT-2's parameters carry the
 * `transformer.` prefix there, see Architecture.modulePrefix). Folders we write also hold `monoscope.json`,
 * our provenance with the base checkpoint the adapter was trained on ({@link AdapterMeta}).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ModelConfig } from './architecture.js';
import { saveCheckpoint, type CheckpointMeta } from './checkpoint.js';
import {
  baseConfig,
  linearModules,
  loraA,
  loraB,
  loraScale,
  type LoraConfig,
  type LoraSpec,
} from './lora.js';
import { adaptedLinears, architecture, paramSpecs } from './models.js';
import {
  isFloatDtype,
  readSafetensorsHeader,
  readTensor,
  serializeSafetensors,
  type NamedArray,
  type TensorEntry,
} from './safetensors.js';
import { writeFolderAtomic } from '../store/files.js';
import type { Tokenizer } from './tokenizer.js';

export const ADAPTER_CONFIG = 'adapter_config.json';
export const ADAPTER_WEIGHTS = 'adapter_model.safetensors';
/** What PEFT's `get_peft_model` wraps a causal LM in: every saved key starts with it. */
const KEY_PREFIX = 'base_model.model.';

/** Whether a folder holds a PEFT adapter (its `adapter_config.json`). */
export function isAdapterFolder(dir: string): boolean {
  return existsSync(join(dir, ADAPTER_CONFIG));
}

/** Where an adapter's base checkpoint is: its folder (absolute, or relative to the adapter's) and hash. */
export interface AdapterBase {
  dir: string;
  /** The base's weights hash (checkpoint.ts `checkpointWeightsHash`) when the adapter was written. */
  hash: string;
}

/** An adapter folder's `monoscope.json`: our provenance and the base it was trained on. */
export type AdapterMeta = CheckpointMeta & { base: AdapterBase };

/**
 * The `adapter_config.json` of an adapter on a model of `cfg`, with every field of PEFT's LoraConfig and
 * PeftConfig at the value PEFT saves for a plain LoRA. `fan_in_fan_out` is true for GPT-2's Conv1D, as
 * PEFT sets it there.
 */
export function adapterConfigJson(cfg: LoraConfig, baseModel: string): Record<string, unknown> {
  return {
    alpha_pattern: {},
    auto_mapping: null,
    base_model_name_or_path: baseModel,
    bias: 'none',
    exclude_modules: null,
    fan_in_fan_out: architecture(cfg).conv1d ?? false,
    inference_mode: true,
    init_lora_weights: true,
    layer_replication: null,
    layers_pattern: null,
    layers_to_transform: null,
    loftq_config: {},
    lora_alpha: cfg.lora.alpha,
    lora_dropout: cfg.lora.dropout,
    megatron_config: null,
    megatron_core: 'megatron.core',
    modules_to_save: null,
    peft_type: 'LORA',
    r: cfg.lora.r,
    rank_pattern: {},
    revision: null,
    target_modules: cfg.lora.targets,
    task_type: 'CAUSAL_LM',
    use_dora: false,
    use_rslora: cfg.lora.rslora,
  };
}

/** PEFT's saved key of one of our adapter tensor names (`{module}.lora_A.weight`). */
function peftKey(cfg: ModelConfig, name: string): string {
  return `${KEY_PREFIX}${architecture(cfg).modulePrefix ?? ''}${name}`;
}

/** The adapter's tensors (A and B of each adapted module) of `arrays`, under PEFT's keys. */
function peftTensors(cfg: LoraConfig, arrays: Map<string, NamedArray>): Map<string, NamedArray> {
  const out = new Map<string, NamedArray>();
  for (const m of adaptedLinears(cfg)) {
    for (const name of [loraA(m.module), loraB(m.module)]) {
      const a = arrays.get(name);
      if (!a) throw new Error(`cannot save the adapter: tensor '${name}' is missing`);
      out.set(peftKey(cfg, name), a);
    }
  }
  return out;
}

/**
 * Writes an adapter folder: `adapter_config.json` (base_model_name_or_path = the base's folder),
 * `adapter_model.safetensors` (the adapter's tensors of `arrays`, which may hold the base's too) and
 * `monoscope.json` with `meta` (its `base` locates the base checkpoint). Built under a temporary name and
 * renamed into place. Returns the adapter checkpoint's hash, see {@link adapterHash}.
 */
export function saveAdapter(
  dir: string,
  cfg: LoraConfig,
  arrays: Map<string, NamedArray>,
  meta: Omit<AdapterMeta, 'format' | 'formatVersion' | 'createdAt'> & { createdAt?: string },
): string {
  const weights = serializeSafetensors(peftTensors(cfg, arrays), { format: 'pt' });
  const full: AdapterMeta = {
    format: 'monoscope-checkpoint',
    formatVersion: 1,
    createdAt: new Date().toISOString(),
    ...meta,
  };
  writeFolderAtomic(dir, (tmp) => {
    writeFileSync(join(tmp, ADAPTER_CONFIG), JSON.stringify(adapterConfigJson(cfg, meta.base.dir), null, 2));
    writeFileSync(join(tmp, ADAPTER_WEIGHTS), weights);
    writeFileSync(join(tmp, 'monoscope.json'), JSON.stringify(full, null, 2));
  });
  return adapterHash(meta.base.hash, cfg.lora, createHash('sha256').update(weights).digest('hex'));
}

/**
 * The content hash of base + adapter: sha256 over the base's weights hash, the adapter's settings and the
 * sha256 of `adapter_model.safetensors`, so a changed base or adapter is a new checkpoint.
 */
export function adapterHash(baseHash: string, spec: LoraSpec, weightsSha256: string): string {
  const settings = JSON.stringify([spec.r, spec.alpha, spec.dropout, spec.rslora, spec.targets]);
  return createHash('sha256')
    .update(`monoscope-lora\n${baseHash}\n${settings}\n${weightsSha256}`)
    .digest('hex');
}

/** An adapter folder's settings: the LoraSpec and the base it names, before any weights are read. */
export interface AdapterConfig {
  /** The adapter's settings; `targets` as the file lists them (checked against a base by {@link readAdapter}). */
  spec: LoraSpec;
  /** `target_modules` as a list of names: false for PEFT's regex string or `all-linear`, or with exclusions. */
  listedTargets: boolean;
  /** `base_model_name_or_path` (a Hub id or a folder), or undefined. */
  baseModel?: string;
}

/**
 * Reads and checks an adapter folder's `adapter_config.json`. What we do not implement is refused with the
 * file and the field: a `peft_type` other than LORA, a task other than CAUSAL_LM, DoRA, per-module ranks or
 * alphas, `modules_to_save`, bias training (`bias`, `lora_bias`), `layers_to_transform`,
 * `layer_replication`, and an initialization that changed the base weights (PiSSA, OLoRA, LoftQ, ...).
 */
export function readAdapterConfig(dir: string): AdapterConfig {
  const file = join(dir, ADAPTER_CONFIG);
  if (!existsSync(file)) throw new Error(`${dir}: not a PEFT adapter folder (no ${ADAPTER_CONFIG})`);
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: invalid JSON: ${(e as Error).message}`);
  }
  const field = (name: string, why: string) => new Error(`${file}: field '${name}' ${why}`);
  const unsupported = (name: string, value: unknown) =>
    field(name, `is ${JSON.stringify(value)}: Monoscope implements plain LoRA only`);
  if (json.peft_type !== 'LORA') throw unsupported('peft_type', json.peft_type);
  if (json.task_type != null && json.task_type !== 'CAUSAL_LM')
    throw unsupported('task_type', json.task_type);
  if (json.use_dora === true) throw unsupported('use_dora', true);
  for (const name of ['rank_pattern', 'alpha_pattern'])
    if (json[name] != null && Object.keys(json[name] as object).length > 0)
      throw unsupported(name, json[name]);
  for (const name of ['modules_to_save', 'layers_to_transform', 'layer_replication'])
    if (json[name] != null && !(Array.isArray(json[name]) && json[name].length === 0))
      throw unsupported(name, json[name]);
  if (json.bias != null && json.bias !== 'none') throw unsupported('bias', json.bias);
  if (json.lora_bias === true) throw unsupported('lora_bias', true);
  // PiSSA, OLoRA, LoftQ, CorDA and EVA start from changed base weights: such an adapter needs that base.
  const init = json.init_lora_weights;
  if (init != null && typeof init !== 'boolean' && init !== 'gaussian')
    throw field(
      'init_lora_weights',
      `is ${JSON.stringify(init)}: this initialization changes the base weights, so the adapter does not apply to the original base (convert it when saving, as PEFT's path_initial_model_for_weight_conversion does)`,
    );
  const r = json.r;
  if (!Number.isInteger(r) || (r as number) <= 0) throw field('r', 'must be a positive integer');
  const alpha = json.lora_alpha ?? 8;
  if (typeof alpha !== 'number' || !Number.isFinite(alpha)) throw field('lora_alpha', 'must be a number');
  const dropout = json.lora_dropout ?? 0;
  if (typeof dropout !== 'number' || !(dropout >= 0 && dropout < 1))
    throw field('lora_dropout', 'must be a number in [0, 1)');
  const rslora = json.use_rslora ?? false;
  if (typeof rslora !== 'boolean') throw field('use_rslora', 'must be true or false');
  const t = json.target_modules;
  const isList = Array.isArray(t) && t.length > 0 && t.every((x) => typeof x === 'string');
  if (!isList && typeof t !== 'string')
    throw field('target_modules', 'must be a list of module names or a string');
  const excluded = json.exclude_modules != null && (json.exclude_modules as unknown[]).length !== 0;
  const base = json.base_model_name_or_path;
  return {
    spec: { r: r as number, alpha, dropout, rslora, targets: isList ? (t as string[]) : [] },
    listedTargets: isList && !excluded,
    baseModel: typeof base === 'string' && base !== '' ? base : undefined,
  };
}

/** An adapter read against its base: the config (base + `lora`) and the adapter's tensors by our names. */
export interface LoadedAdapter {
  config: LoraConfig;
  arrays: Map<string, NamedArray>;
  /** `base_model_name_or_path`, see {@link AdapterConfig}. */
  baseModel?: string;
}

/**
 * Reads an adapter folder against the config of its base. Every tensor must be the lora_A [r, in] or
 * lora_B [out, r] of a linear layer of the base's blocks, stored as floating point (widened to float32),
 * and the layers with tensors must be exactly those `target_modules` selects (for PEFT's regex or
 * `all-linear` forms, or with `exclude_modules`, the targets are the layers the file holds). Errors name the
 * file and the key.
 */
export function readAdapter(dir: string, base: ModelConfig): LoadedAdapter {
  const { spec, listedTargets, baseModel } = readAdapterConfig(dir);
  const file = join(dir, ADAPTER_WEIGHTS);
  if (!existsSync(file)) throw new Error(`${dir}: ${ADAPTER_WEIGHTS} is missing`);
  const plain = baseConfig(base);
  const arch = architecture(plain);
  const linears = new Map(linearModules(paramSpecs(plain), arch.conv1d ?? false).map((m) => [m.module, m]));
  const prefix = `${KEY_PREFIX}${arch.modulePrefix ?? ''}`;
  const entries = new Map<string, TensorEntry>();
  for (const entry of readSafetensorsHeader(file).entries) {
    const m = /^(.*)\.lora_[AB]\.weight$/.exec(entry.name);
    const module = m && entry.name.startsWith(prefix) ? m[1].slice(prefix.length) : undefined;
    if (!module || !linears.has(module))
      throw new Error(
        `${file}: tensor '${entry.name}' is not the lora_A or lora_B weight of a linear layer of this ${plain.arch} model (keys are ${prefix}{layer}.lora_A.weight)`,
      );
    if (!isFloatDtype(entry.dtype))
      throw new Error(`${file}: tensor '${entry.name}' is ${entry.dtype}, not floating point`);
    entries.set(entry.name.slice(prefix.length), entry);
  }
  const held = [...linears.keys()].filter((m) => entries.has(loraA(m)) || entries.has(loraB(m)));
  const targets = listedTargets ? spec.targets : held;
  const config = { ...plain, lora: { ...spec, targets } };
  let adapted;
  try {
    adapted = adaptedLinears(config);
  } catch (e) {
    throw new Error(`${join(dir, ADAPTER_CONFIG)}: field 'target_modules': ${(e as Error).message}`);
  }
  const arrays = new Map<string, NamedArray>();
  for (const m of adapted) {
    for (const [name, shape] of [
      [loraA(m.module), [spec.r, m.in]],
      [loraB(m.module), [m.out, spec.r]],
    ] as const) {
      const entry = entries.get(name);
      if (!entry)
        throw new Error(`${file}: tensor '${prefix}${name}' is missing (target_modules selects it)`);
      if (entry.shape.join(',') !== shape.join(','))
        throw new Error(
          `${file}: tensor '${prefix}${name}' has shape [${entry.shape}] but r = ${spec.r} and the base imply [${shape}]`,
        );
      arrays.set(name, readTensor(file, entry));
      entries.delete(name);
    }
  }
  const [extra] = entries.keys();
  if (extra !== undefined)
    throw new Error(`${file}: tensor '${prefix}${extra}' is of a layer target_modules does not select`);
  return { config, arrays, baseModel };
}

/**
 * The base weights with the adapter merged in, as PEFT's `merge_and_unload`: W + s B A for each adapted
 * nn.Linear [out, in], W + s (B A)^T for GPT-2's Conv1D [in, out]; s = {@link loraScale}. The other
 * parameters are the base's arrays themselves.
 */
export function mergeAdapter(cfg: LoraConfig, arrays: Map<string, NamedArray>): Map<string, NamedArray> {
  const out = new Map<string, NamedArray>();
  for (const { name } of paramSpecs(cfg)) out.set(name, arrays.get(name)!);
  const conv1d = architecture(cfg).conv1d ?? false;
  const s = loraScale(cfg.lora);
  const r = cfg.lora.r;
  for (const m of adaptedLinears(cfg)) {
    const a = arrays.get(loraA(m.module))!.data;
    const b = arrays.get(loraB(m.module))!.data;
    const w = arrays.get(`${m.module}.weight`)!;
    const merged = Float32Array.from(w.data);
    for (let o = 0; o < m.out; o++) {
      for (let i = 0; i < m.in; i++) {
        let d = 0;
        for (let k = 0; k < r; k++) d += b[o * r + k] * a[k * m.in + i];
        merged[conv1d ? i * m.out + o : o * m.in + i] += s * d;
      }
    }
    out.set(`${m.module}.weight`, { shape: w.shape, data: merged });
  }
  return out;
}

/**
 * Writes the merged model ({@link mergeAdapter}) as a Hugging Face checkpoint folder of the base's
 * architecture (checkpoint.ts `saveCheckpoint`); returns its weights hash.
 */
export function saveMergedCheckpoint(
  dir: string,
  cfg: LoraConfig,
  arrays: Map<string, NamedArray>,
  tokenizer: Tokenizer,
  meta: Parameters<typeof saveCheckpoint>[4],
): string {
  return saveCheckpoint(dir, baseConfig(cfg), mergeAdapter(cfg, arrays), tokenizer, meta);
}
