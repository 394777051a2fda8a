"""Float64 reference for Gemma and Gemma 2, written from Hugging Face's published definitions (transformers:
models/gemma/modeling_gemma.py, models/gemma2/modeling_gemma2.py and their configuration_*.py), on the
building blocks of arch_llama.py.

Gemma is Llama with: RMSNorm scaled by (1 + w); embeddings multiplied by sqrt(hidden_size); GeGLU with
`hidden_activation` (tanh GELU when unset); a `head_dim` of its own; a tied head.
Gemma 2 adds: post_attention_layernorm on the attention output and pre/post_feedforward_layernorm around the
MLP (so h += post_attn_norm(attn(input_norm(h))); h += post_ff_norm(mlp(pre_ff_norm(h)))); attention scores
scaled by query_pre_attn_scalar^-0.5 and soft-capped to cap * tanh(s / cap) before the mask; final logits
soft-capped the same way; a sliding window on the even layers (0, 2, ...), full attention on the odd ones
(or as `layer_types` lists them).
"""

import math

import numpy as np

from arch_llama import attention, gated_mlp, layer_windows, projection_weights, rms_norm, rope_frequencies
from layers import activation, normal, softcap

MODEL_TYPES = ["gemma", "gemma2"]


def tiny_config(model_type, **overrides):
    """A small config.json with the fields a Hub config of that family has, head_dim 16 != hidden / heads 12.
    Gemma: multi-query attention (one key/value head, as gemma-2b). Gemma 2: grouped-query attention,
    query_pre_attn_scalar 24 != head_dim, soft caps small enough to bend the scores and logits, and a sliding
    window of 4."""
    common = {
        "attention_bias": False,
        "attention_dropout": 0.0,
        "bos_token_id": 2,
        "eos_token_id": 1,
        "head_dim": 16,
        "hidden_act": "gelu_pytorch_tanh",
        "hidden_activation": "gelu_pytorch_tanh",
        "hidden_size": 48,
        "initializer_range": 0.02,
        "intermediate_size": 96,
        "max_position_embeddings": 512,
        "model_type": model_type,
        "num_attention_heads": 4,
        "num_hidden_layers": 3,
        "pad_token_id": 0,
        "rms_norm_eps": 1e-6,
        "rope_theta": 10000.0,
        "tie_word_embeddings": True,
        "use_cache": True,
        "vocab_size": 512,
    }
    if model_type == "gemma":
        config = {**common, "architectures": ["GemmaForCausalLM"], "num_key_value_heads": 1, "rope_scaling": None}
    elif model_type == "gemma2":
        config = {
            **common,
            "architectures": ["Gemma2ForCausalLM"],
            "attn_logit_softcapping": 3.0,
            "cache_implementation": "hybrid",
            "final_logit_softcapping": 5.0,
            "num_key_value_heads": 2,
            "query_pre_attn_scalar": 24,
            "sliding_window": 4,
        }
    else:
        raise ValueError(f"arch_gemma does not handle model_type {model_type!r}")
    return {**config, **overrides}


def random_weights(config, seed):
    """Random float32 parameters named and shaped as save_pretrained writes Gemma(2)ForCausalLM (lm_head.weight
    omitted when tied); everything N(0, 0.2^2), norm weights included (Gemma scales by 1 + w)."""
    rng = np.random.default_rng(seed)
    hidden, vocab = config["hidden_size"], config["vocab_size"]
    bias = config.get("attention_bias", False)
    norms = ["input_layernorm", "post_attention_layernorm"]
    if config["model_type"] == "gemma2":
        norms += ["pre_feedforward_layernorm", "post_feedforward_layernorm"]
    weights = {"model.embed_tokens.weight": normal(rng, vocab, hidden)}
    for i in range(config["num_hidden_layers"]):
        p = f"model.layers.{i}."
        weights.update({p + name + ".weight": normal(rng, hidden) for name in norms})
        weights.update(projection_weights(rng, config, p, bias, bias, False))
    weights["model.norm.weight"] = normal(rng, hidden)
    if not config.get("tie_word_embeddings", True):
        weights["lm_head.weight"] = normal(rng, vocab, hidden)
    return weights


def forward(config, weights, ids):
    """Logits [B, T, V] and the taps of every block, in float64 (tie_word_embeddings defaults to true, as in
    GemmaConfig and Gemma2Config)."""
    gemma2 = config["model_type"] == "gemma2"
    hd, eps = config["head_dim"], config["rms_norm_eps"]
    act = activation(config.get("hidden_activation") or "gelu_pytorch_tanh")
    inv_freq = rope_frequencies(config, hd)
    scale = config["query_pre_attn_scalar"] ** -0.5 if gemma2 else hd**-0.5

    def norm(h, name):
        return rms_norm(h, weights[name + ".weight"], eps, offset=1.0)

    embed = weights["model.embed_tokens.weight"]
    h = embed[ids] * math.sqrt(config["hidden_size"])
    taps = {}
    windows = layer_windows(config, config.get("sliding_window"), lambda i: gemma2 and i % 2 == 0)
    for i, window in enumerate(windows):
        p = f"model.layers.{i}."
        taps[f"blocks.{i}.resid_pre"] = h
        attn_out = attention(
            norm(h, p + "input_layernorm"),
            weights,
            p + "self_attn.",
            heads=config["num_attention_heads"],
            kv_heads=config["num_key_value_heads"],
            head_dim=hd,
            inv_freq=inv_freq,
            scale=scale,
            qkv_bias=config.get("attention_bias", False),
            o_bias=config.get("attention_bias", False),
            window=window,
            cap=config.get("attn_logit_softcapping") if gemma2 else None,
        )
        if gemma2:
            attn_out = norm(attn_out, p + "post_attention_layernorm")
        h = h + attn_out
        mlp_in = norm(h, p + ("pre_feedforward_layernorm" if gemma2 else "post_attention_layernorm"))
        mlp_out, neurons = gated_mlp(mlp_in, weights, p + "mlp.", act)
        if gemma2:
            mlp_out = norm(mlp_out, p + "post_feedforward_layernorm")
        taps[f"blocks.{i}.attn_out"] = attn_out
        taps[f"blocks.{i}.resid_mid"] = h
        taps[f"blocks.{i}.mlp_out"] = mlp_out
        taps.update({f"blocks.{i}.mlp.{name}": value for name, value in neurons.items()})
        h = h + mlp_out
        taps[f"blocks.{i}.resid_post"] = h
    head = embed if config.get("tie_word_embeddings", True) else weights["lm_head.weight"]
    logits = norm(h, "model.norm") @ head.T
    return softcap(logits, config.get("final_logit_softcapping") if gemma2 else None), taps
