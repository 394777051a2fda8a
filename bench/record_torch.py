#!/usr/bin/env python3
"""The PyTorch side of `npm run bench:record`: a float32 forward pass of the same checkpoint over the same
token windows, keeping the same taps (every block's MLP activation, `blocks.*.mlp.post`), on the CPU.

    /usr/bin/python3 bench/record_torch.py --checkpoint DIR --windows FILE.json [--batch 32] [--pad 1]
        [--threads 2]
prints one JSON object: {"torch_seconds", "tokens", "torch_tokens_per_s", "torch_peak_rss_mb", ...}.

FILE.json is a list of token-id windows. They run `--batch` windows at a time, right-padded with `--pad` to
the longest window, as our recording pads a batch (src/core/record/record.ts). Each block's MLP activation
is copied out as float16 (what our store keeps) as soon as it is computed, and dropped after the batch.
No logits are computed: our recording stops after the last block too. `torch_seconds` is the wall time of
the forward passes alone (the checkpoint is read before the clock starts).

The forward passes (GPT-2 and GPT-NeoX) are written here in float32 from Hugging Face's modeling_gpt2.py
and modeling_gpt_neox.py, the definitions test/python/reference/ implements in float64;
    /usr/bin/python3 bench/record_torch.py --check
compares this forward's taps with those references on their tiny random checkpoints (exit code 1 when
they differ by more than 1e-4 of the largest activation).

Threads: like bench/train_torch.py, OpenMP and Debian's OpenBLAS are both sized to `--threads` before
torch is imported.
"""
import argparse
import json
import math
import os
import resource
import struct
import sys
import time


def _threads_from_argv(default=2):
    """--threads N, read before torch is imported: the thread pools are sized at import."""
    for i, a in enumerate(sys.argv):
        if a == '--threads' and i + 1 < len(sys.argv):
            return sys.argv[i + 1]
    return str(default)


os.environ.setdefault('OPENBLAS_NUM_THREADS', _threads_from_argv())
os.environ.setdefault('OMP_NUM_THREADS', _threads_from_argv())
os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

TAP = 'blocks.{}.mlp.post'


