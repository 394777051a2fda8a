"""The command line the TypeScript tests call to build random-weight checkpoints and reference outputs.

  run.py make --model-type T --out DIR [--dtype F32|F16|BF16] [--shards N] [--seed S] [--set key=JSON ...]
      writes tiny_config(T, **sets) and random weights as a Hugging Face checkpoint folder (no tokenizer).
  run.py forward --checkpoint DIR --ids '[[1,2,3],[4,5,6]]' --out FILE.safetensors
      runs the float64 reference on the (dtype-widened) checkpoint and writes F64 tensors: `logprobs`
      [B, T, V] and every tap under its name (blocks.0.resid_pre, blocks.0.mlp.post, ...).

The architecture comes from the arch_*.py module whose MODEL_TYPES holds the model_type.
"""

import argparse
import glob
import importlib
import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from hf_io import load_checkpoint, save_checkpoint, write_safetensors  # noqa: E402


def architecture(model_type: str):
    """The arch_*.py module that handles `model_type`; exits non-zero when none does."""
    known = []
    for path in sorted(glob.glob(os.path.join(HERE, "arch_*.py"))):
        module = importlib.import_module(os.path.basename(path)[:-3])
        if model_type in module.MODEL_TYPES:
            return module
        known += module.MODEL_TYPES
    sys.exit(f"unknown model_type {model_type!r}; the references handle {', '.join(sorted(known))}")


def parse_sets(sets: list) -> dict:
    """["key=JSON", ...] -> {key: value}."""
    overrides = {}
    for item in sets:
        key, sep, value = item.partition("=")
        if not sep:
            sys.exit(f"--set wants key=JSON, got {item!r}")
        try:
            overrides[key] = json.loads(value)
        except json.JSONDecodeError:
            sys.exit(f"--set {key}: {value!r} is not JSON")
    return overrides


def make(args):
    arch = architecture(args.model_type)
    config = arch.tiny_config(args.model_type, **parse_sets(args.set))
    save_checkpoint(args.out, config, arch.random_weights(config, args.seed), args.dtype, args.shards)


def forward(args):
    config, weights = load_checkpoint(args.checkpoint)
    arch = architecture(config.get("model_type"))
    ids = torch.tensor(json.loads(args.ids), dtype=torch.long)
    if ids.dim() != 2:
        sys.exit("--ids must be a [B, T] list of lists")
    with torch.no_grad():
        logits, taps = arch.forward(config, weights, ids)
    outputs = {"logprobs": torch.log_softmax(logits, dim=-1), **taps}
    write_safetensors(args.out, {name: t.numpy() for name, t in outputs.items()}, "F64")


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    m = commands.add_parser("make", help="write a random-weight checkpoint")
    m.add_argument("--model-type", required=True)
    m.add_argument("--out", required=True)
    m.add_argument("--dtype", default="F32", choices=["F32", "F16", "BF16"])
    m.add_argument("--shards", type=int, default=1)
    m.add_argument("--seed", type=int, default=0)
    m.add_argument("--set", action="append", default=[], metavar="KEY=JSON")
    f = commands.add_parser("forward", help="write reference log-probabilities and taps")
    f.add_argument("--checkpoint", required=True)
    f.add_argument("--ids", required=True)
    f.add_argument("--out", required=True)
    args = parser.parse_args()
    if args.command == "make":
        make(args)
    else:
        forward(args)


if __name__ == "__main__":
    main()
