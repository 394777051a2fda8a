#!/usr/bin/env python3
"""The PyTorch side of bench/gpu.sh: bench/train_torch.py's DecPO step, timed on a CUDA device.

    python3 bench/gpu_torch.py [--device cuda] [--steps 20] [--warmup 3]

The step is train_torch.train_step, unchanged (same shapes, loss, penalty, clipping and AdamW as
`bench/train.ts`); only where its tensors live differs: weights, optimizer state and batches on
`--device`, and the tensors the step makes (causal mask, identity, sums) there too, through torch's
default device (torch >= 2.0; `--device cpu` runs on any torch). Every step ends in `.item()` reads, so the
wall time of a step includes the GPU's work. Prints one JSON line like `npm run bench:train`, with
"backend": "pytorch-cuda" (or "pytorch-cpu").
"""
import argparse
import contextlib
import json
import math
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train_torch as tt  # noqa: E402  (sizes the CPU thread pools from --threads at import)

import numpy as np  # noqa: E402
import torch  # noqa: E402


def on_device(device):
    """Makes `device` the default of torch's factory functions inside the block (torch >= 2.0)."""
    if device == 'cpu':
        return contextlib.nullcontext()
    if not hasattr(torch, 'set_default_device'):
        raise SystemExit(f'gpu_torch.py: torch {torch.__version__} cannot default to {device} (needs torch >= 2.0)')
    return torch.device(device)


def device_name(device):
    if device.startswith('cuda'):
        return f'{torch.cuda.get_device_name(device)}, torch {torch.__version__}, CUDA {torch.version.cuda}'
    return f'cpu, torch {torch.__version__}, {torch.get_num_threads()} threads'


def sync(device):
    if device.startswith('cuda'):
        torch.cuda.synchronize(device)


def bench_decpo(device, steps, warmup):
    """Times train_torch's DecPO step on `device`: the same weights, batches and reference log-probs."""
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(1234)
    p = {k: v.detach().to(device).requires_grad_() for k, v in tt.init_params(1).items()}
    opt = tt.make_optimizer(p)
    batches = []
    for _ in range(4):
        ref = -tt.RESPONSE * math.log(tt.V) + torch.randn(2, tt.PAIRS, generator=g)
        b = {k: v.to(device) for k, v in tt.random_batch(g).items()}
        batches.append((b, ref[0].to(device), ref[1].to(device)))
    times = []
    with on_device(device):
        for i in range(warmup + steps):
            b, rc, rr = batches[i % len(batches)]
            sync(device)
            t0 = time.perf_counter()
            metrics = tt.train_step(p, opt, b, rc, rr)
            sync(device)
            if i >= warmup:
                times.append((time.perf_counter() - t0) * 1000)
            if not math.isfinite(metrics['loss']):
                raise SystemExit(f'gpu_torch.py: non-finite loss at step {i}')
    med = float(np.median(times))
    return {
        'bench': 'train', 'backend': 'pytorch-' + device.split(':')[0], 'step': 'decpo', 'device': device_name(device),
        'tokens_per_s': round(2 * tt.PAIRS * (tt.PROMPT + tt.RESPONSE) * 1000 / med, 1), 'ms_per_step': round(med, 2),
        'ms_min': round(min(times), 2), 'ms_max': round(max(times), 2), 'steps': steps,
    }


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--device', default='cuda')
    ap.add_argument('--steps', type=int, default=20)
    ap.add_argument('--warmup', type=int, default=3)
    ap.add_argument('--threads', type=int, default=2, help='CPU threads (read by train_torch at import)')
    a = ap.parse_args()
    if a.device.startswith('cuda') and not torch.cuda.is_available():
        raise SystemExit(f'gpu_torch.py: torch {torch.__version__} sees no CUDA device')
    if a.device == 'cpu':
        torch.set_num_threads(a.threads)
    print(json.dumps(bench_decpo(a.device, a.steps, a.warmup)), flush=True)
