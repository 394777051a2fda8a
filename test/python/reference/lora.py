"""LoRA adapters in Hugging Face PEFT's layout, applied to the float64 reference models.

Written from PEFT's published definition (huggingface/peft: tuners/lora/config.py, tuners/lora/layer.py,
utils/save_and_load.py), not from Monoscope's TypeScript:

  adapter_config.json        r, lora_alpha, use_rslora, target_modules (a list: a module is targeted when its
                             name equals an entry or ends with "." + entry; a string: a full regex match)
  adapter_model.safetensors  base_model.model.{module}.lora_A.weight [r, in] and .lora_B.weight [out, r]
  the update                 W <- W + s * B @ A, s = lora_alpha / r (use_rslora: lora_alpha / sqrt(r));
                             GPT-2's Conv1D stores W as [in, out], so there W <- W + s * (B @ A)^T

  lora.py make --checkpoint BASE --out DIR --targets q_proj,v_proj [--r 4] [--alpha 8] [--rslora]
               [--seed S] [--base-name NAME]
      writes a random adapter (A and B both non-zero) for the base in PEFT's layout.
  lora.py forward --checkpoint BASE [--adapter DIR] --ids '[[1,2,3]]' --out FILE.safetensors
      F64 `logprobs` [B, T, V] of base + adapter (the base alone without --adapter; GPT-2 weights saved
      without the `transformer.` prefix get it, as from_pretrained does).
  lora.py logps --checkpoint BASE [--adapter DIR] --pairs FILE.json --out FILE.json
      pairs [{prompt, chosen, rejected} token ids]: {"chosen": [...], "rejected": [...]}, each the summed
      log-probability of the response tokens given the prompt, sum_t log p(response_t | prompt, response_<t).
"""

import argparse
import json
import math
import os
import re
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from hf_io import load_checkpoint, read_safetensors, write_safetensors  # noqa: E402
from run import architecture  # noqa: E402

PREFIX = "base_model.model."
BLOCK = re.compile(r"(^|\.)(layers|h)\.\d+\.")


def conv1d(config: dict) -> bool:
    """GPT-2's block linears are transformers' Conv1D, whose weight is stored [in, out]."""
    return config.get("model_type") == "gpt2"


def linear_modules(weights: dict) -> list:
    """Module names of the blocks' linear layers: 2-D `.weight` tensors under layers.N / h.N."""
    return [k[: -len(".weight")] for k, w in weights.items() if k.endswith(".weight") and w.dim() == 2 and BLOCK.search(k)]


def targeted(module: str, targets) -> bool:
    """PEFT's matching of target_modules (a list: equal or dotted suffix; a string: full regex match)."""
    if isinstance(targets, str):
        return re.fullmatch(targets, module) is not None
    return any(module == t or module.endswith("." + t) for t in targets)


def scale(cfg: dict) -> float:
    r, alpha = cfg["r"], cfg.get("lora_alpha", 8)
    return alpha / math.sqrt(r) if cfg.get("use_rslora", False) else alpha / r


def apply_adapter(config: dict, weights: dict, adapter_dir: str) -> dict:
    """The base weights with s * B @ A added to every adapted layer's weight (transposed for Conv1D)."""
    with open(os.path.join(adapter_dir, "adapter_config.json")) as f:
        cfg = json.load(f)
    if cfg.get("peft_type") != "LORA":
        sys.exit(f"{adapter_dir}: peft_type {cfg.get('peft_type')!r} is not LORA")
    tensors = read_safetensors(os.path.join(adapter_dir, "adapter_model.safetensors"))
    s = scale(cfg)
    out = dict(weights)
    done = set()
    for key in tensors:
        m = re.fullmatch(r"(.*)\.lora_A\.weight", key)
        if not m:
            continue
        module = m.group(1)[len(PREFIX) :]
        a = torch.from_numpy(tensors[key])
        b = torch.from_numpy(tensors[f"{m.group(1)}.lora_B.weight"])
        delta = s * (b @ a)
        name = module + ".weight"
        out[name] = out[name] + (delta.T if conv1d(config) else delta)
        done.add(module)
    wanted = {m for m in linear_modules(weights) if targeted(m, cfg["target_modules"])}
    if done != wanted:
        sys.exit(f"{adapter_dir}: adapter layers {sorted(done)} are not target_modules' {sorted(wanted)}")
    return out


