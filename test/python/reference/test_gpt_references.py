"""Self-checks of hf_io.py, run.py and the GPT-2 / GPT-NeoX / GPT-Neo references, against torch's own
conversions and attention and against properties that hold whatever the weights.

Run: /usr/bin/python3 -m unittest discover -s test/python/reference
"""

import json
import math
import os
import struct
import subprocess
import sys
import tempfile
import unittest

import numpy as np
import torch
from torch.nn.functional import gelu
from torch.nn.functional import layer_norm as torch_layer_norm

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import arch_gpt2  # noqa: E402
import arch_gpt_neo  # noqa: E402
import arch_gpt_neox  # noqa: E402
from hf_io import load_checkpoint, read_safetensors, save_checkpoint, to_bf16_bits  # noqa: E402
from layers import apply_rope, gelu_erf, gelu_tanh, layer_norm, rope_inv_freq  # noqa: E402

ARCHS = {"gpt2": arch_gpt2, "gpt_neox": arch_gpt_neox, "gpt_neo": arch_gpt_neo}
TORCH_DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}


def build(model_type: str, seed: int = 0, **overrides):
    """(config, float64 torch weights) of a tiny random model."""
    arch = ARCHS[model_type]
    config = arch.tiny_config(model_type, **overrides)
    weights = arch.random_weights(config, seed)
    return config, {name: torch.from_numpy(w).double() for name, w in weights.items()}


def run(model_type: str, config: dict, weights: dict, ids: list):
    with torch.no_grad():
        return ARCHS[model_type].forward(config, weights, torch.tensor(ids))


IDS = [[5, 17, 299, 2, 41, 99, 7, 250, 13, 64], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]]


def torch_attention(x, q, k, v, o, heads: int, mask):
    """torch.nn.MultiheadAttention (scores scaled by 1/sqrt(head_dim)) on x [B, T, D]; q, k, v, o are
    (weight [out, in], bias or None) pairs; `mask` [T, T] is True where a key is hidden."""
    d = x.shape[-1]
    mha = torch.nn.MultiheadAttention(d, heads, batch_first=True, dtype=torch.float64)

    def bias(pair):
        return torch.zeros(d, dtype=torch.float64) if pair[1] is None else pair[1]

    with torch.no_grad():
        mha.in_proj_weight.copy_(torch.cat((q[0], k[0], v[0])))
        mha.in_proj_bias.copy_(torch.cat((bias(q), bias(k), bias(v))))
        mha.out_proj.weight.copy_(o[0])
        mha.out_proj.bias.copy_(bias(o))
        return mha(x, x, x, attn_mask=mask, need_weights=False)[0]


def causal_mask(t: int, window: int = None):
    i = torch.arange(t).view(t, 1)
    j = torch.arange(t).view(1, t)
    hidden = j > i
    return hidden | (j <= i - window) if window else hidden


