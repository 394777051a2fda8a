"""GPT-2 (Radford et al. 2019) in float64, after Hugging Face's modeling_gpt2.py / configuration_gpt2.py.

Pre-LayerNorm blocks with learned absolute positions; the projections are Conv1D modules whose weights are
stored [in, out] (y = x W + b); the MLP is c_fc -> activation_function ("gelu_new" = tanh GELU) -> c_proj;
the head is tied to wte. GPT2LMHeadModel keeps the body under `transformer.`, so save_pretrained writes
`transformer.wte.weight`, `transformer.h.0.attn.c_attn.weight`, ... (lm_head.weight is tied and omitted).
"""

import math

import numpy as np
import torch

from layers import activation, causal_attention, layer_norm, merge_heads, norm_weight, normal, split_heads

MODEL_TYPES = ["gpt2"]


def tiny_config(model_type: str, **overrides) -> dict:
    """A 2-layer, 48-wide GPT-2 config.json with the fields a Hub GPT-2 config has; n_inner null means
    4 * n_embd."""
    config = {
        "architectures": ["GPT2LMHeadModel"],
        "model_type": model_type,
        "activation_function": "gelu_new",
        "attn_pdrop": 0.1,
        "bos_token_id": 0,
        "eos_token_id": 0,
        "embd_pdrop": 0.1,
        "initializer_range": 0.02,
        "layer_norm_epsilon": 1e-5,
        "n_ctx": 64,
        "n_embd": 48,
        "n_head": 4,
        "n_inner": None,
        "n_layer": 2,
        "n_positions": 64,
        "reorder_and_upcast_attn": False,
        "resid_pdrop": 0.1,
        "scale_attn_by_inverse_layer_idx": False,
        "scale_attn_weights": True,
        "summary_activation": None,
        "summary_first_dropout": 0.1,
        "summary_proj_to_labels": True,
        "summary_type": "cls_index",
        "summary_use_proj": True,
        "tie_word_embeddings": True,
        "use_cache": True,
        "vocab_size": 512,
    }
    config.update(overrides)
    return config


def inner_size(config: dict) -> int:
    """The MLP width: n_inner, or 4 * n_embd when it is null."""
    return config.get("n_inner") or 4 * config["n_embd"]


def random_weights(config: dict, seed: int) -> dict:
    """GPT2LMHeadModel's state dict as save_pretrained writes it (Conv1D weights [in, out])."""
    rng = np.random.default_rng(seed)
    d, inner = config["n_embd"], inner_size(config)
    w = {
        "transformer.wte.weight": normal(rng, config["vocab_size"], d),
        "transformer.wpe.weight": normal(rng, config["n_positions"], d),
    }
    for i in range(config["n_layer"]):
        p = f"transformer.h.{i}."
        w[p + "ln_1.weight"] = norm_weight(rng, d)
        w[p + "ln_1.bias"] = normal(rng, d)
        w[p + "attn.c_attn.weight"] = normal(rng, d, 3 * d)
        w[p + "attn.c_attn.bias"] = normal(rng, 3 * d)
        w[p + "attn.c_proj.weight"] = normal(rng, d, d)
        w[p + "attn.c_proj.bias"] = normal(rng, d)
        w[p + "ln_2.weight"] = norm_weight(rng, d)
        w[p + "ln_2.bias"] = normal(rng, d)
        w[p + "mlp.c_fc.weight"] = normal(rng, d, inner)
        w[p + "mlp.c_fc.bias"] = normal(rng, inner)
        w[p + "mlp.c_proj.weight"] = normal(rng, inner, d)
        w[p + "mlp.c_proj.bias"] = normal(rng, d)
    w["transformer.ln_f.weight"] = norm_weight(rng, d)
    w["transformer.ln_f.bias"] = normal(rng, d)
    if not config.get("tie_word_embeddings", True):
        w["lm_head.weight"] = normal(rng, config["vocab_size"], d)
    return w


def forward(config: dict, weights: dict, ids: torch.LongTensor):
    """Logits [B, T, V] and the taps of every block, in float64."""
    w = weights
    eps = config["layer_norm_epsilon"]
    heads = config["n_head"]
    head_dim = config["n_embd"] // heads
    act = activation(config["activation_function"])
    t = ids.shape[1]
    x = w["transformer.wte.weight"][ids] + w["transformer.wpe.weight"][:t]
    taps = {}
    for i in range(config["n_layer"]):
        p = f"transformer.h.{i}."
        taps[f"blocks.{i}.resid_pre"] = x
        # Attention: scores scaled by 1/sqrt(head_dim) (scale_attn_weights) and 1/(layer + 1)
        # (scale_attn_by_inverse_layer_idx).
        scale = 1 / math.sqrt(head_dim) if config.get("scale_attn_weights", True) else 1.0
        if config.get("scale_attn_by_inverse_layer_idx", False):
            scale /= i + 1
        h = layer_norm(x, w[p + "ln_1.weight"], w[p + "ln_1.bias"], eps)
        qkv = h @ w[p + "attn.c_attn.weight"] + w[p + "attn.c_attn.bias"]
        q, k, v = (split_heads(part, heads) for part in qkv.split(config["n_embd"], dim=-1))
        z = merge_heads(causal_attention(q, k, v, scale))
        attn_out = z @ w[p + "attn.c_proj.weight"] + w[p + "attn.c_proj.bias"]
        x = x + attn_out
        taps[f"blocks.{i}.attn_out"] = attn_out
        taps[f"blocks.{i}.resid_mid"] = x
        # MLP: c_proj(act(c_fc(ln_2(x)))).
        h = layer_norm(x, w[p + "ln_2.weight"], w[p + "ln_2.bias"], eps)
        pre = h @ w[p + "mlp.c_fc.weight"] + w[p + "mlp.c_fc.bias"]
        post = act(pre)
        mlp_out = post @ w[p + "mlp.c_proj.weight"] + w[p + "mlp.c_proj.bias"]
        x = x + mlp_out
        taps[f"blocks.{i}.mlp.pre"] = pre
        taps[f"blocks.{i}.mlp.post"] = post
        taps[f"blocks.{i}.mlp_out"] = mlp_out
        taps[f"blocks.{i}.resid_post"] = x
    h = layer_norm(x, w["transformer.ln_f.weight"], w["transformer.ln_f.bias"], eps)
    head = w["transformer.wte.weight"] if config.get("tie_word_embeddings", True) else w["lm_head.weight"]
    return h @ head.T, taps
