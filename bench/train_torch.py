#!/usr/bin/env python3
"""The DecPO step of `bench/train.ts`, in PyTorch on the CPU: the throughput we compare the wasm backend with.

Same shapes: vocab 256, context 64, 2 layers, d_model 128, 4 heads, d_mlp 512; 16 preference pairs of 32
prompt + 32 response tokens (rows 0..15 prompt+chosen, 16..31 prompt+rejected); GPT-2 blocks (pre-LN,
GELU tanh, learned positions, LM head tied to wte); DPO sigmoid loss (beta 0.1) on summed response
log-probs against precomputed reference log-probs, plus lambda * barlow penalty (lambda 1e-4) on block 0's
MLP neurons at the response tokens; global-norm clipping at 1; AdamW (lr 1e-4, weight decay 0.1 on
matrices). Like our Stepper, the step also computes the `decorr/mean_abs_corr` metric (no gradient).

    /usr/bin/python3 bench/train_torch.py [--steps 20] [--threads 2]
prints {"bench":"train","backend":"pytorch-cpu",...} like `npm run bench:train`. `--threads` sizes torch's
OpenMP pool and OpenBLAS's (see below) alike.

    /usr/bin/python3 bench/train_torch.py --check DIR
reads DIR/model.safetensors, DIR/batch.json and DIR/expected.json written by
`npx tsx bench/train.ts --export-check DIR`, and compares our loss, penalty, log-probs and gradient norm with
PyTorch's on the same weights and batch (exit code 1 on a mismatch).

Install: apt-get install -y python3-torch (Debian bookworm: torch 1.13, OpenBLAS).
"""
import argparse
import json
import math
import os
import struct
import sys
import time


def _threads_from_argv(default=2):
    """--threads N, read before torch is imported: the thread pools are sized at import."""
    for i, a in enumerate(sys.argv):
        if a == '--threads' and i + 1 < len(sys.argv):
            return sys.argv[i + 1]
        if a.startswith('--threads='):
            return a.split('=', 1)[1]
    return str(default)


# Debian's torch runs GEMMs on the system OpenBLAS, whose own thread pool ignores torch.set_num_threads:
# without this, "1 thread" runs BLAS on 2, and "2 threads" oversubscribes 2 cores with OpenMP + OpenBLAS
# spinners (5-10x slower on a busy machine). Passive OpenMP waiting measured fastest for 2 threads here.
os.environ.setdefault('OPENBLAS_NUM_THREADS', _threads_from_argv())
os.environ.setdefault('OMP_NUM_THREADS', _threads_from_argv())
os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

V, T, N_LAYER, D, N_HEAD, D_MLP = 256, 64, 2, 128, 4, 512
PAIRS, PROMPT, RESPONSE = 16, 32, 32
BETA, LAMBDA, LAYER, EPS_LN, EPS_CORR = 0.1, 1e-4, 0, 1e-5, 1e-5


def param_shapes():
    """Parameter names (Hugging Face GPT-2, Conv1D weights stored [in, out]) and shapes, in our order."""
    shapes = {'wte.weight': (V, D), 'wpe.weight': (T, D)}
    for i in range(N_LAYER):
        h = f'h.{i}'
        shapes.update({
            f'{h}.ln_1.weight': (D,), f'{h}.ln_1.bias': (D,),
            f'{h}.attn.c_attn.weight': (D, 3 * D), f'{h}.attn.c_attn.bias': (3 * D,),
            f'{h}.attn.c_proj.weight': (D, D), f'{h}.attn.c_proj.bias': (D,),
            f'{h}.ln_2.weight': (D,), f'{h}.ln_2.bias': (D,),
            f'{h}.mlp.c_fc.weight': (D, D_MLP), f'{h}.mlp.c_fc.bias': (D_MLP,),
            f'{h}.mlp.c_proj.weight': (D_MLP, D), f'{h}.mlp.c_proj.bias': (D,),
        })
    shapes.update({'ln_f.weight': (D,), 'ln_f.bias': (D,)})
    return shapes


def init_params(seed):
    """GPT-2 initialisation (as `initParamArrays`): N(0, 0.02), residual projections / sqrt(2 n_layer)."""
    g = torch.Generator().manual_seed(seed)
    params = {}
    for name, shape in param_shapes().items():
        if '.ln_' in name or name.startswith('ln_f'):
            t = torch.ones(shape) if name.endswith('weight') else torch.zeros(shape)
        elif name.endswith('.weight'):
            std = 0.02 / math.sqrt(2 * N_LAYER) if name.endswith('c_proj.weight') else 0.01 if name == 'wpe.weight' else 0.02
            t = torch.randn(shape, generator=g) * std
        else:
            t = torch.zeros(shape)
        params[name] = t.requires_grad_()
    return params