class HfIoTest(unittest.TestCase):
    def test_bf16_rounding_matches_torch(self):
        rng = np.random.default_rng(1)
        x = rng.standard_normal(4000).astype(np.float32) * 10.0 ** rng.integers(-6, 6, 4000)
        # Exact ties (low 16 bits 0x8000) with even and odd upper halves, and the largest values.
        ties = np.array([0x3F808000, 0x3F818000, 0xBF808000, 0x7F7FFFFF, 0x00018000], dtype=np.uint32)
        x = np.concatenate([x, ties.view(np.float32)])
        expected = torch.from_numpy(x).to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16)
        np.testing.assert_array_equal(to_bf16_bits(x), expected)

    def test_round_trip_every_dtype_and_sharding(self):
        config, _ = build("gpt2")
        weights = arch_gpt2.random_weights(config, 3)
        for dtype in ("F32", "F16", "BF16"):
            for shards in (1, 3):
                with self.subTest(dtype=dtype, shards=shards), tempfile.TemporaryDirectory() as d:
                    save_checkpoint(d, config, weights, dtype, shards)
                    loaded_config, loaded = load_checkpoint(d)
                    torch_dtype = {"F32": "float32", "F16": "float16", "BF16": "bfloat16"}[dtype]
                    self.assertEqual(loaded_config["torch_dtype"], torch_dtype)
                    self.assertEqual(sorted(loaded), sorted(weights))
                    for name, w in weights.items():
                        self.assertEqual(loaded[name].dtype, torch.float64)
                        want = torch.from_numpy(w).to(TORCH_DTYPES[dtype]).double()
                        self.assertTrue(torch.equal(loaded[name], want), name)
                    self.check_files(d, weights, dtype, shards)

    def check_files(self, d: str, weights: dict, dtype: str, shards: int):
        """The files save_pretrained would write: headers, offsets, shard names and the index."""
        if shards == 1:
            files = ["model.safetensors"]
            self.assertFalse(os.path.exists(os.path.join(d, "model.safetensors.index.json")))
        else:
            files = [f"model-{k:05d}-of-{shards:05d}.safetensors" for k in range(1, shards + 1)]
            with open(os.path.join(d, "model.safetensors.index.json")) as f:
                index = json.load(f)
            itemsize = {"F32": 4, "F16": 2, "BF16": 2}[dtype]
            total = sum(w.size * itemsize for w in weights.values())
            self.assertEqual(index["metadata"]["total_size"], total)
            self.assertEqual(sorted(index["weight_map"]), sorted(weights))
            # Name order, split into consecutive runs, one run per file.
            order = [index["weight_map"][name] for name in sorted(weights)]
            self.assertEqual(order, sorted(order))
            self.assertEqual(sorted(set(order)), files)
        self.assertEqual(sorted(f for f in os.listdir(d) if f.endswith(".safetensors")), files)
        for file in files:
            with open(os.path.join(d, file), "rb") as f:
                blob = f.read()
            (n,) = struct.unpack("<Q", blob[:8])
            self.assertEqual(n % 8, 0)
            header = json.loads(blob[8 : 8 + n])
            self.assertEqual(header.pop("__metadata__"), {"format": "pt"})
            end = 0
            for name in sorted(header, key=lambda k: header[k]["data_offsets"][0]):
                entry = header[name]
                self.assertEqual(entry["dtype"], dtype)
                self.assertEqual(entry["shape"], list(weights[name].shape))
                self.assertEqual(entry["data_offsets"][0], end)
                end = entry["data_offsets"][1]
            self.assertEqual(8 + n + end, len(blob))


class ArchitectureTest(unittest.TestCase):
    def test_causal_and_batch_independent(self):
        for model_type in ARCHS:
            with self.subTest(model_type):
                config, w = build(model_type)
                logits, taps = run(model_type, config, w, IDS)
                changed = [IDS[0][:-1] + [IDS[0][-1] + 1], IDS[1]]
                logits2, taps2 = run(model_type, config, w, changed)
                self.assertTrue(torch.equal(logits[:, :-1], logits2[:, :-1]))
                self.assertFalse(torch.allclose(logits[0, -1], logits2[0, -1]))
                for name in taps:
                    self.assertTrue(torch.equal(taps[name][:, :-1], taps2[name][:, :-1]))
                alone, _ = run(model_type, config, w, IDS[1:])
                self.assertTrue(torch.allclose(alone[0], logits[1], rtol=0, atol=1e-12))

    def test_taps_add_up(self):
        sequential_neox = ("gpt_neox", {"use_parallel_residual": False})
        cases = [("gpt2", {}), ("gpt_neo", {}), ("gpt_neox", {}), sequential_neox]
        for model_type, overrides in cases:
            with self.subTest(model_type, **overrides):
                config, w = build(model_type, **overrides)
                logits, taps = run(model_type, config, w, IDS)
                layers = sum(1 for name in taps if name.endswith(".resid_pre"))
                self.assertEqual(layers, 2)
                sequential = config.get("use_parallel_residual") is not True
                for i in range(layers):
                    t = lambda k: taps[f"blocks.{i}.{k}"]  # noqa: E731
                    torch.testing.assert_close(t("resid_post"), t("resid_pre") + t("attn_out") + t("mlp_out"))
                    self.assertEqual(f"blocks.{i}.resid_mid" in taps, sequential)
                    if sequential:
                        torch.testing.assert_close(t("resid_mid"), t("resid_pre") + t("attn_out"))
                    if i + 1 < layers:
                        self.assertTrue(torch.equal(taps[f"blocks.{i + 1}.resid_pre"], t("resid_post")))
                    self.assertEqual(t("mlp.pre").shape, t("mlp.post").shape)
                    self.assertNotIn(f"blocks.{i}.mlp.pre_linear", taps)
                self.assertEqual(logits.shape, (2, 10, config["vocab_size"]))

    def test_every_parameter_matters(self):
        for model_type in ARCHS:
            config, w = build(model_type)
            logits, _ = run(model_type, config, w, IDS)
            noise = torch.Generator().manual_seed(0)
            for name in w:
                with self.subTest(model_type, name=name):
                    # Random, not constant: LayerNorm cancels a constant added to every feature.
                    delta = torch.randn(w[name].shape, generator=noise, dtype=torch.float64)
                    bumped = dict(w, **{name: w[name] + 0.1 * delta})
                    self.assertFalse(torch.allclose(run(model_type, config, bumped, IDS)[0], logits), name)

    def test_torch_functionals_agree(self):
        x = torch.linspace(-6, 6, 1001, dtype=torch.float64)
        torch.testing.assert_close(gelu_tanh(x), gelu(x, approximate="tanh"))
        torch.testing.assert_close(gelu_erf(x), gelu(x))
        y = torch.randn(3, 5, 16, dtype=torch.float64)
        g, b = torch.randn(16, dtype=torch.float64), torch.randn(16, dtype=torch.float64)
        torch.testing.assert_close(layer_norm(y, g, b, 1e-5), torch_layer_norm(y, (16,), g, b, 1e-5))


