"""GPT-NeoX / Pythia (Black et al. 2022) in float64, after Hugging Face's modeling_gpt_neox.py and
configuration_gpt_neox.py.

- The fused query_key_value output is laid out per head: viewed [.., heads, 3 * head_dim], head h's slice is
  [q_h, k_h, v_h].
- Partial rotary: the first rotary_ndims = int(head_dim * rotary_pct) dims of q and k are rotated
  ("rotate_half" pairing, base rotary_emb_base); the newer spellings partial_rotary_factor / rope_theta, and
  transformers 5's rope_parameters dict, say the same and win over the old ones.
- Scores are scaled by 1/sqrt(head_dim); every linear has a bias (unless attention_bias is false, which drops
  the attention ones); hidden_act "gelu" is the exact erf GELU.
- use_parallel_residual: x + attn(ln1(x)) + mlp(ln2(x)); otherwise h = x + attn(ln1(x)), h + mlp(ln2(h)).
- The head is embed_out (untied), after final_layer_norm.
"""

import math

import numpy as np
import torch

from layers import (
    activation,
    apply_rope,
    causal_attention,
    layer_norm,
    merge_heads,
    norm_weight,
    normal,
    rope_inv_freq,
)

MODEL_TYPES = ["gpt_neox"]


def tiny_config(model_type: str, **overrides) -> dict:
    """A 2-layer, 64-wide Pythia-style config.json (head_dim 16, rotary_pct 0.25: 4 rotary dims)."""
    config = {
        "architectures": ["GPTNeoXForCausalLM"],
        "model_type": model_type,
        "attention_bias": True,
        "attention_dropout": 0.0,
        "bos_token_id": 0,
        "classifier_dropout": 0.1,
        "eos_token_id": 0,
        "hidden_act": "gelu",
        "hidden_dropout": 0.0,
        "hidden_size": 64,
        "initializer_range": 0.02,
        "intermediate_size": 256,
        "layer_norm_eps": 1e-5,
        "max_position_embeddings": 64,
        "num_attention_heads": 4,
        "num_hidden_layers": 2,
        "rope_scaling": None,
        "rotary_emb_base": 10000,
        "rotary_pct": 0.25,
        "tie_word_embeddings": False,
        "use_cache": True,
        "use_parallel_residual": True,
        "vocab_size": 512,
    }
    config.update(overrides)
    return config


def rope_setting(config: dict, key: str, old_key: str, default: float) -> float:
    """A RoPE parameter from rope_parameters[key], else config[key], else config[old_key], else default."""
    params = config.get("rope_parameters") or {}
    for value in (params.get(key), config.get(key), config.get(old_key)):
        if value is not None:
            return value
    return default


def rotary(config: dict):
    """(rotary_ndims, theta): how many leading dims of each head rotate, and the RoPE base."""
    scaling = config.get("rope_scaling") or config.get("rope_parameters") or {}
    kind = scaling.get("rope_type", scaling.get("type", "default"))
    if kind != "default":
        raise ValueError(f"unsupported RoPE scaling {kind}")
    head_dim = config["hidden_size"] // config["num_attention_heads"]
    fraction = rope_setting(config, "partial_rotary_factor", "rotary_pct", 0.25)
    return int(head_dim * fraction), rope_setting(config, "rope_theta", "rotary_emb_base", 10000)


