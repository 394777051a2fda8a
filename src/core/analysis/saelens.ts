/**
 * SAELens's SAE format (decoderesearch/SAELens v6, `SAE.save_model` / `SAE.load_from_disk`): a folder with
 * `cfg.json` and `sae_weights.safetensors` holding W_enc [d_in, d_sae], b_enc [d_sae], W_dec [d_sae, d_in],
 * b_dec [d_in], and `threshold` [d_sae] for JumpReLU. Every architecture encodes
 * pre = (x − b_dec · apply_b_dec_to_input) W_enc + b_enc and decodes f W_dec + b_dec, with
 *   standard:  f = ReLU(pre)                                  (our `relu-l1`)
 *   topk:      f = ReLU(TopK_k(pre))                          (our `topk`)
 *   jumprelu:  f = ReLU(pre) · [pre > ReLU(threshold)]        (our `jumprelu`)
 *   batchtopk: a training checkpoint; SAELens saves it for inference as jumprelu with every latent's
 *              threshold set to the running `topk_threshold` (BatchTopKTrainingSAE), and so it is read here.
 * TopK and BatchTopK configs with `rescale_acts_by_decoder_norm` multiply pre by ‖W_dec,i‖ and divide f by it
 * before decoding; reading folds that into the weights (W_enc[:, i] and b_enc[i] times ‖W_dec,i‖, W_dec[i]
 * divided by it), which gives the same latents and reconstruction.
 *
 * Writing folds our input scale s (inputs are multiplied by s, outputs divided) into the weights as
 * SAELens's `fold_activation_norm_scaling_factor` does (W_enc·s, W_dec/s, b_dec/s; b_enc and the threshold
 * see the same pre-activations), so an exported SAE encodes raw activations with `normalize_activations`
 * `none`. A crosscoder is written in dictionary_learning's layout (there is no SAELens crosscoder yet):
 * W_enc [n_models, d_in, d_sae], W_dec [d_sae, n_models, d_in], b_dec [n_models, d_in].
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readSafetensors, type NamedArray } from '../model/safetensors.js';
import { transformerLensHook } from '../model/models.js';
import { tensorGetter, type Sae, type SaeKind } from './sae.js';

/**
 * The cfg.json layout version written: SAELens reads a cfg.json without `sae_lens_version` ≥ 6 in its
 * metadata as the pre-6 layout (`handle_config_defaulting`), which looks for the hook at the top level.
 */
const SAELENS_LAYOUT_VERSION = '6.0.0';

/** The SAELens architecture name of each of our encodings. */
const ARCHITECTURE: Record<SaeKind, string> = { 'relu-l1': 'standard', topk: 'topk', jumprelu: 'jumprelu' };

/** An SAE read from another tool's files, with what the files say about where it reads. */
export interface ImportedSae {
  sae: Sae;
  format: 'saelens' | 'gemma-scope';
  /** The architecture as the files name it (`jumprelu` for Gemma Scope). */
  architecture: string;
  /** The files read. */
  files: string[];
  /** Where d_in is stated, for errors: a file and its field or tensor. */
  dInFrom: string;
  /** The hook the files name (TransformerLens spelling), with the file and field naming it. */
  hook?: { name: string; from: string };
  modelName?: string;
}

/** What the exported cfg.json's `metadata` says about the SAE's source. */
export interface SaeLensSource {
  /** The model (our checkpoint name). */
  modelName: string;
  /** Our tap name, written as a TransformerLens hook name. */
  tap: string;
  /** Tokens per probe sequence (BOS included). */
  contextSize: number;
  /** Further metadata fields (ours, under their own names). */
  extra: Record<string, unknown>;
}

/** cfg.json and the tensors of a SAELens folder. */
export interface SaeLensFiles {
  cfg: Record<string, unknown>;
  tensors: Map<string, NamedArray>;
}

