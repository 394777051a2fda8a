#!/usr/bin/env python3
"""The PyTorch side of `npm run bench:train -- --lora`: the same LoRA DecPO step, in float32 on the CPU.

    /usr/bin/python3 bench/train_lora_torch.py --dir DIR [--steps 3] [--warmup 1] [--threads 2] [--device cpu]

DIR holds what our side exported (bench/train-lora.ts): config.json and model.safetensors (the random base
weights and the adapter's `{module}.lora_A.weight` [r, in] / `{module}.lora_B.weight` [out, r]),
batches.json (each step's micro-batches, laid out as `preferenceBatch` does, with the cached reference
log-probs of their pairs; and the settings) and expected.json (our loss, penalty, log-probs and gradient
norm of the first step, before any update, without dropout).

The step, from the published definitions:
  - GPT-NeoX's forward (Hugging Face modeling_gpt_neox.py; record_torch.gpt_neox_blocks), every targeted
    linear layer with PEFT's LoRA update y = x W^T + b + (alpha / r) dropout(x) A^T B^T (Hu et al. 2021);
  - response log-probs log pi(y|x) summed over the response tokens (final layer norm, embed_out);
  - DPO's sigmoid loss mean softplus(-beta h), h = (pi_w - ref_w) - (pi_l - ref_l) (Rafailov et al. 2023,
    Eq. 7), against the cached reference log-probs;
  - plus lambda * barlow: the sum of squared off-diagonal Pearson correlations of block `layer`'s MLP
    neurons over the response tokens (population variance, eps 1e-5);
  - gradients accumulated over the step's micro-batches as our Stepper does (each micro-batch's loss, its
    penalty over its own response tokens included, weighted by its share of the pairs);
  - global-norm clipping at 1 and AdamW (lr 1e-4, weight decay 0.1 on matrices) on the adapter only; the
    step also computes the `decorr/mean_abs_corr` metric, as our Stepper does.

First the timing: `--warmup` untimed and `--steps` timed steps over the exported steps in turn, with LoRA
dropout (torch's own masks) when batches.json says our step applied it. Then the check, on weights read
afresh: this loss, penalty, log-probs and the adapter's gradient norm of the first step, in float32 (this
benchmark's arithmetic) and in float64, against ours.
Prints one JSON object: {"torch_ms_per_step", "torch_tokens_per_s", "torch_peak_rss_mb", "check", ...}.
"""
import argparse
import contextlib
import json
import math
import os
import resource
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in bench/ from the import below
from record_torch import gpt_neox_blocks, read_f32_checkpoint  # noqa: E402 (sizes the thread pools from --threads)

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

EPS_CORR = 1e-5


def lora_linear(w, spec, dropout):
    """A block's linear layer by module name, with the LoRA update where the weights hold an adapter."""
    scale = spec['alpha'] / spec['r']

    def linear(name, h):
        y = F.linear(h, w[name + '.weight'], w.get(name + '.bias'))
        a = w.get(name + '.lora_A.weight')
        if a is None:
            return y
        x = F.dropout(h, dropout, training=True) if dropout > 0 else h
        return y + (x @ a.t()) @ w[name + '.lora_B.weight'].t() * scale

    return linear


def pearson_gram(z):
    """Column-standardised Pearson matrix C = Zs^T Zs / n of z [n, d] (population variance, eps 1e-5)."""
    zc = z - z.mean(0, keepdim=True)
    zs = zc / torch.sqrt(zc.square().mean(0, keepdim=True) + EPS_CORR)
    return zs.t() @ zs / z.shape[0]


