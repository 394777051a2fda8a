"""GPT-Neo (Black et al. 2021; TinyStories models) in float64, after Hugging Face's modeling_gpt_neo.py and
configuration_gpt_neo.py.

- Learned absolute positions (wpe), pre-LayerNorm blocks, tied head (lm_head.weight omitted on save).
- attention_types [[["global", "local"], n], ...] expands to one type per layer (the pattern repeated n
  times, in order); a local layer's query i sees only keys i - window_size < j <= i.
- Attention scores are NOT scaled by 1/sqrt(head_dim); q_proj, k_proj, v_proj have no bias, out_proj has.
- The MLP is nn.Linear c_fc -> activation_function ("gelu_new") -> nn.Linear c_proj (weights [out, in]),
  intermediate_size null meaning 4 * hidden_size.
"""

import numpy as np
import torch

from layers import activation, causal_attention, layer_norm, merge_heads, norm_weight, normal, split_heads

MODEL_TYPES = ["gpt_neo"]


def layer_types(attention_types: list) -> list:
    """attention_types [[pattern, repeats], ...] -> one "global"/"local" per layer."""
    return [kind for pattern, repeats in attention_types for _ in range(repeats) for kind in pattern]


def tiny_config(model_type: str, **overrides) -> dict:
    """A 2-layer (global, local), 48-wide GPT-Neo config.json with window_size 4, shorter than the test
    sequences; attention_layers is derived from attention_types as the Hub configs carry it."""
    config = {
        "architectures": ["GPTNeoForCausalLM"],
        "model_type": model_type,
        "activation_function": "gelu_new",
        "attention_dropout": 0,
        "attention_types": [[["global", "local"], 1]],
        "bos_token_id": 0,
        "classifier_dropout": 0.1,
        "embed_dropout": 0,
        "eos_token_id": 0,
        "hidden_size": 48,
        "initializer_range": 0.02,
        "intermediate_size": None,
        "layer_norm_epsilon": 1e-5,
        "max_position_embeddings": 64,
        "num_heads": 4,
        "num_layers": 2,
        "resid_dropout": 0,
        "tie_word_embeddings": True,
        "use_cache": True,
        "vocab_size": 512,
        "window_size": 4,
    }
    config.update(overrides)
    config["attention_layers"] = layer_types(config["attention_types"])
    if len(config["attention_layers"]) != config["num_layers"]:
        raise ValueError("attention_types must give one type per layer (num_layers)")
    return config


def inner_size(config: dict) -> int:
    """The MLP width: intermediate_size, or 4 * hidden_size when it is null."""
    return config.get("intermediate_size") or 4 * config["hidden_size"]


def random_weights(config: dict, seed: int) -> dict:
    """GPTNeoForCausalLM's state dict as save_pretrained writes it (nn.Linear weights [out, in])."""
    rng = np.random.default_rng(seed)
    d, inner = config["hidden_size"], inner_size(config)
    w = {
        "transformer.wte.weight": normal(rng, config["vocab_size"], d),
        "transformer.wpe.weight": normal(rng, config["max_position_embeddings"], d),
    }
    for i in range(config["num_layers"]):
        p = f"transformer.h.{i}."
        w[p + "ln_1.weight"] = norm_weight(rng, d)
        w[p + "ln_1.bias"] = normal(rng, d)
        for name in ("k_proj", "v_proj", "q_proj"):
            w[p + f"attn.attention.{name}.weight"] = normal(rng, d, d)
        w[p + "attn.attention.out_proj.weight"] = normal(rng, d, d)
        w[p + "attn.attention.out_proj.bias"] = normal(rng, d)
        w[p + "ln_2.weight"] = norm_weight(rng, d)
        w[p + "ln_2.bias"] = normal(rng, d)
        w[p + "mlp.c_fc.weight"] = normal(rng, inner, d)
        w[p + "mlp.c_fc.bias"] = normal(rng, inner)
        w[p + "mlp.c_proj.weight"] = normal(rng, d, inner)
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
    heads = config["num_heads"]
    act = activation(config["activation_function"])
    types = layer_types(config["attention_types"])
    t = ids.shape[1]
    x = w["transformer.wte.weight"][ids] + w["transformer.wpe.weight"][:t]
    taps = {}
    for i in range(config["num_layers"]):
        p = f"transformer.h.{i}."
        a = p + "attn.attention."
        taps[f"blocks.{i}.resid_pre"] = x
        h = layer_norm(x, w[p + "ln_1.weight"], w[p + "ln_1.bias"], eps)
        q, k, v = (split_heads(h @ w[a + f"{n}_proj.weight"].T, heads) for n in ("q", "k", "v"))
        window = config["window_size"] if types[i] == "local" else None
        z = merge_heads(causal_attention(q, k, v, 1.0, window))
        attn_out = z @ w[a + "out_proj.weight"].T + w[a + "out_proj.bias"]
        x = x + attn_out
        taps[f"blocks.{i}.attn_out"] = attn_out
        taps[f"blocks.{i}.resid_mid"] = x
        h = layer_norm(x, w[p + "ln_2.weight"], w[p + "ln_2.bias"], eps)
        pre = h @ w[p + "mlp.c_fc.weight"].T + w[p + "mlp.c_fc.bias"]
        post = act(pre)
        mlp_out = post @ w[p + "mlp.c_proj.weight"].T + w[p + "mlp.c_proj.bias"]
        x = x + mlp_out
        taps[f"blocks.{i}.mlp.pre"] = pre
        taps[f"blocks.{i}.mlp.post"] = post
        taps[f"blocks.{i}.mlp_out"] = mlp_out
        taps[f"blocks.{i}.resid_post"] = x
    h = layer_norm(x, w["transformer.ln_f.weight"], w["transformer.ln_f.bias"], eps)
    head = w["transformer.wte.weight"] if config.get("tie_word_embeddings", True) else w["lm_head.weight"]
    return h @ head.T, taps