def random_weights(config: dict, seed: int) -> dict:
    """GPTNeoXForCausalLM's state dict as save_pretrained writes it (nn.Linear weights [out, in])."""
    rng = np.random.default_rng(seed)
    d, inner, vocab = config["hidden_size"], config["intermediate_size"], config["vocab_size"]
    w = {"gpt_neox.embed_in.weight": normal(rng, vocab, d)}
    for i in range(config["num_hidden_layers"]):
        p = f"gpt_neox.layers.{i}."
        w[p + "input_layernorm.weight"] = norm_weight(rng, d)
        w[p + "input_layernorm.bias"] = normal(rng, d)
        w[p + "post_attention_layernorm.weight"] = norm_weight(rng, d)
        w[p + "post_attention_layernorm.bias"] = normal(rng, d)
        w[p + "attention.query_key_value.weight"] = normal(rng, 3 * d, d)
        w[p + "attention.dense.weight"] = normal(rng, d, d)
        if config.get("attention_bias", True):
            w[p + "attention.query_key_value.bias"] = normal(rng, 3 * d)
            w[p + "attention.dense.bias"] = normal(rng, d)
        w[p + "mlp.dense_h_to_4h.weight"] = normal(rng, inner, d)
        w[p + "mlp.dense_h_to_4h.bias"] = normal(rng, inner)
        w[p + "mlp.dense_4h_to_h.weight"] = normal(rng, d, inner)
        w[p + "mlp.dense_4h_to_h.bias"] = normal(rng, d)
    w["gpt_neox.final_layer_norm.weight"] = norm_weight(rng, d)
    w["gpt_neox.final_layer_norm.bias"] = normal(rng, d)
    if not config.get("tie_word_embeddings", False):
        w["embed_out.weight"] = normal(rng, vocab, d)
    return w


def linear(w: dict, name: str, x):
    """nn.Linear `name`: x W^T (+ b when the checkpoint has `name`.bias)."""
    y = x @ w[name + ".weight"].T
    return y + w[name + ".bias"] if name + ".bias" in w else y


def forward(config: dict, weights: dict, ids: torch.LongTensor):
    """Logits [B, T, V] and the taps of every block, in float64."""
    w = weights
    eps = config["layer_norm_eps"]
    heads = config["num_attention_heads"]
    head_dim = config["hidden_size"] // heads
    rotary_ndims, theta = rotary(config)
    inv_freq = rope_inv_freq(rotary_ndims, theta)
    positions = torch.arange(ids.shape[1])
    act = activation(config["hidden_act"])
    parallel = config.get("use_parallel_residual", True)

    def rope(x):
        rotated = apply_rope(x[..., :rotary_ndims], positions, inv_freq)
        return torch.cat((rotated, x[..., rotary_ndims:]), dim=-1)

    def norm(name, x):
        return layer_norm(x, w[name + ".weight"], w[name + ".bias"], eps)

    def attention(p, h):
        b, t, _ = h.shape
        qkv = linear(w, p + "attention.query_key_value", h).view(b, t, heads, 3 * head_dim).transpose(1, 2)
        q, k, v = qkv.split(head_dim, dim=-1)
        z = causal_attention(rope(q), rope(k), v, 1 / math.sqrt(head_dim))
        return linear(w, p + "attention.dense", merge_heads(z))

    x = w["gpt_neox.embed_in.weight"][ids]
    taps = {}
    for i in range(config["num_hidden_layers"]):
        p = f"gpt_neox.layers.{i}."
        taps[f"blocks.{i}.resid_pre"] = x
        attn_out = attention(p, norm(p + "input_layernorm", x))
        taps[f"blocks.{i}.attn_out"] = attn_out
        if parallel:
            mlp_in = x
        else:
            mlp_in = x + attn_out
            taps[f"blocks.{i}.resid_mid"] = mlp_in
        h = norm(p + "post_attention_layernorm", mlp_in)
        pre = linear(w, p + "mlp.dense_h_to_4h", h)
        post = act(pre)
        mlp_out = linear(w, p + "mlp.dense_4h_to_h", post)
        x = x + attn_out + mlp_out
        taps[f"blocks.{i}.mlp.pre"] = pre
        taps[f"blocks.{i}.mlp.post"] = post
        taps[f"blocks.{i}.mlp_out"] = mlp_out
        taps[f"blocks.{i}.resid_post"] = x
    h = norm("gpt_neox.final_layer_norm", x)
    tied = config.get("tie_word_embeddings", False)
    head = w["gpt_neox.embed_in.weight"] if tied else w["embed_out.weight"]
    return h @ head.T, taps
