/**
 * What every model architecture provides, so that recording, evaluation, generation and training run any
 * of them the same way. Each architecture is one file in `model/arch/` (registered in `model/models.ts`),
 * built from the shared layers in `model/layers/`. Parameters are kept under their Hugging Face names, so
 * a folder saved by `save_pretrained` loads unchanged and a folder we write loads in `from_pretrained`.
 *
 * Taps use TransformerLens's names (canonical spelling without `hook_`), for every block i:
 *   blocks.{i}.resid_pre       the residual stream entering block i
 *   blocks.{i}.attn_out        what the attention sublayer adds to the residual
 *   blocks.{i}.resid_mid       resid_pre + attn_out (sequential-residual blocks only)
 *   blocks.{i}.mlp_out         what the MLP sublayer adds to the residual
 *   blocks.{i}.resid_post      the residual stream after block i
 *   blocks.{i}.mlp.pre         the MLP pre-activation (for gated MLPs the gate projection)
 *   blocks.{i}.mlp.pre_linear  gated MLPs only: the up projection (the z of Yan et al. for Llama)
 *   blocks.{i}.mlp.post        the neurons: the input of the MLP's output projection
 */
import type { TapKind } from '../names.js';
import * as tf from '@tensorflow/tfjs-core';
import type { LoraSpec } from './lora.js';

/** The fields every architecture's config has, in GPT-2's names; each architecture adds its own. */
export interface ModelConfig {
  /** Hugging Face `model_type`: gpt2, gpt_neox, llama, mistral, qwen2, gemma, gemma2, gpt_neo. */
  arch: string;
  vocabSize: number;
  /** The longest sequence the model takes (max_position_embeddings / n_positions). */
  nCtx: number;
  nLayer: number;
  nHead: number;
  /** d_model (hidden_size). */
  nEmbd: number;
  /** d_mlp, the number of MLP neurons per block (intermediate_size). */
  nInner: number;
  bosTokenId: number;
  eosTokenId: number;
  /** A LoRA adapter on top of the base (lora.ts): the params then hold its A and B tensors too. */
  lora?: LoraSpec;
}

/** A parameter as the checkpoint stores it: its Hugging Face name and shape. */
export interface ParamSpec {
  name: string;
  shape: number[];
}

/** A model's parameters by Hugging Face name, in the architecture's canonical order. */
export type Params = Map<string, tf.Variable>;

/** Reads one parameter by its Hugging Face name. */
export type ParamGetter = (name: string) => tf.Tensor;

// The kinds of tap a block can have (see the module comment); in names.ts so the contract can list them.
export { TAP_KINDS, type TapKind } from '../names.js';

export interface ForwardOptions {
  /** Taps to return (canonical names, see `canonicalTap` in models.ts). */
  taps?: readonly string[];
  /** Skip the LM head and return only the final hidden state (after the final norm). */
  hiddenOnly?: boolean;
  /** Training: LoRA dropout is drawn from this seed (one per step); without it there is no dropout. */
  dropoutSeed?: number;
}

export interface ForwardResult {
  /** [B, T, V] logits, unless `hiddenOnly`. */
  logits?: tf.Tensor3D;
  /** [B, T, D] final hidden state (after the final norm). */
  hidden: tf.Tensor3D;
  taps: Map<string, tf.Tensor3D>;
}

/**
 * The unembedding: logits = cap tanh(h W^T / cap) when `softcap` is set (Gemma-2's final logit
 * soft-capping), else h W^T. `weight` is [V, D] (the tied embedding or the separate head).
 */
export interface Head {
  weight: tf.Tensor2D;
  softcap?: number;
}

/** Logits [N, V] of final hidden states [N, D] through the head (soft-capped where the model caps). */
export function headLogits(head: Head, hidden: tf.Tensor2D): tf.Tensor2D {
  const logits = tf.matMul(hidden, head.weight, false, true) as tf.Tensor2D;
  return head.softcap === undefined ? logits : tf.mul(tf.tanh(tf.div(logits, head.softcap)), head.softcap);
}

/** One architecture: its config, its parameters by name, and its forward pass. */
export interface Architecture<C extends ModelConfig = ModelConfig> {
  /** The `model_type` values this architecture reads. */
  readonly modelTypes: readonly string[];
  /** Reads a Hugging Face `config.json`; errors name `file` and the field. */
  parseConfig(json: Record<string, unknown>, file: string): C;
  /** The `config.json` of a config (what `save_pretrained` would write for it). */
  configJson(cfg: C): Record<string, unknown>;
  /** Every parameter, in canonical order, as the checkpoint names and shapes it. */
  params(cfg: C): ParamSpec[];
  /** Tensors a Hub checkpoint may hold that are buffers, not parameters (skipped on load). */
  readonly buffers?: RegExp;
  /** Other names a parameter may be stored under (e.g. GPT-2's `transformer.` prefix). */
  storedNames?(name: string): string[];
  /**
   * What transformers' `*ForCausalLM` puts before these parameter names (GPT-2's `transformer.`; the
   * others' names are already the full ones): PEFT's adapter keys use the full module path.
   */
  readonly modulePrefix?: string;
  /** Block linear weights stored [in, out] (GPT-2's Conv1D) rather than nn.Linear's [out, in]. */
  readonly conv1d?: boolean;
  /** The tap kinds each block of this config has, in the order pickers list them. */
  tapKinds(cfg: C): readonly TapKind[];
  /** The forward pass on token ids [B, T] (right padding needs no mask: attention is causal). */
  forward(cfg: C, params: Params, ids: tf.Tensor2D, opts: ForwardOptions): ForwardResult;
  /**
   * The final norm of residual-stream states x [N, D] (what the head reads); `p` gives a parameter by
   * name. The forward pass applies it after the last block; the logit lens (models.ts) applies it alone.
   */
  finalNorm(cfg: C, p: ParamGetter, x: tf.Tensor2D): tf.Tensor2D;
  /** The unembedding. */
  head(cfg: C, params: Params): Head;
  /** The name of the unembedding matrix [V, D] (the tied embedding or the separate head). */
  headName(cfg: C): string;
  /**
   * Where block `i`'s MLP writes neuron j into the residual stream: the output projection's parameter,
   * whose row j (`rows`, GPT-2's Conv1D [d_mlp, d_model]) or column j (`columns`, nn.Linear
   * [d_model, d_mlp]) is the neuron's output direction.
   */
  mlpOut(cfg: C, i: number): { name: string; layout: 'rows' | 'columns' };
}

/**
 * Collects the taps a forward pass was asked for: `put` keeps a [B*T, W] activation as [B, T, W] when its
 * name was requested, and drops it otherwise.
 */
export class TapRecorder {
  readonly taps = new Map<string, tf.Tensor3D>();
  private readonly want: ReadonlySet<string>;

  constructor(
    private readonly B: number,
    private readonly T: number,
    names: readonly string[] = [],
  ) {
    this.want = new Set(names);
  }

  put(block: number, kind: TapKind, x: tf.Tensor): void {
    const name = `blocks.${block}.${kind}`;
    if (this.want.has(name)) {
      this.taps.set(name, tf.reshape(x, [this.B, this.T, x.shape[x.shape.length - 1]]) as tf.Tensor3D);
    }
  }
}