class Gpt2Test(unittest.TestCase):
    def test_layout(self):
        config, w = build("gpt2")
        d = config["n_embd"]
        self.assertEqual(tuple(w["transformer.h.0.attn.c_attn.weight"].shape), (d, 3 * d))
        self.assertEqual(tuple(w["transformer.h.1.mlp.c_fc.weight"].shape), (d, 4 * d))
        self.assertEqual(tuple(w["transformer.wpe.weight"].shape), (config["n_positions"], d))
        self.assertNotIn("lm_head.weight", w)
        _, w = build("gpt2", n_inner=40)
        self.assertEqual(tuple(w["transformer.h.0.mlp.c_proj.weight"].shape), (40, d))
        _, w = build("gpt2", tie_word_embeddings=False)
        self.assertEqual(tuple(w["lm_head.weight"].shape), (config["vocab_size"], d))

    def test_block_matches_torch(self):
        """Block 0's attention and MLP against torch's MultiheadAttention, layer_norm and tanh GELU."""
        config, w = build("gpt2")
        _, taps = run("gpt2", config, w, IDS)
        p = "transformer.h.0."
        x = taps["blocks.0.resid_pre"]
        h = torch_layer_norm(x, (48,), w[p + "ln_1.weight"], w[p + "ln_1.bias"], 1e-5)
        q, k, v = zip(w[p + "attn.c_attn.weight"].T.split(48), w[p + "attn.c_attn.bias"].split(48))
        o = (w[p + "attn.c_proj.weight"].T, w[p + "attn.c_proj.bias"])
        want = torch_attention(h, q, k, v, o, 4, causal_mask(10))
        torch.testing.assert_close(taps["blocks.0.attn_out"], want)
        ln = (w[p + "ln_2.weight"], w[p + "ln_2.bias"])
        h = torch_layer_norm(taps["blocks.0.resid_mid"], (48,), *ln, 1e-5)
        pre = torch.nn.functional.linear(h, w[p + "mlp.c_fc.weight"].T, w[p + "mlp.c_fc.bias"])
        torch.testing.assert_close(taps["blocks.0.mlp.post"], gelu(pre, approximate="tanh"))


