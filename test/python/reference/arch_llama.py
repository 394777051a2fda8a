"""Float64 reference for Llama, Mistral and Qwen2 decoders, written from Hugging Face's published definitions
(transformers: models/llama/modeling_llama.py, models/mistral/modeling_mistral.py, models/qwen2/modeling_qwen2.py,
their configuration_*.py, and modeling_rope_utils.py). Also holds the building blocks (RMSNorm, rotary
embedding with rope_scaling, grouped-query attention, gated MLP) that arch_gemma.py reuses; the generic
pieces (activations, causal attention, RoPE rotation, random draws) come from layers.py.

Block: h += o_proj(attn(RMSNorm(h))); h += down(act(gate(RMSNorm(h))) * up(RMSNorm(h))); logits =
RMSNorm(h) @ head^T, with the head tied to the embedding when `tie_word_embeddings`.
"""

import math

import numpy as np
import torch

from layers import (
    activation,
    apply_rope,
    causal_attention,
    normal,
    merge_heads,
    norm_weight,
    rope_inv_freq,
    split_heads,
)

MODEL_TYPES = ["llama", "mistral", "qwen2"]

# --- building blocks (on layers.py) ------------------------------------------------------------------------


def rms_norm(x, weight, eps, offset=0.0):
    """RMSNorm: x / sqrt(mean(x^2) + eps) * (offset + w); offset is 0 for Llama and 1 for Gemma's (1 + w)."""
    return x / torch.sqrt(x.pow(2).mean(-1, keepdim=True) + eps) * (offset + weight)


def rope_frequencies(config, head_dim):
    """RoPE inverse frequencies theta^(-2i/d) (modeling_rope_utils default), rescaled by `rope_scaling`:
    `linear` divides them by factor (positions / factor); `llama3` divides the low frequencies (wavelength >
    original_max_position_embeddings / low_freq_factor) by factor, keeps the high ones (wavelength < original /
    high_freq_factor) and blends the band between with s = (original / wavelength - low_freq_factor) /
    (high_freq_factor - low_freq_factor): (1 - s) * f / factor + s * f."""
    inv_freq = rope_inv_freq(head_dim, config.get("rope_theta", 10000.0))
    scaling = config.get("rope_scaling")
    kind = None if scaling is None else scaling.get("rope_type", scaling.get("type"))
    if kind in (None, "default"):
        return inv_freq
    if kind == "linear":
        return inv_freq / scaling["factor"]
    if kind == "llama3":
        factor, original = scaling["factor"], scaling["original_max_position_embeddings"]
        low, high = scaling["low_freq_factor"], scaling["high_freq_factor"]
        wavelength = 2 * math.pi / inv_freq
        smooth = (original / wavelength - low) / (high - low)
        blended = (1 - smooth) * inv_freq / factor + smooth * inv_freq
        scaled = torch.where(wavelength > original / low, inv_freq / factor, blended)
        return torch.where(wavelength < original / high, inv_freq, scaled)
    raise ValueError(f"unsupported rope_scaling type {kind!r}")


def linear(x, weights, name, bias):
    """x @ W^T (+ b): nn.Linear with the parameter `name`.weight (and `name`.bias when `bias`)."""
    y = x @ weights[name + ".weight"].T
    return y + weights[name + ".bias"] if bias else y


def attention(x, weights, prefix, *, heads, kv_heads, head_dim, inv_freq, scale, qkv_bias, o_bias, window=None,
              cap=None):
    """Grouped-query self-attention of x [B, T, hidden] at positions 0..T-1: q and k rotated (RoPE), query head
    h reads key/value head h // (heads / kv_heads) (repeat_kv), causal (and sliding-window) softmax attention
    with scores (q . k) * scale (soft-capped when `cap` is set), then o_proj."""
    positions = torch.arange(x.shape[1])
    q = apply_rope(split_heads(linear(x, weights, prefix + "q_proj", qkv_bias), heads), positions, inv_freq)
    k = apply_rope(split_heads(linear(x, weights, prefix + "k_proj", qkv_bias), kv_heads), positions, inv_freq)
    v = split_heads(linear(x, weights, prefix + "v_proj", qkv_bias), kv_heads)
    group = heads // kv_heads
    k, v = k.repeat_interleave(group, dim=1), v.repeat_interleave(group, dim=1)
    mixed = causal_attention(q, k, v, scale, window, cap)
    return linear(merge_heads(mixed), weights, prefix + "o_proj", o_bias)