/** The `metadata` object of an exported cfg.json. */
function metadata(source: SaeLensSource): Record<string, unknown> {
  return {
    sae_lens_version: SAELENS_LAYOUT_VERSION,
    model_name: source.modelName,
    hook_name: transformerLensHook(source.tap),
    hook_head_index: null,
    context_size: source.contextSize,
    prepend_bos: true,
    ...source.extra,
  };
}

/** `a` times `f[col]` in every row of a row-major [rows, cols] array. */
function scaleColumns(a: Float32Array, cols: number, f: ArrayLike<number>): Float32Array {
  return a.map((v, i) => v * f[i % cols]);
}

/** Each element of `a` times `s`. */
const times = (a: Float32Array, s: number) => a.map((v) => v * s);

/** An SAE of ours in SAELens's format, its input scale folded into the weights. */
export function saeLensFiles(sae: Sae, source: SaeLensSource): SaeLensFiles {
  const { kind, dIn, dSae } = sae.config;
  const s = sae.inputScale;
  const tensors = new Map<string, NamedArray>([
    ['W_enc', { shape: [dIn, dSae], data: times(sae.wEnc, s) }],
    ['b_enc', { shape: [dSae], data: sae.bEnc }],
    ['W_dec', { shape: [dSae, dIn], data: times(sae.wDec, 1 / s) }],
    ['b_dec', { shape: [dIn], data: times(sae.bDec, 1 / s) }],
  ]);
  if (kind === 'jumprelu') tensors.set('threshold', { shape: [dSae], data: sae.threshold! });
  const cfg = {
    architecture: ARCHITECTURE[kind],
    d_in: dIn,
    d_sae: dSae,
    dtype: 'float32',
    device: 'cpu',
    apply_b_dec_to_input: sae.config.applyBDecToInput ?? true,
    normalize_activations: 'none',
    reshape_activations: 'none',
    ...(kind === 'topk' && { k: sae.config.k, rescale_acts_by_decoder_norm: false }),
    metadata: metadata(source),
  };
  return { cfg, tensors };
}

/**
 * A crosscoder's files (`DIR/crosscoders/NAME/`: cfg.json with `kind`, `dIn`, `dSae`, `nModels`,
 * `inputScales`, `checkpoints`; sae_weights.safetensors with W_enc [n_models, d_in, d_sae], b_enc [d_sae],
 * W_dec [d_sae, n_models, d_in], b_dec [n_models, d_in], `threshold` [d_sae] for BatchTopK) in SAELens's
 * cfg.json conventions with dictionary_learning's tensor layout, each model's input scale folded into its
 * encoder and decoder. Its latents are f = act(Σ_m x^m W_enc^m + b_enc): no b_dec is subtracted.
 */