class GptNeoXTest(unittest.TestCase):
    def test_layout(self):
        config, w = build("gpt_neox")
        d = config["hidden_size"]
        self.assertEqual(config["rotary_pct"], 0.25)
        self.assertEqual(tuple(w["gpt_neox.layers.0.attention.query_key_value.weight"].shape), (3 * d, d))
        self.assertEqual(tuple(w["embed_out.weight"].shape), (config["vocab_size"], d))
        self.assertIn("gpt_neox.final_layer_norm.bias", w)

    def test_rope_depends_on_relative_position_only(self):
        inv_freq = rope_inv_freq(8, 10000.0)
        q, k = torch.randn(1, 8, dtype=torch.float64), torch.randn(1, 8, dtype=torch.float64)

        def dot(m, n):
            rotated_q = apply_rope(q, torch.tensor([m]), inv_freq)
            return (rotated_q * apply_rope(k, torch.tensor([n]), inv_freq)).sum()

        torch.testing.assert_close(dot(7, 3), dot(4, 0))
        torch.testing.assert_close(dot(20, 11), dot(9, 0))
        self.assertFalse(torch.allclose(dot(7, 3), dot(7, 4)))

    def test_rope_is_a_complex_rotation(self):
        """Dims k and k + d/2 form z = x_k + i x_(k+d/2), turned by m * theta^(-2k/d) at position m."""
        x = torch.randn(5, 8, dtype=torch.float64)
        positions = torch.arange(5)
        angles = positions.view(5, 1) * 10000.0 ** (-torch.arange(4, dtype=torch.float64) * 2 / 8)
        z = torch.complex(x[:, :4], x[:, 4:]) * torch.polar(torch.ones_like(angles), angles)
        rotated = apply_rope(x, positions, rope_inv_freq(8, 10000.0))
        torch.testing.assert_close(rotated, torch.cat((z.real, z.imag), -1))

    def test_rotary_spellings(self):
        config, w = build("gpt_neox", rotary_pct=0.5, rotary_emb_base=100)
        logits, _ = run("gpt_neox", config, w, IDS)
        newer = {k: v for k, v in config.items() if k not in ("rotary_pct", "rotary_emb_base")}
        spellings = [
            {"partial_rotary_factor": 0.5, "rope_theta": 100},
            {"rope_parameters": {"rope_type": "default", "partial_rotary_factor": 0.5, "rope_theta": 100}},
        ]
        for spelling in spellings:
            with self.subTest(**spelling):
                self.assertTrue(torch.equal(run("gpt_neox", {**newer, **spelling}, w, IDS)[0], logits))
        for other in ({"rotary_pct": 0.25}, {"rotary_emb_base": 10000}):
            self.assertFalse(torch.allclose(run("gpt_neox", {**config, **other}, w, IDS)[0], logits))

    def test_attention_matches_torch_without_rotary(self):
        """With no rotary dims, attention is plain multi-head attention once the per-head [q_h, k_h, v_h]
        rows of query_key_value are regrouped as [Q; K; V]; this pins the fused layout and 1/sqrt(d)."""
        config, w = build("gpt_neox", rotary_pct=0.0)
        _, taps = run("gpt_neox", config, w, IDS)
        p = "gpt_neox.layers.1."
        ln = (w[p + "input_layernorm.weight"], w[p + "input_layernorm.bias"])
        h = torch_layer_norm(taps["blocks.1.resid_pre"], (64,), *ln, 1e-5)
        qkv_w = w[p + "attention.query_key_value.weight"].view(4, 3, 16, 64)
        qkv_b = w[p + "attention.query_key_value.bias"].view(4, 3, 16)
        q, k, v = ((qkv_w[:, s].reshape(64, 64), qkv_b[:, s].reshape(64)) for s in range(3))
        o = (w[p + "attention.dense.weight"], w[p + "attention.dense.bias"])
        want = torch_attention(h, q, k, v, o, 4, causal_mask(10))
        torch.testing.assert_close(taps["blocks.1.attn_out"], want)
        torch.testing.assert_close(taps["blocks.1.mlp.post"], gelu(taps["blocks.1.mlp.pre"]))

    def test_parallel_and_sequential_residual_differ(self):
        config, w = build("gpt_neox")
        parallel, _ = run("gpt_neox", config, w, IDS)
        sequential, taps = run("gpt_neox", {**config, "use_parallel_residual": False}, w, IDS)
        self.assertFalse(torch.allclose(parallel, sequential))
        self.assertIn("blocks.0.resid_mid", taps)


