"""Float64 building blocks shared by the reference forward passes, and the random-weight draws.

Everything here works on torch float64 tensors laid out [batch, time, width] (attention: [batch, heads,
time, head_dim]).
"""

import math

import numpy as np
import torch

STD = 0.2  # std of random matrices, and of norm weights around 1 and biases around 0


def normal(rng: np.random.Generator, *shape) -> np.ndarray:
    """A float32 array of N(0, STD^2) entries."""
    return (rng.standard_normal(shape) * STD).astype(np.float32)


def norm_weight(rng: np.random.Generator, n: int) -> np.ndarray:
    """A float32 norm scale 1 + N(0, STD^2), far enough from 1 that it matters."""
    return (1 + rng.standard_normal(n) * STD).astype(np.float32)


def layer_norm(x, weight, bias, eps: float):
    """LayerNorm (Ba et al. 2016): (x - mean) / sqrt(var + eps) * weight + bias, biased variance."""
    mean = x.mean(-1, keepdim=True)
    var = ((x - mean) ** 2).mean(-1, keepdim=True)
    return (x - mean) / torch.sqrt(var + eps) * weight + bias


def gelu_tanh(x):
    """GELU, tanh approximation (Hendrycks & Gimpel 2016; HF "gelu_new"):
    0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""
    return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))


def gelu_erf(x):
    """Exact GELU: x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2))."""
    return 0.5 * x * (1 + torch.erf(x / math.sqrt(2)))


def silu(x):
    """SiLU / swish: x * sigmoid(x)."""
    return x * torch.sigmoid(x)


# Hugging Face's ACT2FN names -> functions.
ACTIVATIONS = {
    "gelu": gelu_erf,
    "gelu_new": gelu_tanh,
    "gelu_pytorch_tanh": gelu_tanh,
    "relu": torch.relu,
    "silu": silu,
    "swish": silu,
}


def activation(name: str):
    """The activation function Hugging Face calls `name`."""
    if name not in ACTIVATIONS:
        raise ValueError(f"unsupported activation {name}")
    return ACTIVATIONS[name]


def split_heads(x, heads: int):
    """[B, T, heads * d] -> [B, heads, T, d]."""
    b, t, _ = x.shape
    return x.view(b, t, heads, -1).transpose(1, 2)


def merge_heads(x):
    """[B, heads, T, d] -> [B, T, heads * d]."""
    b, h, t, d = x.shape
    return x.transpose(1, 2).reshape(b, t, h * d)


def softcap(x, cap: float = None):
    """Soft-capping (Gemma 2): cap * tanh(x / cap), or x when cap is None."""
    return x if cap is None else cap * torch.tanh(x / cap)


def causal_attention(q, k, v, scale: float, window: int = None, cap: float = None):
    """softmax(softcap(q k^T * scale, cap) + mask) v per head: query i sees keys j <= i, and with a window only
    the last `window` of them (i - window < j <= i)."""
    t = q.shape[-2]
    i = torch.arange(t).view(t, 1)
    j = torch.arange(t).view(1, t)
    allowed = j <= i
    if window is not None:
        allowed = allowed & (j > i - window)
    scores = softcap((q @ k.transpose(-1, -2)) * scale, cap)
    scores = scores.masked_fill(~allowed, -math.inf)
    return torch.softmax(scores, dim=-1) @ v


def rope_inv_freq(dim: int, theta: float):
    """RoPE frequencies (Su et al. 2021): theta^(-2i/dim) for i = 0 .. dim/2 - 1."""
    return 1.0 / theta ** (torch.arange(0, dim, 2, dtype=torch.float64) / dim)


def rotate_half(x):
    """(x1, x2) -> (-x2, x1) for the two halves of the last axis."""
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def apply_rope(x, positions, inv_freq):
    """Rotates x [.., T, d] (d = 2 * len(inv_freq)) by position * inv_freq in the "rotate_half" pairing
    (dimension k pairs with k + d/2), as GPT-NeoX and Llama do: x cos + rotate_half(x) sin."""
    angles = positions.to(torch.float64).view(-1, 1) * inv_freq.view(1, -1)
    angles = torch.cat((angles, angles), dim=-1)
    return x * torch.cos(angles) + rotate_half(x) * torch.sin(angles)