export function crosscoderSaeLensFiles(dir: string, source: Omit<SaeLensSource, 'modelName'>): SaeLensFiles {
  const cfgFile = join(dir, 'cfg.json');
  const c = readJson(cfgFile);
  const dIn = positiveInt(c, 'dIn', cfgFile);
  const dSae = positiveInt(c, 'dSae', cfgFile);
  const nModels = positiveInt(c, 'nModels', cfgFile);
  const scales = c.inputScales as number[];
  const checkpoints = c.checkpoints as string[];
  if (!Array.isArray(scales) || scales.length !== nModels)
    throw new Error(`${cfgFile}: field 'inputScales' must hold ${nModels} numbers`);
  if (!Array.isArray(checkpoints) || checkpoints.length !== nModels)
    throw new Error(`${cfgFile}: field 'checkpoints' must hold ${nModels} names`);
  const kind = c.kind === 'batchtopk' ? 'jumprelu' : c.kind === 'l1' ? 'standard' : undefined;
  if (!kind)
    throw new Error(`${cfgFile}: field 'kind' is ${JSON.stringify(c.kind)}, expected batchtopk or l1`);
  const weights = weightsOf(dir);
  const get = tensorGetter(weights.file, weights.tensors, 'cfg.json');
  // Model m's encoder W_enc[m] times s_m; its decoder rows W_dec[:, m] and b_dec[m] over s_m.
  const wEnc = get('W_enc', [nModels, dIn, dSae]).map((v, i) => v * scales[Math.floor(i / (dIn * dSae))]);
  const wDec = get('W_dec', [dSae, nModels, dIn]).map((v, i) => v / scales[Math.floor(i / dIn) % nModels]);
  const bDec = get('b_dec', [nModels, dIn]).map((v, i) => v / scales[Math.floor(i / dIn)]);
  const tensors = new Map<string, NamedArray>([
    ['W_enc', { shape: [nModels, dIn, dSae], data: wEnc }],
    ['b_enc', { shape: [dSae], data: get('b_enc', [dSae]) }],
    ['W_dec', { shape: [dSae, nModels, dIn], data: wDec }],
    ['b_dec', { shape: [nModels, dIn], data: bDec }],
  ]);
  if (kind === 'jumprelu') tensors.set('threshold', { shape: [dSae], data: get('threshold', [dSae]) });
  const cfg = {
    architecture: kind,
    crosscoder: true,
    n_models: nModels,
    layout: { W_enc: 'n_models d_in d_sae', W_dec: 'd_sae n_models d_in', b_dec: 'n_models d_in' },
    d_in: dIn,
    d_sae: dSae,
    dtype: 'float32',
    device: 'cpu',
    apply_b_dec_to_input: false,
    normalize_activations: 'none',
    reshape_activations: 'none',
    ...(typeof c.k === 'number' && { k: c.k }),
    metadata: { ...metadata({ ...source, modelName: checkpoints.join(',') }), model_names: checkpoints },
  };
  return { cfg, tensors };
}

/** Reads a JSON object, naming the file in errors. */
export function readJson(file: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`);
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error(`${file}: not a JSON object`);
  return v as Record<string, unknown>;
}

function positiveInt(c: Record<string, unknown>, field: string, file: string): number {
  const v = c[field];
  if (!Number.isInteger(v) || (v as number) <= 0)
    throw new Error(`${file}: field '${field}' must be a positive integer, got ${JSON.stringify(v)}`);
  return v as number;
}

/** The tensors of `dir/sae_weights.safetensors`, naming the file in errors. */
function weightsOf(dir: string): { file: string; tensors: Map<string, NamedArray> } {
  const file = join(dir, 'sae_weights.safetensors');
  try {
    return { file, tensors: readSafetensors(file).tensors };
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`);
  }
}

/**
 * Folds `rescale_acts_by_decoder_norm` into the weights (see the file comment): W_enc[:, i] and b_enc[i]
 * times n_i = ‖W_dec,i‖, W_dec[i] over n_i.
 */
function foldDecoderNorms(sae: Sae): Sae {
  const { dIn, dSae } = sae.config;
  const norms = new Float64Array(dSae);
  for (let i = 0; i < dSae; i++) {
    let n2 = 0;
    for (let j = 0; j < dIn; j++) n2 += sae.wDec[i * dIn + j] ** 2;
    norms[i] = Math.max(Math.sqrt(n2), 1e-8); // SAELens's clamp
  }
  return {
    ...sae,
    wEnc: scaleColumns(sae.wEnc, dSae, norms),
    bEnc: scaleColumns(sae.bEnc, dSae, norms),
    wDec: sae.wDec.map((v, i) => v / norms[Math.floor(i / dIn)]),
  };
}

/** Architectures read, and our encoding of each. */
const IMPORTED: Record<string, SaeKind> = {
  standard: 'relu-l1',
  topk: 'topk',
  jumprelu: 'jumprelu',
  batchtopk: 'jumprelu',
};

/**
 * Reads a SAELens SAE folder (v6 layout, and the pre-6 one with `hook_point` / `hook_name` at the top
 * level). Inputs are taken raw (input scale 1): `normalize_activations` must be `none` (a dataset-wide or
 * per-token normalisation is not in the folder), the other fields as the file comment says.
 */
