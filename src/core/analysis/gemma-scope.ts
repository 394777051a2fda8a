/**
 * Gemma Scope's SAEs (google/gemma-scope, Lieberum et al. 2024, arXiv 2408.05147): one `params.npz` per SAE
 * (`layer_L/width_W/average_l0_A/params.npz`) with W_enc [d_model, d_sae], W_dec [d_sae, d_model],
 * b_enc [d_sae], b_dec [d_model] and threshold [d_sae], float32. Encoding is JumpReLU on the raw
 * activations, b_dec not subtracted: pre = x W_enc + b_enc, f = ReLU(pre) · [pre > threshold]; decoding
 * f W_dec + b_dec (the tutorial's JumpReLUSAE; SAELens's gemma_2 loader, with `apply_b_dec_to_input` false).
 * Older files name the weights `w_enc` / `w_dec`; both spellings are read.
 */
import { readNpz } from './npz.js';
import { tensorGetter } from './sae.js';
import type { ImportedSae } from './saelens.js';

/** Reads a Gemma Scope `params.npz` as a JumpReLU SAE; d_in and d_sae come from W_enc's shape. */
export function readGemmaScope(file: string): ImportedSae {
  const arrays = readNpz(file);
  for (const name of ['W_enc', 'W_dec'])
    if (!arrays.has(name) && arrays.has(`w${name.slice(1)}`))
      arrays.set(name, arrays.get(`w${name.slice(1)}`)!);
  const wEnc = arrays.get('W_enc');
  if (!wEnc) throw new Error(`${file}: array 'W_enc' is missing`);
  if (wEnc.shape.length !== 2)
    throw new Error(
      `${file}: array 'W_enc' has shape ${JSON.stringify(wEnc.shape)}, expected [d_model, d_sae]`,
    );
  const [dIn, dSae] = wEnc.shape;
  const get = tensorGetter(file, arrays, `W_enc's shape [d_model ${dIn}, d_sae ${dSae}]`);
  return {
    sae: {
      config: { kind: 'jumprelu', dIn, dSae, applyBDecToInput: false },
      inputScale: 1,
      wEnc: get('W_enc', [dIn, dSae]),
      bEnc: get('b_enc', [dSae]),
      wDec: get('W_dec', [dSae, dIn]),
      bDec: get('b_dec', [dIn]),
      threshold: get('threshold', [dSae]),
    },
    format: 'gemma-scope',
    architecture: 'jumprelu',
    files: [file],
    dInFrom: `${file} array 'W_enc' (shape [d_model, d_sae])`,
  };
}
