"""The BatchTopK crosscoder training step in PyTorch (float32), for `npm run bench:crosscoder`.

Written from the method's definition (Bussmann et al. 2024, arXiv 2412.06410; Minder et al. 2025, arXiv
2504.02922), not from our TypeScript: X = [x^1 s_1, ..., x^n s_n] [B, n*d_in]; pre = X W_enc + b_enc;
the values ranked are ReLU(pre)_i * c_i with c_i the sum over models of ||d_i^m||; the k*B largest of the
batch are kept; loss = mean_b ||X - (f W_dec + b_dec)||^2 + AuxK / 32, AuxK the squared error of the
top d_in/2 dead latents of each row (dead: no kept value for max(B, 0.1*steps*B) tokens) against the
detached residual (Gao et al. 2024, App. A.2); Adam. The same shapes and rule as bench/crosscoder.ts.

Usage: bench_crosscoder.py MODELS D_IN LATENTS K BATCH STEPS WARMUP THREADS
Prints one JSON object: ms_per_step (median of the timed steps) and tokens_per_s.
"""
import json
import sys
import time

import torch

n, d, h, k, batch, steps, warmup, threads = (int(a) for a in sys.argv[1:9])
torch.set_num_threads(threads)
torch.manual_seed(0)
width = n * d
rows = 8 * batch
data = torch.randn(rows, width)
w_dec = torch.randn(h, n, d)
w_dec = (w_dec / w_dec.norm(dim=2, keepdim=True)).reshape(h, width)
w_dec.requires_grad_(True)
w_enc = w_dec.detach().t().clone().requires_grad_(True)
b_enc = torch.zeros(h, requires_grad=True)
b_dec = data.mean(0).clone().requires_grad_(True)
params = [w_enc, b_enc, w_dec, b_dec]
opt = torch.optim.Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
total = warmup + steps
window = max(batch, int(0.1 * total * batch))
k_aux = d // 2
since_fired = torch.zeros(h)
times = []
for step in range(total):
    t0 = time.perf_counter()
    lo = (step * batch) % rows
    x = data[lo : lo + batch]
    pre = x @ w_enc + b_enc
    act = torch.relu(pre)
    with torch.no_grad():
        c = w_dec.reshape(h, n, d).norm(dim=2).sum(1)
        values = act * c
        flat = values.flatten()
        kept = torch.topk(flat, k * batch, sorted=False).indices
        mask = torch.zeros_like(flat)
        mask[kept] = 1.0
        mask = mask.reshape(batch, h)
        fired = ((mask > 0) & (values > 0)).any(0)
        since_fired = torch.where(fired, torch.zeros_like(since_fired), since_fired + batch)
        dead = (since_fired >= window).nonzero().flatten()
    recon = (act * mask) @ w_dec + b_dec
    err = x - recon
    mse = err.pow(2).sum(1).mean()
    loss = mse
    if dead.numel() > 0:
        with torch.no_grad():
            top = torch.topk(values[:, dead], min(k_aux, dead.numel()), dim=1).indices
            aux_mask = torch.zeros(batch, h)
            aux_mask.scatter_(1, dead[top], 1.0)
        aux = (err.detach() - (act * aux_mask) @ w_dec).pow(2).sum(1).mean()
        loss = loss + aux / 32
    opt.zero_grad()
    loss.backward()
    opt.step()
    loss.item()
    if step >= warmup:
        times.append((time.perf_counter() - t0) * 1000)
times.sort()
med = times[len(times) // 2] if len(times) % 2 else (times[len(times) // 2 - 1] + times[len(times) // 2]) / 2
print(json.dumps({
    "torch": torch.__version__,
    "threads": threads,
    "ms_per_step": round(med, 1),
    "tokens_per_s": round(batch * 1000 / med),
}))