def read_safetensors(path):
    """The F32 tensors of a safetensors file: 8-byte little-endian header length, JSON header, raw data."""
    with open(path, 'rb') as f:
        buf = f.read()
    (n,) = struct.unpack('<Q', buf[:8])
    header = json.loads(buf[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == '__metadata__':
            continue
        if info['dtype'] != 'F32':
            raise ValueError(f'{path}: tensor {name} has dtype {info["dtype"]}, expected F32')
        start, end = info['data_offsets']
        out[name] = np.frombuffer(buf[8 + n + start:8 + n + end], dtype='<f4').reshape(info['shape']).copy()
    return out


def forward(p, ids, tap_layer):
    """GPT-2 forward on ids [R, T]: final hidden state [R*T, D] after ln_f, and block `tap_layer`'s
    MLP neurons GELU(ln_2(x) W_fc + b) [R*T, d_mlp]."""
    R, Tn = ids.shape
    hd = D // N_HEAD
    x = (p['wte.weight'][ids] + p['wpe.weight'][:Tn]).view(R * Tn, D)
    mask = torch.triu(torch.ones(Tn, Tn, dtype=torch.bool), 1)
    tap = None
    for i in range(N_LAYER):
        h = f'h.{i}'
        a = F.layer_norm(x, (D,), p[f'{h}.ln_1.weight'], p[f'{h}.ln_1.bias'], EPS_LN)
        qkv = torch.addmm(p[f'{h}.attn.c_attn.bias'], a, p[f'{h}.attn.c_attn.weight'])
        q, k, v = (t.view(R, Tn, N_HEAD, hd).transpose(1, 2) for t in qkv.split(D, dim=1))
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hd))
        att = att.masked_fill(mask, float('-inf')).softmax(-1)
        y = (att @ v).transpose(1, 2).reshape(R * Tn, D)
        x = x + torch.addmm(p[f'{h}.attn.c_proj.bias'], y, p[f'{h}.attn.c_proj.weight'])
        m = F.layer_norm(x, (D,), p[f'{h}.ln_2.weight'], p[f'{h}.ln_2.bias'], EPS_LN)
        post = F.gelu(torch.addmm(p[f'{h}.mlp.c_fc.bias'], m, p[f'{h}.mlp.c_fc.weight']), approximate='tanh')
        if i == tap_layer:
            tap = post
        x = x + torch.addmm(p[f'{h}.mlp.c_proj.bias'], post, p[f'{h}.mlp.c_proj.weight'])
    return F.layer_norm(x, (D,), p['ln_f.weight'], p['ln_f.bias'], EPS_LN), tap


def pearson_gram(z):
    """Column-standardised Pearson matrix C = Zs^T Zs / n of z [n, d] (population variance, eps 1e-5)."""
    zc = z - z.mean(0, keepdim=True)
    zs = zc / torch.sqrt(zc.square().mean(0, keepdim=True) + EPS_CORR)
    return zs.t() @ zs / z.shape[0]