def gated_mlp(x, weights, prefix, act, bias=False):
    """Gated MLP down(act(gate(x)) * up(x)) (SwiGLU with SiLU, GeGLU with GELU); also returns the taps
    mlp.pre (gate output), mlp.pre_linear (up output) and mlp.post (the neurons, down_proj's input)."""
    pre = linear(x, weights, prefix + "gate_proj", bias)
    pre_linear = linear(x, weights, prefix + "up_proj", bias)
    post = act(pre) * pre_linear
    return linear(post, weights, prefix + "down_proj", bias), {"pre": pre, "pre_linear": pre_linear, "post": post}


def head_dim_of(config):
    """The per-head width: the config's `head_dim` when set, else hidden_size / num_attention_heads."""
    return config.get("head_dim") or config["hidden_size"] // config["num_attention_heads"]


# --- Llama, Mistral, Qwen2 ---------------------------------------------------------------------------------


def _biases(config):
    """(q/k/v bias, o_proj bias, MLP bias): Llama follows attention_bias and mlp_bias; Qwen2 always has bias
    on q/k/v only; Mistral has none."""
    kind = config["model_type"]
    if kind == "llama":
        return config.get("attention_bias", False), config.get("attention_bias", False), config.get("mlp_bias", False)
    if kind == "qwen2":
        return True, False, False
    return False, False, False


def layer_windows(config, window, sliding):
    """Each layer's sliding window (None: full causal attention): `window` on the layers that `layer_types`
    marks "sliding_attention" when the config lists them (newer transformers write the list), else on the
    layers i where sliding(i)."""
    n = config["num_hidden_layers"]
    kinds = config.get("layer_types") or ["sliding_attention" if sliding(i) else "full_attention" for i in range(n)]
    return [window if kind == "sliding_attention" else None for kind in kinds]


def _windows(config):
    """The sliding window of each layer. Mistral: `sliding_window` on every layer. Qwen2: only with
    `use_sliding_window`, on layers i >= max_window_layers. Llama: none."""
    n, window = config["num_hidden_layers"], config.get("sliding_window")
    if config["model_type"] == "mistral":
        return [window] * n
    if config["model_type"] == "qwen2":
        window = window if config.get("use_sliding_window") else None
        return layer_windows(config, window, lambda i: i >= config["max_window_layers"])
    return [None] * n


def tiny_config(model_type, **overrides):
    """A small config.json with the fields a Hub config of that family has. Llama: grouped-query attention,
    llama3 RoPE scaling whose original context (64) puts the 8 frequencies in all three bands, untied head.
    Mistral: sliding window 4 and a head_dim that differs from hidden / heads (as Mistral-Nemo). Qwen2: q/k/v
    bias, rope_theta 1e6, tied head, sliding_window 4 present but off (use_sliding_window false, as
    Qwen2.5)."""
    common = {
        "architectures": [],
        "model_type": model_type,
        "attention_dropout": 0.0,
        "bos_token_id": 1,
        "eos_token_id": 2,
        "hidden_act": "silu",
        "hidden_size": 64,
        "initializer_range": 0.02,
        "intermediate_size": 128,
        "max_position_embeddings": 512,
        "num_attention_heads": 4,
        "num_hidden_layers": 3,
        "num_key_value_heads": 2,
        "rms_norm_eps": 1e-5,
        "use_cache": True,
        "vocab_size": 512,
    }
    if model_type == "llama":
        config = {
            **common,
            "architectures": ["LlamaForCausalLM"],
            "attention_bias": False,
            "head_dim": 16,
            "mlp_bias": False,
            "pretraining_tp": 1,
            "rope_scaling": {
                "factor": 8.0,
                "high_freq_factor": 4.0,
                "low_freq_factor": 1.0,
                "original_max_position_embeddings": 64,
                "rope_type": "llama3",
            },
            "rope_theta": 500000.0,
            "tie_word_embeddings": False,
        }
    elif model_type == "mistral":
        config = {
            **common,
            "architectures": ["MistralForCausalLM"],
            "head_dim": 24,
            "rope_theta": 10000.0,
            "sliding_window": 4,
            "tie_word_embeddings": False,
        }
    elif model_type == "qwen2":
        config = {
            **common,
            "architectures": ["Qwen2ForCausalLM"],
            "max_window_layers": 1,
            "rms_norm_eps": 1e-6,
            "rope_theta": 1000000.0,
            "sliding_window": 4,
            "tie_word_embeddings": True,
            "use_mrope": False,
            "use_sliding_window": False,
        }
    else:
        raise ValueError(f"arch_llama does not handle model_type {model_type!r}")
    return {**config, **overrides}