def decpo_loss(config, w, b, spec, dropout):
    """DPO sigmoid loss + lambda * barlow on block `layer`'s MLP neurons; returns (loss, penalty, logps, gram)."""
    rows, t = b['ids'].shape
    taps = {}
    x = gpt_neox_blocks(config, w, b['ids'], lambda i, post: taps.setdefault(i, post),
                        linear=lora_linear(w, spec, dropout))
    d = config['hidden_size']
    hidden = F.layer_norm(x.reshape(rows * t, d), (d,), w['gpt_neox.final_layer_norm.weight'],
                          w['gpt_neox.final_layer_norm.bias'], config['layer_norm_eps'])
    logits = hidden[b['pred_idx']] @ w['embed_out.weight'].t()
    tok_lp = logits.log_softmax(-1).gather(1, b['targets'][:, None]).squeeze(1)
    logps = torch.zeros(rows, dtype=tok_lp.dtype).index_add(0, b['row_of_token'], tok_lp)
    p = rows // 2
    h = (logps[:p] - b['ref_chosen']) - (logps[p:] - b['ref_rejected'])
    dpo = F.softplus(-spec['beta'] * h).mean()
    z = taps[spec['layer']].reshape(rows * t, -1)[b['resp_idx']]
    gram = pearson_gram(z)
    off = gram * (1 - torch.eye(gram.shape[0], dtype=gram.dtype))
    penalty = off.square().sum()
    return dpo + spec['lambda'] * penalty, penalty, logps, gram


def adapter_names(w):
    return [n for n in w if '.lora_' in n]