def decpo_loss(p, b, ref_chosen, ref_rejected):
    """DPO sigmoid loss mean(softplus(-beta h)) on summed response log-probs, plus LAMBDA * barlow:
    sum of squared off-diagonal Pearson correlations of block LAYER's neurons over the response tokens."""
    rows = b['ids'].shape[0]
    hidden, tap = forward(p, b['ids'], LAYER)
    logits = hidden[b['pred_idx']] @ p['wte.weight'].t()
    tok_lp = logits.log_softmax(-1).gather(1, b['targets'][:, None]).squeeze(1)
    logps = torch.zeros(rows).index_add(0, b['row_of_token'], tok_lp)
    pc, pr = logps[:rows // 2], logps[rows // 2:]
    h = (pc - ref_chosen) - (pr - ref_rejected)
    dpo = F.softplus(-BETA * h).mean()
    z = tap[b['resp_idx']]
    c = pearson_gram(z)
    off = c * (1 - torch.eye(c.shape[0]))
    penalty = off.square().sum()
    return dpo + LAMBDA * penalty, penalty, logps, z


def make_optimizer(p):
    """AdamW as our Stepper: weight decay 0.1 on matrices (rank >= 2) only."""
    decay = [t for t in p.values() if t.dim() >= 2]
    no_decay = [t for t in p.values() if t.dim() < 2]
    return torch.optim.AdamW([{'params': decay, 'weight_decay': 0.1}, {'params': no_decay, 'weight_decay': 0.0}],
                             lr=1e-4, betas=(0.9, 0.999), eps=1e-8)


def train_step(p, opt, b, ref_chosen, ref_rejected):
    """One DecPO step: loss, backward, clip to global norm 1, AdamW, and the step's metrics."""
    opt.zero_grad(set_to_none=True)
    loss, penalty, logps, z = decpo_loss(p, b, ref_chosen, ref_rejected)
    loss.backward()
    grad_norm = torch.nn.utils.clip_grad_norm_(list(p.values()), 1.0)
    opt.step()
    with torch.no_grad():
        c = pearson_gram(z)
        d = c.shape[0]
        mean_abs_corr = ((c * (1 - torch.eye(d))).abs().sum() / (d * (d - 1))).item()
    return {'loss': loss.item(), 'decorr/penalty': penalty.item(), 'grad_norm': grad_norm.item(),
            'decorr/mean_abs_corr': mean_abs_corr, 'logps': logps.detach()}


def random_batch(g):
    """Random pairs laid out as `preferenceBatch` does: rows of 64 tokens, response at positions 32..63."""
    rows = 2 * PAIRS
    prompts = torch.randint(0, V, (PAIRS, PROMPT), generator=g)
    responses = torch.randint(0, V, (rows, RESPONSE), generator=g)
    ids = torch.cat([prompts.repeat(2, 1), responses], 1)
    pos = torch.arange(PROMPT, PROMPT + RESPONSE)
    base = (torch.arange(rows) * T)[:, None]
    resp_idx = (base + pos).reshape(-1)
    return {'ids': ids, 'resp_idx': resp_idx, 'pred_idx': resp_idx - 1, 'targets': ids.reshape(-1)[resp_idx],
            'row_of_token': torch.arange(rows).repeat_interleave(RESPONSE)}


def bench(steps, warmup, threads):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(1234)
    p = init_params(1)
    opt = make_optimizer(p)
    batches = []
    for _ in range(4):
        ref = -RESPONSE * math.log(V) + torch.randn(2, PAIRS, generator=g)
        batches.append((random_batch(g), ref[0], ref[1]))
    times, cpu = [], []
    for i in range(warmup + steps):
        b, rc, rr = batches[i % len(batches)]
        c0 = time.process_time()
        t0 = time.perf_counter()
        train_step(p, opt, b, rc, rr)
        if i >= warmup:
            times.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.process_time() - c0) * 1000)
    med = float(np.median(times))
    print(json.dumps({
        'bench': 'train', 'backend': 'pytorch-cpu', 'step': 'decpo', 'threads': threads,
        'device': f'torch {torch.__version__}, OpenBLAS {os.environ["OPENBLAS_NUM_THREADS"]} threads, '
                  f'OMP {os.environ["OMP_WAIT_POLICY"].lower()}',
        'tokens_per_s': round(2 * PAIRS * (PROMPT + RESPONSE) * 1000 / med, 1), 'ms_per_step': round(med, 2),
        'ms_min': round(min(times), 2), 'ms_max': round(max(times), 2),
        'cpu_ms_per_step': round(float(np.median(cpu)), 2), 'steps': steps,
    }))


def check(folder):
    """Compares PyTorch's loss, penalty, log-probs and gradient norm with ours on the same weights and batch."""
    arrays = read_safetensors(os.path.join(folder, 'model.safetensors'))
    with open(os.path.join(folder, 'batch.json')) as f:
        raw = json.load(f)
    with open(os.path.join(folder, 'expected.json')) as f:
        expected = json.load(f)
    p = {}
    for name, shape in param_shapes().items():
        if name not in arrays:
            raise ValueError(f'{folder}/model.safetensors: missing {name}')
        if tuple(arrays[name].shape) != shape:
            raise ValueError(f'{folder}/model.safetensors: {name} has shape {arrays[name].shape}, expected {shape}')
        p[name] = torch.from_numpy(arrays[name]).double().requires_grad_()
    rows = 2 * raw['pairs']
    b = {'ids': torch.tensor(raw['ids']).view(rows, raw['T'])}
    for k, js in [('pred_idx', 'predIdx'), ('targets', 'targets'), ('row_of_token', 'rowOfToken'), ('resp_idx', 'respIdx')]:
        b[k] = torch.tensor(raw[js])
    torch.set_default_dtype(torch.float64)
    loss, penalty, logps, _ = decpo_loss(p, b, torch.tensor(raw['refChosen']), torch.tensor(raw['refRejected']))
    loss.backward()
    grad_norm = torch.sqrt(sum(t.grad.square().sum() for t in p.values())).item()
    got = {'loss': loss.item(), 'decorr/penalty': penalty.item(), 'grad_norm': grad_norm}
    ok = True
    for k, v in got.items():
        rel = abs(v - expected[k]) / max(abs(expected[k]), 1e-12)
        ok &= rel < 1e-5
        print(f'{k:16s} ours {expected[k]:.7g}  torch (float64) {v:.7g}  rel.diff {rel:.1e}')
    diff = float((logps - torch.tensor(expected['logps'])).abs().max())
    ok &= diff < 1e-3
    print(f'logps            max |ours - torch| = {diff:.2e} (values near {float(logps.mean()):.1f})')
    print('check: OK' if ok else 'check: MISMATCH')
    return 0 if ok else 1


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--steps', type=int, default=20)
    ap.add_argument('--warmup', type=int, default=3)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--check', metavar='DIR', help='compare with the files of `bench/train.ts --export-check DIR`')
    a = ap.parse_args()
    if a.check:
        sys.exit(check(a.check))
    bench(a.steps, a.warmup, a.threads)