def read_f32_checkpoint(dir):
    """(config, name -> float32 tensor) of a folder with one F32 model.safetensors (8-byte header length,
    JSON header, raw little-endian data), without widening."""
    with open(os.path.join(dir, 'config.json')) as f:
        config = json.load(f)
    path = os.path.join(dir, 'model.safetensors')
    blob = bytearray(os.path.getsize(path))
    with open(path, 'rb') as f:
        f.readinto(blob)
    (n,) = struct.unpack('<Q', blob[:8])
    header = json.loads(blob[8:8 + n])
    header.pop('__metadata__', None)
    weights = {}
    for name, e in header.items():
        if e['dtype'] != 'F32':
            sys.exit(f'{dir}: tensor {name} is {e["dtype"]}; this benchmark reads F32 checkpoints')
        start, end = (8 + n + o for o in e['data_offsets'])
        weights[name] = torch.from_numpy(np.frombuffer(blob, np.float32, (end - start) // 4, start).reshape(e['shape']))
    return config, weights


def causal_attention(q, k, v, mask):
    """softmax(q k^T / sqrt(head_dim), causal) v for q, k, v [B, heads, T, head_dim]."""
    scores = (q @ k.transpose(-1, -2)) * (1 / math.sqrt(q.shape[-1]))
    return torch.softmax(scores.masked_fill(mask, -math.inf), dim=-1) @ v


def heads_of(x, heads):
    """[B, T, heads * d] -> [B, heads, T, d]."""
    b, t, _ = x.shape
    return x.view(b, t, heads, -1).transpose(1, 2)


def merged(z):
    """[B, heads, T, d] -> [B, T, heads * d]."""
    b, h, t, d = z.shape
    return z.transpose(1, 2).reshape(b, t, h * d)


def gpt2_blocks(config, w, ids, keep):
    """GPT-2's blocks: pre-LN, learned positions, Conv1D weights stored [in, out], tanh GELU ("gelu_new").
    Calls keep(i, mlp activation) per block."""
    d, heads, eps = config['n_embd'], config['n_head'], config['layer_norm_epsilon']
    t = ids.shape[1]
    mask = torch.ones(t, t, dtype=torch.bool).triu(1)
    approximate = 'none' if config.get('activation_function') == 'gelu' else 'tanh'
    x = w['transformer.wte.weight'][ids] + w['transformer.wpe.weight'][:t]
    for i in range(config['n_layer']):
        p = f'transformer.h.{i}.'

        def conv1d(name, h):
            return torch.addmm(w[name + '.bias'], h.reshape(-1, h.shape[-1]), w[name + '.weight']).view(
                *h.shape[:-1], -1)

        h = F.layer_norm(x, (d,), w[p + 'ln_1.weight'], w[p + 'ln_1.bias'], eps)
        q, k, v = conv1d(p + 'attn.c_attn', h).split(d, dim=-1)
        z = causal_attention(heads_of(q, heads), heads_of(k, heads), heads_of(v, heads), mask)
        x = x + conv1d(p + 'attn.c_proj', merged(z))
        h = F.layer_norm(x, (d,), w[p + 'ln_2.weight'], w[p + 'ln_2.bias'], eps)
        post = F.gelu(conv1d(p + 'mlp.c_fc', h), approximate=approximate)
        keep(i, post)
        x = x + conv1d(p + 'mlp.c_proj', post)


def gpt_neox_blocks(config, w, ids, keep, linear=None):
    """GPT-NeoX's blocks: fused query_key_value laid out per head as [q_h, k_h, v_h]; RoPE ("rotate_half"
    pairing) on the first int(head_dim * rotary_pct) dims of q and k; exact GELU; with
    use_parallel_residual x + attn(ln1(x)) + mlp(ln2(x)), else h = x + attn(ln1(x)), h + mlp(ln2(h)).
    Calls keep(i, mlp activation) per block and returns the last block's output [B, T, d] (before the final
    layer norm). `linear(module, h)` applies a block's linear layer (default: its weight and bias; the
    training benchmark passes one with LoRA). Runs in the weights' dtype."""
    d, heads, eps = config['hidden_size'], config['num_attention_heads'], config['layer_norm_eps']
    head_dim = d // heads
    rot = int(head_dim * config.get('rotary_pct', 0.25))
    theta = config.get('rotary_emb_base', 10000)
    b, t = ids.shape
    mask = torch.ones(t, t, dtype=torch.bool).triu(1)
    inv_freq = 1.0 / theta ** (torch.arange(0, rot, 2, dtype=torch.float64) / rot)
    angles = torch.arange(t, dtype=torch.float64).view(-1, 1) * inv_freq.view(1, -1)
    angles = torch.cat((angles, angles), dim=-1)
    dtype = w['gpt_neox.embed_in.weight'].dtype
    cos, sin = angles.cos().to(dtype), angles.sin().to(dtype)

    def rope(x):
        r, rest = x[..., :rot], x[..., rot:]
        half = torch.cat((-r[..., rot // 2:], r[..., :rot // 2]), dim=-1)
        return torch.cat((r * cos + half * sin, rest), dim=-1)

    if linear is None:
        def linear(name, h):
            return F.linear(h, w[name + '.weight'], w.get(name + '.bias'))

    parallel = config.get('use_parallel_residual', True)
    x = w['gpt_neox.embed_in.weight'][ids]
    for i in range(config['num_hidden_layers']):
        p = f'gpt_neox.layers.{i}.'
        h = F.layer_norm(x, (d,), w[p + 'input_layernorm.weight'], w[p + 'input_layernorm.bias'], eps)
        qkv = linear(p + 'attention.query_key_value', h).view(b, t, heads, 3 * head_dim).transpose(1, 2)
        q, k, v = qkv.split(head_dim, dim=-1)
        attn = linear(p + 'attention.dense', merged(causal_attention(rope(q), rope(k), v, mask)))
        mlp_in = x if parallel else x + attn
        h = F.layer_norm(mlp_in, (d,), w[p + 'post_attention_layernorm.weight'],
                         w[p + 'post_attention_layernorm.bias'], eps)
        post = F.gelu(linear(p + 'mlp.dense_h_to_4h', h))
        keep(i, post)
        x = x + attn + linear(p + 'mlp.dense_4h_to_h', post)
    return x


BLOCKS = {'gpt2': gpt2_blocks, 'gpt_neox': gpt_neox_blocks}


def blocks_of(config):
    kind = config.get('model_type')
    if kind not in BLOCKS:
        sys.exit(f'record_torch.py: model_type {kind!r} is not one of {", ".join(BLOCKS)}')
    return BLOCKS[kind]


def bench(args):
    config, weights = read_f32_checkpoint(args.checkpoint)
    blocks = blocks_of(config)
    with open(args.windows) as f:
        windows = json.load(f)
    width = max(len(s) for s in windows)
    tokens = sum(len(s) for s in windows)
    stored = 0
    start = time.perf_counter()
    with torch.no_grad():
        for b0 in range(0, len(windows), args.batch):
            batch = windows[b0:b0 + args.batch]
            ids = torch.full((len(batch), width), args.pad, dtype=torch.long)
            for j, s in enumerate(batch):
                ids[j, :len(s)] = torch.tensor(s)
            taps = {}
            blocks(config, weights, ids, lambda i, post: taps.__setitem__(TAP.format(i), post.half()))
            stored += sum(t.numel() for t in taps.values())
    seconds = time.perf_counter() - start
    print(json.dumps({
        'torch_seconds': round(seconds, 3),
        'tokens': tokens,
        'torch_tokens_per_s': round(tokens / seconds, 1),
        'torch_peak_rss_mb': round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        'torch_threads': torch.get_num_threads(),
        'torch_values_kept': stored,
        'torch': torch.__version__,
    }))


def check():
    """This float32 forward against the float64 references, on each reference's tiny random checkpoint."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '../test/python/reference'))
    import importlib
    worst = 0.0
    for kind, module in (('gpt2', 'arch_gpt2'), ('gpt_neox', 'arch_gpt_neox')):
        arch = importlib.import_module(module)
        for parallel in (True, False) if kind == 'gpt_neox' else (True,):
            config = arch.tiny_config(kind, use_parallel_residual=parallel)
            arrays = arch.random_weights(config, 3)
            ids = torch.randint(0, config['vocab_size'], (2, 17), generator=torch.Generator().manual_seed(5))
            with torch.no_grad():
                _, want = arch.forward(config, {k: torch.from_numpy(a).double() for k, a in arrays.items()}, ids)
                got = {}
                BLOCKS[kind](config, {k: torch.from_numpy(a) for k, a in arrays.items()}, ids,
                             lambda i, post: got.__setitem__(TAP.format(i), post))
            for name, ours in got.items():
                ref = want[name]
                err = ((ours.double() - ref).abs().max() / max(1.0, ref.abs().max().item())).item()
                print(f'{kind} parallel={parallel} {name}: max error / scale {err:.2e}')
                worst = max(worst, err)
    sys.exit(0 if worst <= 1e-4 else 1)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--checkpoint')
    parser.add_argument('--windows')
    parser.add_argument('--batch', type=int, default=32)
    parser.add_argument('--pad', type=int, default=1)
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--check', action='store_true')
    args = parser.parse_args()
    if args.check:
        check()
    elif not (args.checkpoint and args.windows):
        parser.error('--checkpoint and --windows are required (or --check)')
    else:
        bench(args)


if __name__ == '__main__':
    main()