def step_gradients(config, w, micro, spec, dropout):
    """Forward and backward of one step's micro-batches, as our Stepper accumulates them: micro-batch j's
    loss (its DPO loss plus lambda times the barlow penalty of its own response tokens) weighted by its
    share of the pairs, gradients summed. Returns the weighted loss and penalty, the policy's log-probs
    (chosen rows of every pair, then rejected) and the weighted `decorr/mean_abs_corr` metric."""
    pairs = sum(b['ids'].shape[0] // 2 for b in micro)
    loss = penalty = corr = 0.0
    chosen, rejected = [], []
    for b in micro:
        p = b['ids'].shape[0] // 2
        share = p / pairs
        part, pen, logps, gram = decpo_loss(config, w, b, spec, dropout)
        (part * share).backward()
        loss += share * part.item()
        penalty += share * pen.item()
        chosen.append(logps[:p].detach())
        rejected.append(logps[p:].detach())
        with torch.no_grad():
            d = gram.shape[0]
            corr += share * (gram * (1 - torch.eye(d, dtype=gram.dtype))).abs().sum().item() / (d * (d - 1))
    return loss, penalty, torch.cat(chosen + rejected), corr


def as_tensors(bj, dtype):
    """A micro-batch of batches.json as tensors."""
    rows = 2 * bj['pairs']
    b = {'ids': torch.tensor(bj['ids']).view(rows, bj['T'])}
    for k, js in (('pred_idx', 'predIdx'), ('targets', 'targets'), ('row_of_token', 'rowOfToken'),
                  ('resp_idx', 'respIdx')):
        b[k] = torch.tensor(bj[js])
    b['ref_chosen'] = torch.tensor(bj['refChosen'], dtype=dtype)
    b['ref_rejected'] = torch.tensor(bj['refRejected'], dtype=dtype)
    return b


def load(folder, dtype):
    """Config, weights in `dtype` (the adapter's trainable), the steps' micro-batches, and the settings."""
    config, w = read_f32_checkpoint(folder)
    w = {k: v.to(dtype) for k, v in w.items()}
    for n in adapter_names(w):
        w[n] = w[n].clone().requires_grad_()
    with open(os.path.join(folder, 'batches.json')) as f:
        raw = json.load(f)
    steps = [[as_tensors(bj, dtype) for bj in micro] for micro in raw['steps']]
    return config, w, steps, raw['settings']


def check(folder):
    """Our first step's loss, penalty, log-probs and adapter gradient norm against PyTorch's, in float32 and
    float64 (no dropout, before any update)."""
    with open(os.path.join(folder, 'expected.json')) as f:
        expected = json.load(f)
    out = {}
    ok = True
    for dtype, name in ((torch.float32, 'float32'), (torch.float64, 'float64')):
        config, w, steps, spec = load(folder, dtype)
        loss, penalty, logps, _ = step_gradients(config, w, steps[0], spec, 0.0)
        grad_norm = math.sqrt(sum(float(w[n].grad.double().square().sum()) for n in adapter_names(w)))
        got = {'loss': loss, 'decorr/penalty': penalty, 'grad_norm': grad_norm}
        rel = {k: abs(v - expected[k]) / max(abs(expected[k]), 1e-12) for k, v in got.items()}
        logp_diff = float((logps.double() - torch.tensor(expected['logps'], dtype=torch.float64)).abs().max())
        out[name] = {**{k: round(v, 8) for k, v in got.items()},
                     'rel_diff': {k: float(f'{v:.2e}') for k, v in rel.items()},
                     'logps_max_abs_diff': float(f'{logp_diff:.2e}')}
        # float32 through 12 blocks: log-probs near -700 agree to ~1e-4 absolute, the loss to ~1e-6 relative.
        ok &= rel['loss'] < 1e-4 and rel['decorr/penalty'] < 1e-3 and rel['grad_norm'] < 1e-3 and logp_diff < 5e-3
        del w
    out['ours'] = {k: expected[k] for k in ('loss', 'decorr/penalty', 'grad_norm')}
    out['ok'] = bool(ok)
    return out


def on_device(w, steps, device):
    """Weights (the adapter still trainable) and every step's micro-batches moved to `device`."""
    w = {k: v.detach().to(device).requires_grad_(v.requires_grad) for k, v in w.items()}
    return w, [[{k: v.to(device) for k, v in b.items()} for b in micro] for micro in steps]


def bench(folder, steps, warmup, threads, device):
    """`warmup` untimed and `steps` timed steps (the exported steps in turn): gradients, clipping, AdamW, on
    `device`, where the tensors the step makes (masks, identity, sums) go too (torch >= 2.0's default device)."""
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    config, w, batches, spec = load(folder, torch.float32)
    w, batches = on_device(w, batches, device)
    adapter = [w[n] for n in adapter_names(w)]
    opt = torch.optim.AdamW(adapter, lr=spec['lr'], betas=(0.9, 0.999), eps=1e-8, weight_decay=0.1)
    dropout = spec['dropout'] if spec['dropoutInStep'] else 0.0
    times, cpu = [], []
    with contextlib.nullcontext() if device == 'cpu' else torch.device(device):
        for i in range(warmup + steps):
            micro = batches[i % len(batches)]
            c0 = time.process_time()
            t0 = time.perf_counter()
            opt.zero_grad(set_to_none=True)
            loss, _, _, _ = step_gradients(config, w, micro, spec, dropout)
            torch.nn.utils.clip_grad_norm_(adapter, 1.0)
            opt.step()
            if i >= warmup:
                times.append((time.perf_counter() - t0) * 1000)
                cpu.append((time.process_time() - c0) * 1000)
            if not math.isfinite(loss):
                sys.exit(f'train_lora_torch.py: step {i} has loss {loss}')
    med = float(np.median(times))
    tokens = sum(b['ids'].numel() for b in batches[0])
    return {
        'torch_ms_per_step': round(med, 1), 'torch_ms_min': round(min(times), 1),
        'torch_ms_max': round(max(times), 1), 'torch_cpu_ms_per_step': round(float(np.median(cpu)), 1),
        'torch_tokens_per_s': round(tokens * 1000 / med, 1), 'torch_steps': steps,
        'torch_peak_rss_mb': round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        'torch_threads': torch.get_num_threads(), 'torch_dropout': dropout, 'torch_device': device,
        'torch': f'torch {torch.__version__}, OpenBLAS {os.environ["OPENBLAS_NUM_THREADS"]} threads, '
                 f'OMP {os.environ["OMP_WAIT_POLICY"].lower()}',
    }


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--dir', required=True)
    ap.add_argument('--steps', type=int, default=3)
    ap.add_argument('--warmup', type=int, default=1)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--device', default='cpu', help='where the timed steps run (cuda: bench/gpu.sh); the check runs on the CPU')
    a = ap.parse_args()
    timed = bench(a.dir, a.steps, a.warmup, a.threads, a.device)  # first, so its peak RSS is not the float64 check's
    checked = check(a.dir)
    result = {**timed, 'check': checked}
    print(json.dumps(result))
    sys.exit(0 if checked['ok'] else 1)