class GptNeoTest(unittest.TestCase):
    def test_layout_and_layer_types(self):
        config, w = build("gpt_neo")
        self.assertEqual(config["attention_layers"], ["global", "local"])
        self.assertNotIn("transformer.h.0.attn.attention.q_proj.bias", w)
        self.assertIn("transformer.h.0.attn.attention.out_proj.bias", w)
        self.assertEqual(tuple(w["transformer.h.0.mlp.c_fc.weight"].shape), (192, 48))
        self.assertNotIn("lm_head.weight", w)
        config, _ = build("gpt_neo", num_layers=4, attention_types=[[["global", "local"], 2]])
        self.assertEqual(config["attention_layers"], ["global", "local", "global", "local"])

    def test_local_window(self):
        """A one-layer local model: token 0 reaches positions 0..window-1 and nothing after."""
        config, w = build("gpt_neo", num_layers=1, attention_types=[[["local"], 1]])
        logits, _ = run("gpt_neo", config, w, IDS)
        logits2, _ = run("gpt_neo", config, w, [[IDS[0][0] + 1] + IDS[0][1:], IDS[1]])
        window = config["window_size"]
        self.assertFalse(torch.allclose(logits[0, window - 1], logits2[0, window - 1]))
        self.assertTrue(torch.equal(logits[0, window:], logits2[0, window:]))

    def test_attention_matches_torch(self):
        """Global and local layers against torch's MultiheadAttention; torch scales by 1/sqrt(head_dim), so
        its query weights are multiplied by sqrt(head_dim) to undo that (GPT-Neo does not scale)."""
        config, w = build("gpt_neo")
        _, taps = run("gpt_neo", config, w, IDS)
        for i, window in ((0, None), (1, config["window_size"])):
            p = f"transformer.h.{i}."
            a = p + "attn.attention."
            ln = (w[p + "ln_1.weight"], w[p + "ln_1.bias"])
            h = torch_layer_norm(taps[f"blocks.{i}.resid_pre"], (48,), *ln, 1e-5)
            q = (w[a + "q_proj.weight"] * math.sqrt(12), None)
            k, v = (w[a + "k_proj.weight"], None), (w[a + "v_proj.weight"], None)
            o = (w[a + "out_proj.weight"], w[a + "out_proj.bias"])
            want = torch_attention(h, q, k, v, o, 4, causal_mask(10, window))
            torch.testing.assert_close(taps[f"blocks.{i}.attn_out"], want)


class CliTest(unittest.TestCase):
    def cli(self, *args):
        command = [sys.executable, os.path.join(HERE, "run.py"), *args]
        return subprocess.run(command, capture_output=True, text=True)

    def test_make_and_forward(self):
        with tempfile.TemporaryDirectory() as d:
            ckpt = os.path.join(d, "m")
            sets = ["--set", "use_parallel_residual=false", "--set", "vocab_size=300"]
            layout = ["--dtype", "BF16", "--shards", "2"]
            r = self.cli("make", "--model-type", "gpt_neox", "--out", ckpt, *layout, *sets)
            self.assertEqual(r.returncode, 0, r.stderr)
            config, weights = load_checkpoint(ckpt)
            self.assertEqual((config["use_parallel_residual"], config["vocab_size"]), (False, 300))
            self.assertTrue(os.path.exists(os.path.join(ckpt, "model-00002-of-00002.safetensors")))
            out = os.path.join(d, "ref.safetensors")
            r = self.cli("forward", "--checkpoint", ckpt, "--ids", json.dumps(IDS), "--out", out)
            self.assertEqual(r.returncode, 0, r.stderr)
            got = read_safetensors(out)
            logits, taps = run("gpt_neox", config, weights, IDS)
            np.testing.assert_array_equal(got["logprobs"], torch.log_softmax(logits, -1).numpy())
            self.assertEqual(sorted(got), sorted(["logprobs", *taps]))
            np.testing.assert_array_equal(got["blocks.1.mlp.post"], taps["blocks.1.mlp.post"].numpy())

    def test_unknown_model_type(self):
        with tempfile.TemporaryDirectory() as d:
            r = self.cli("make", "--model-type", "no_such_model", "--out", d)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("unknown model_type 'no_such_model'", r.stderr)


if __name__ == "__main__":
    unittest.main()