def with_prefix(config: dict, weights: dict) -> dict:
    """GPT-2 weights under GPT2LMHeadModel's names: from_pretrained adds the base model's `transformer.`
    prefix to a checkpoint saved without it (one written from GPT2Model, or by Monoscope)."""
    if config.get("model_type") != "gpt2":
        return weights
    return {k if k.startswith(("transformer.", "lm_head.")) else "transformer." + k: w for k, w in weights.items()}


def load(args):
    config, weights = load_checkpoint(args.checkpoint)
    weights = with_prefix(config, weights)
    if args.adapter:
        weights = apply_adapter(config, weights, args.adapter)
    return config, weights, architecture(config.get("model_type"))


def make(args):
    config, weights = load_checkpoint(args.checkpoint)
    targets = args.targets.split(",")
    rng = np.random.default_rng(args.seed)
    tensors = {}
    for module in linear_modules(weights):
        if not targeted(module, targets):
            continue
        w = weights[module + ".weight"]
        fan_in, fan_out = (w.shape[0], w.shape[1]) if conv1d(config) else (w.shape[1], w.shape[0])
        tensors[f"{PREFIX}{module}.lora_A.weight"] = rng.uniform(-1, 1, (args.r, fan_in)) / math.sqrt(fan_in)
        tensors[f"{PREFIX}{module}.lora_B.weight"] = rng.standard_normal((fan_out, args.r)) * 0.2
    os.makedirs(args.out, exist_ok=True)
    write_safetensors(os.path.join(args.out, "adapter_model.safetensors"), tensors, "F32")
    cfg = {
        "peft_type": "LORA",
        "task_type": "CAUSAL_LM",
        "base_model_name_or_path": args.base_name,
        "r": args.r,
        "lora_alpha": args.alpha,
        "lora_dropout": 0.0,
        "use_rslora": args.rslora,
        "target_modules": targets,
        "bias": "none",
        "fan_in_fan_out": conv1d(config),
        "modules_to_save": None,
        "use_dora": False,
    }
    with open(os.path.join(args.out, "adapter_config.json"), "w") as f:
        json.dump(cfg, f, indent=2)


def forward(args):
    config, weights, arch = load(args)
    ids = torch.tensor(json.loads(args.ids), dtype=torch.long)
    with torch.no_grad():
        logits, _ = arch.forward(config, weights, ids)
    write_safetensors(args.out, {"logprobs": torch.log_softmax(logits, dim=-1).numpy()}, "F64")


def logps(args):
    config, weights, arch = load(args)
    with open(args.pairs) as f:
        pairs = json.load(f)
    out = {"chosen": [], "rejected": []}
    with torch.no_grad():
        for pair in pairs:
            for side in ("chosen", "rejected"):
                prompt, response = pair["prompt"], pair[side]
                ids = torch.tensor([prompt + response], dtype=torch.long)
                logits, _ = arch.forward(config, weights, ids)
                lp = torch.log_softmax(logits[0], dim=-1)
                out[side].append(sum(lp[len(prompt) + t - 1, tok].item() for t, tok in enumerate(response)))
    with open(args.out, "w") as f:
        json.dump(out, f)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    m = commands.add_parser("make", help="write a random PEFT adapter for a base checkpoint")
    m.add_argument("--checkpoint", required=True)
    m.add_argument("--out", required=True)
    m.add_argument("--targets", required=True)
    m.add_argument("--r", type=int, default=4)
    m.add_argument("--alpha", type=float, default=8)
    m.add_argument("--rslora", action="store_true")
    m.add_argument("--seed", type=int, default=0)
    m.add_argument("--base-name", default=None)
    for name, extra in (("forward", "--ids"), ("logps", "--pairs")):
        c = commands.add_parser(name)
        c.add_argument("--checkpoint", required=True)
        c.add_argument("--adapter")
        c.add_argument(extra, required=True)
        c.add_argument("--out", required=True)
    args = parser.parse_args()
    {"make": make, "forward": forward, "logps": logps}[args.command](args)


if __name__ == "__main__":
    main()