def projection_weights(rng, config, prefix, qkv_bias, o_bias, mlp_bias):
    """One layer's projections, N(0, 0.2^2): self_attn.{q,k,v,o}_proj and mlp.{gate,up,down}_proj, weight
    [out, in] as nn.Linear stores it and bias [out] where enabled."""
    hidden, inner, hd = config["hidden_size"], config["intermediate_size"], head_dim_of(config)
    q_width, kv_width = config["num_attention_heads"] * hd, config["num_key_value_heads"] * hd
    shapes = [
        ("self_attn.q_proj", q_width, hidden, qkv_bias),
        ("self_attn.k_proj", kv_width, hidden, qkv_bias),
        ("self_attn.v_proj", kv_width, hidden, qkv_bias),
        ("self_attn.o_proj", hidden, q_width, o_bias),
        ("mlp.gate_proj", inner, hidden, mlp_bias),
        ("mlp.up_proj", inner, hidden, mlp_bias),
        ("mlp.down_proj", hidden, inner, mlp_bias),
    ]
    weights = {}
    for name, out, into, bias in shapes:
        weights[prefix + name + ".weight"] = normal(rng, out, into)
        if bias:
            weights[prefix + name + ".bias"] = normal(rng, out)
    return weights


def random_weights(config, seed):
    """Random float32 parameters named and shaped as save_pretrained writes *ForCausalLM (lm_head.weight
    omitted when tied); norm weights are 1 + N(0, 0.2^2), everything else N(0, 0.2^2)."""
    rng = np.random.default_rng(seed)
    hidden, vocab = config["hidden_size"], config["vocab_size"]
    weights = {"model.embed_tokens.weight": normal(rng, vocab, hidden)}
    for i in range(config["num_hidden_layers"]):
        p = f"model.layers.{i}."
        weights[p + "input_layernorm.weight"] = norm_weight(rng, hidden)
        weights[p + "post_attention_layernorm.weight"] = norm_weight(rng, hidden)
        weights.update(projection_weights(rng, config, p, *_biases(config)))
    weights["model.norm.weight"] = norm_weight(rng, hidden)
    if not config.get("tie_word_embeddings", False):
        weights["lm_head.weight"] = normal(rng, vocab, hidden)
    return weights


def forward(config, weights, ids):
    """Logits [B, T, V] and the taps of every block, in float64 (tie_word_embeddings defaults to false, as in
    LlamaConfig, MistralConfig and Qwen2Config)."""
    hd = head_dim_of(config)
    eps = config["rms_norm_eps"]
    qkv_bias, o_bias, mlp_bias = _biases(config)
    act = activation(config.get("hidden_act", "silu"))
    inv_freq = rope_frequencies(config, hd)
    embed = weights["model.embed_tokens.weight"]
    h = embed[ids]
    taps = {}
    for i, window in enumerate(_windows(config)):
        p = f"model.layers.{i}."
        taps[f"blocks.{i}.resid_pre"] = h
        attn_out = attention(
            rms_norm(h, weights[p + "input_layernorm.weight"], eps),
            weights,
            p + "self_attn.",
            heads=config["num_attention_heads"],
            kv_heads=config["num_key_value_heads"],
            head_dim=hd,
            inv_freq=inv_freq,
            scale=hd**-0.5,
            qkv_bias=qkv_bias,
            o_bias=o_bias,
            window=window,
        )
        h = h + attn_out
        mlp_in = rms_norm(h, weights[p + "post_attention_layernorm.weight"], eps)
        mlp_out, neurons = gated_mlp(mlp_in, weights, p + "mlp.", act, mlp_bias)
        taps[f"blocks.{i}.attn_out"] = attn_out
        taps[f"blocks.{i}.resid_mid"] = h
        taps[f"blocks.{i}.mlp_out"] = mlp_out
        taps.update({f"blocks.{i}.mlp.{name}": value for name, value in neurons.items()})
        h = h + mlp_out
        taps[f"blocks.{i}.resid_post"] = h
    head = embed if config.get("tie_word_embeddings", False) else weights["lm_head.weight"]
    return rms_norm(h, weights["model.norm.weight"], eps) @ head.T, taps
