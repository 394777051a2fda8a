/**
 * Qwen2 and Qwen2.5 (`model_type` qwen2; Yang et al. 2024): the Llama-style decoder of llama.ts with a bias
 * on the q, k and v projections (none on o or the MLP). A sliding window applies only with
 * `use_sliding_window`, on the layers `layer_types` marks "sliding_attention", or when the config lists none
 * (as older transformers write it) on layers i >= `max_window_layers`, as `Qwen2Config` decides. The
 * released models have it off, rope_theta 1e6 and, at the small sizes, a head tied to the embedding.
 */
import { configReader } from '../config.js';
import { llamaStyle, llamaStyleJson, readLlamaStyle, type LlamaDefaults } from './llama.js';

/** Qwen2Config's defaults. */
const QWEN2_DEFAULTS: LlamaDefaults = {
  vocabSize: 151936,
  hiddenSize: 4096,
  intermediateSize: 22016,
  nLayer: 32,
  nHead: 32,
  nKvHead: 32,
  nCtx: 32768,
  rmsNormEps: 1e-6,
};

const LAYER_TYPES = ['full_attention', 'sliding_attention'];

export const qwen2 = llamaStyle(
  ['qwen2'],
  (json, file) => {
    const c = configReader(json, file);
    const cfg = readLlamaStyle(c, file, QWEN2_DEFAULTS);
    const window =
      c.bool('use_sliding_window', false) && c.raw('sliding_window') !== null
        ? c.int('sliding_window', 4096)
        : null;
    const firstSliding = c.int('max_window_layers', 28, 0);
    const listed = c.raw('layer_types');
    if (
      listed !== undefined &&
      listed !== null &&
      !(
        Array.isArray(listed) &&
        listed.length === cfg.nLayer &&
        listed.every((t) => LAYER_TYPES.includes(t as string))
      )
    )
      c.fail('layer_types', `must list ${LAYER_TYPES.join(' or ')} for each of the ${cfg.nLayer} layers`);
    const sliding = (i: number): boolean =>
      Array.isArray(listed) ? listed[i] === 'sliding_attention' : i >= firstSliding;
    return {
      ...cfg,
      arch: 'qwen2',
      qkvBias: true,
      oBias: false,
      mlpBias: false,
      windows: Array.from({ length: cfg.nLayer }, (_, i) => (sliding(i) ? window : null)),
    };
  },
  (cfg) => {
    const first = cfg.windows.findIndex((w) => w !== null);
    return {
      ...llamaStyleJson(cfg, 'Qwen2ForCausalLM'),
      use_sliding_window: first >= 0,
      sliding_window: first >= 0 ? cfg.windows[first] : null,
      max_window_layers: first >= 0 ? first : cfg.nLayer,
      layer_types: cfg.windows.map((w) => (w === null ? 'full_attention' : 'sliding_attention')),
    };
  },
);