export function readSaeLens(dir: string): ImportedSae {
  const cfgFile = join(dir, 'cfg.json');
  const c = readJson(cfgFile);
  const meta = (c.metadata && typeof c.metadata === 'object' ? c.metadata : {}) as Record<string, unknown>;
  const architecture = (c.architecture as string | undefined) ?? 'standard';
  const kind = IMPORTED[architecture];
  if (!kind)
    throw new Error(
      `${cfgFile}: field 'architecture' is ${JSON.stringify(architecture)}; importable are ${Object.keys(IMPORTED).join(', ')}`,
    );
  const dIn = positiveInt(c, 'd_in', cfgFile);
  const dSae = positiveInt(c, 'd_sae', cfgFile);
  const norm = c.normalize_activations ?? 'none';
  if (norm !== 'none' && norm !== false)
    throw new Error(
      `${cfgFile}: field 'normalize_activations' is ${JSON.stringify(norm)}; only 'none' is imported (fold a dataset scaling factor into the weights first, e.g. SAELens's fold_activation_norm_scaling_factor)`,
    );
  const applyBDecToInput = (c.apply_b_dec_to_input ?? true) !== false;
  let k: number | undefined;
  if (kind === 'topk') {
    k = (c.k ?? (c.activation_fn_kwargs as { k?: number } | undefined)?.k) as number | undefined;
    if (!Number.isInteger(k) || k! < 1 || k! > dSae)
      throw new Error(
        `${cfgFile}: field 'k' must be an integer in 1..d_sae (${dSae}), got ${JSON.stringify(k)}`,
      );
  }
  const weights = weightsOf(dir);
  const get = tensorGetter(weights.file, weights.tensors, `${cfgFile} (d_in ${dIn}, d_sae ${dSae})`);
  let sae: Sae = {
    config: { kind, dIn, dSae, ...(k !== undefined && { k }), applyBDecToInput },
    inputScale: 1,
    wEnc: get('W_enc', [dIn, dSae]),
    bEnc: get('b_enc', [dSae]),
    wDec: get('W_dec', [dSae, dIn]),
    bDec: get('b_dec', [dIn]),
  };
  if (architecture === 'jumprelu') sae.threshold = jumpReluThreshold(weights.file, weights.tensors, dSae);
  if (architecture === 'batchtopk')
    sae.threshold = weights.tensors.has('threshold')
      ? get('threshold', [dSae])
      : new Float32Array(dSae).fill(get('topk_threshold', [])[0]);
  // SAELens's default: off for inference TopK configs, on for BatchTopK training configs.
  const rescale = c.rescale_acts_by_decoder_norm ?? architecture === 'batchtopk';
  if ((architecture === 'topk' || architecture === 'batchtopk') && rescale === true)
    sae = foldDecoderNorms(sae);
  const hookField = ['hook_name', 'hook_point'].find((f) => typeof c[f] === 'string');
  const hook =
    typeof meta.hook_name === 'string'
      ? { name: meta.hook_name, from: `${cfgFile} field 'metadata.hook_name'` }
      : hookField
        ? { name: c[hookField] as string, from: `${cfgFile} field '${hookField}'` }
        : undefined;
  const modelName = (meta.model_name ?? c.model_name) as string | undefined;
  return {
    sae,
    format: 'saelens',
    architecture,
    files: [cfgFile, weights.file],
    dInFrom: `${cfgFile} field 'd_in'`,
    ...(hook && { hook }),
    ...(typeof modelName === 'string' && { modelName }),
  };
}

/** A JumpReLU threshold [d_sae]: `threshold`, or exp(`log_threshold`) of older checkpoints (as SAELens loads them). */
function jumpReluThreshold(file: string, tensors: Map<string, NamedArray>, dSae: number): Float32Array {
  const get = tensorGetter(file, tensors, `d_sae ${dSae}`);
  if (!tensors.has('threshold') && tensors.has('log_threshold'))
    return get('log_threshold', [dSae]).map(Math.exp);
  return get('threshold', [dSae]);
}
