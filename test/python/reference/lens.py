"""The activation-difference lens in float64, from its definition (Minder et al. 2025, arXiv 2510.13900;
science-of-finetuning/diffing-toolkit `logit_lens`: the fine-tuned model's `ln_final`, then its `lm_head`).

  lens.py --a DIR --b DIR --probe FILE.json --out FILE.json

FILE.json holds {"sequences": [[id, ...], ...], "special": [id, ...], "taps": ["blocks.0.resid_post", ...]}.
Both GPT-2 checkpoints run on every sequence; for each tap, over the tokens whose id is not special:
delta = mean(h_B - h_A), its norm, the norm of mean(h_A), and logits = ln_f_B(delta) W_U,B^T. Writes
{"tokens": n, "layers": [{"tap", "norm", "base_norm", "logits": [V]}]}.
"""

import argparse
import json
import os
import sys
from collections import defaultdict

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import arch_gpt2  # noqa: E402
from hf_io import load_checkpoint  # noqa: E402
from layers import layer_norm  # noqa: E402


def gpt2_checkpoint(dir: str):
    """(config, weights) of a GPT-2 folder, with GPT2LMHeadModel's `transformer.` prefix on the body's names
    (from_pretrained accepts both spellings)."""
    config, weights = load_checkpoint(dir)
    if config.get("model_type") != "gpt2":
        sys.exit(f"{dir}: the lens reference reads GPT-2 checkpoints")
    prefixed = {
        (n if n.startswith(("transformer.", "lm_head.")) else "transformer." + n): w for n, w in weights.items()
    }
    return config, prefixed


def taps_over(config, weights, sequences, taps):
    """Each tap's activations [n_tokens, width], rows in the order of the sequences' tokens."""
    by_length = defaultdict(list)
    for i, seq in enumerate(sequences):
        by_length[len(seq)].append(i)
    rows = {tap: [None] * len(sequences) for tap in taps}
    with torch.no_grad():
        for idx in by_length.values():
            _, out = arch_gpt2.forward(config, weights, torch.tensor([sequences[i] for i in idx]))
            for tap in taps:
                for j, i in enumerate(idx):
                    rows[tap][i] = out[tap][j]
    return {tap: torch.cat(rows[tap]) for tap in taps}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--a", required=True)
    parser.add_argument("--b", required=True)
    parser.add_argument("--probe", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    with open(args.probe) as f:
        probe = json.load(f)
    config_a, weights_a = gpt2_checkpoint(args.a)
    config_b, weights_b = gpt2_checkpoint(args.b)
    ids = torch.tensor([i for seq in probe["sequences"] for i in seq])
    keep = ~torch.isin(ids, torch.tensor(probe["special"]))
    h_a = taps_over(config_a, weights_a, probe["sequences"], probe["taps"])
    h_b = taps_over(config_b, weights_b, probe["sequences"], probe["taps"])
    head = weights_b.get("lm_head.weight", weights_b["transformer.wte.weight"])
    layers = []
    for tap in probe["taps"]:
        delta = (h_b[tap][keep] - h_a[tap][keep]).mean(0)
        normed = layer_norm(
            delta, weights_b["transformer.ln_f.weight"], weights_b["transformer.ln_f.bias"], config_b["layer_norm_epsilon"]
        )
        layers.append(
            {
                "tap": tap,
                "norm": float(delta.norm()),
                "base_norm": float(h_a[tap][keep].mean(0).norm()),
                "logits": (head @ normed).tolist(),
            }
        )
    with open(args.out, "w") as f:
        json.dump({"tokens": int(keep.sum()), "layers": layers}, f)


if __name__ == "__main__":
    main()
