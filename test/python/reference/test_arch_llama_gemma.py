"""Self-checks of arch_llama.py and arch_gemma.py that hold independently of the TypeScript models: causality,
the sliding-window reach, RoPE's relative-position property, closed forms of RMSNorm and the activations,
the grouped-query convention, the tap identities, and that every saved parameter changes the logits.
Run: /usr/bin/python3 -m unittest discover -s test/python/reference -p 'test_*.py'"""

import math
import tempfile
import unittest

import torch

import arch_gemma
import arch_llama
import layers
from hf_io import load_checkpoint, save_checkpoint

ALL = [(arch_llama, t) for t in arch_llama.MODEL_TYPES] + [(arch_gemma, t) for t in arch_gemma.MODEL_TYPES]


def build(module, model_type, seed=0, **overrides):
    """A tiny config and its random weights widened to float64 tensors."""
    config = module.tiny_config(model_type, **overrides)
    weights = {k: torch.from_numpy(v).double() for k, v in module.random_weights(config, seed).items()}
    return config, weights


def ids(seed, b, t, vocab):
    return torch.randint(0, vocab, (b, t), generator=torch.Generator().manual_seed(seed))


def reach(module, model_type, length, **overrides):
    """The positions whose logits change when token 0 changes."""
    config, weights = build(module, model_type, **overrides)
    x = ids(1, 1, length, config["vocab_size"])
    y = x.clone()
    y[0, 0] = (x[0, 0] + 1) % config["vocab_size"]
    a, _ = module.forward(config, weights, x)
    b, _ = module.forward(config, weights, y)
    return [t for t in range(length) if not torch.equal(a[0, t], b[0, t])]


class Shapes(unittest.TestCase):
    def test_names_shapes_and_tied_head(self):
        for module, model_type in ALL:
            config = module.tiny_config(model_type)
            weights = module.random_weights(config, 0)
            tied = config["tie_word_embeddings"]
            self.assertEqual("lm_head.weight" in weights, not tied, model_type)
            self.assertEqual(weights["model.embed_tokens.weight"].shape, (config["vocab_size"], config["hidden_size"]))
            hd = config.get("head_dim") or config["hidden_size"] // config["num_attention_heads"]
            q = weights["model.layers.0.self_attn.q_proj.weight"]
            k = weights["model.layers.0.self_attn.k_proj.weight"]
            self.assertEqual(q.shape, (config["num_attention_heads"] * hd, config["hidden_size"]), model_type)
            self.assertEqual(k.shape, (config["num_key_value_heads"] * hd, config["hidden_size"]), model_type)
            self.assertLess(config["num_key_value_heads"], config["num_attention_heads"], model_type)
            self.assertTrue(all(str(v.dtype) == "float32" for v in weights.values()))

    def test_qwen2_bias_on_qkv_only(self):
        weights = arch_llama.random_weights(arch_llama.tiny_config("qwen2"), 0)
        for name in ("q_proj", "k_proj", "v_proj"):
            self.assertIn(f"model.layers.1.self_attn.{name}.bias", weights)
        self.assertNotIn("model.layers.1.self_attn.o_proj.bias", weights)
        self.assertFalse(any(".mlp." in k and k.endswith(".bias") for k in weights))

    def test_llama_bias_options(self):
        config = arch_llama.tiny_config("llama", attention_bias=True, mlp_bias=True)
        weights = arch_llama.random_weights(config, 0)
        for name in ("self_attn.q_proj", "self_attn.o_proj", "mlp.gate_proj", "mlp.down_proj"):
            self.assertIn(f"model.layers.2.{name}.bias", weights)


class Checkpoint(unittest.TestCase):
    def test_sharded_checkpoint_gives_the_same_logits(self):
        """config.json survives the round trip (nested rope_scaling, nulls) and the saved names are the ones
        forward reads."""
        for module, model_type in ALL:
            config, weights = build(module, model_type)
            x = ids(8, 2, 6, config["vocab_size"])
            with tempfile.TemporaryDirectory() as folder:
                save_checkpoint(folder, config, module.random_weights(config, 0), "F32", 2)
                loaded_config, loaded = load_checkpoint(folder)
            self.assertEqual(set(loaded), set(weights), model_type)
            logits, _ = module.forward(loaded_config, loaded, x)
            self.assertTrue(torch.equal(logits, module.forward(config, weights, x)[0]), model_type)


class EveryParameterMatters(unittest.TestCase):
    def test_each_tensor_changes_the_logits(self):
        variants = [(m, t, {}) for m, t in ALL] + [
            (arch_llama, "llama", {"attention_bias": True, "mlp_bias": True, "tie_word_embeddings": True})
        ]
        for module, model_type, overrides in variants:
            config, weights = build(module, model_type, **overrides)
            x = ids(0, 2, 9, config["vocab_size"])
            base, _ = module.forward(config, weights, x)
            for name in weights:
                changed = dict(weights)
                changed[name] = weights[name] + 0.05
                logits, _ = module.forward(config, changed, x)
                self.assertGreater((logits - base).abs().max().item(), 1e-6, f"{model_type} {overrides} {name}")


class Causality(unittest.TestCase):
    def test_later_tokens_do_not_change_earlier_outputs(self):
        for module, model_type in ALL:
            config, weights = build(module, model_type)
            x = ids(2, 2, 10, config["vocab_size"])
            y = x.clone()
            y[:, 6:] = (x[:, 6:] + 7) % config["vocab_size"]
            a, taps_a = module.forward(config, weights, x)
            b, taps_b = module.forward(config, weights, y)
            self.assertTrue(torch.equal(a[:, :6], b[:, :6]), model_type)
            self.assertFalse(torch.equal(a[:, 6:], b[:, 6:]), model_type)
            for name in taps_a:
                self.assertTrue(torch.equal(taps_a[name][:, :6], taps_b[name][:, :6]), f"{model_type} {name}")


class SlidingWindow(unittest.TestCase):
    """A token sees itself and the W - 1 before it (HF: kv_idx > q_idx - W), so through L windowed layers token
    0 reaches positions 0 .. L (W - 1)."""

    def test_mistral_window_on_every_layer(self):
        self.assertEqual(reach(arch_llama, "mistral", 8, num_hidden_layers=1), [0, 1, 2, 3])
        self.assertEqual(reach(arch_llama, "mistral", 14), list(range(10)))
        self.assertEqual(reach(arch_llama, "mistral", 8, num_hidden_layers=1, sliding_window=None), list(range(8)))

    def test_qwen2_window_only_when_enabled_and_from_max_window_layers(self):
        self.assertEqual(reach(arch_llama, "qwen2", 8, num_hidden_layers=1), list(range(8)))
        on = {"num_hidden_layers": 1, "use_sliding_window": True}
        self.assertEqual(reach(arch_llama, "qwen2", 8, max_window_layers=0, **on), [0, 1, 2, 3])
        self.assertEqual(reach(arch_llama, "qwen2", 8, max_window_layers=1, **on), list(range(8)))
        listed = {"max_window_layers": 1, "layer_types": ["sliding_attention"]}
        self.assertEqual(reach(arch_llama, "qwen2", 8, **listed, **on), [0, 1, 2, 3])
        self.assertEqual(reach(arch_llama, "qwen2", 8, num_hidden_layers=1, **listed), list(range(8)))

    def test_gemma2_even_layers_slide(self):
        self.assertEqual(reach(arch_gemma, "gemma2", 8, num_hidden_layers=1), [0, 1, 2, 3])
        self.assertEqual(reach(arch_gemma, "gemma2", 8, num_hidden_layers=2), list(range(8)))
        listed = {"num_hidden_layers": 1, "layer_types": ["full_attention"]}
        self.assertEqual(reach(arch_gemma, "gemma2", 8, **listed), list(range(8)))
        config, weights = build(arch_gemma, "gemma2")
        x = ids(3, 1, 12, config["vocab_size"])
        y = x.clone()
        y[0, 0] += 1
        _, a = arch_gemma.forward(config, weights, x)
        _, b = arch_gemma.forward(config, weights, y)
        self.assertTrue(torch.equal(a["blocks.0.attn_out"][0, 4:], b["blocks.0.attn_out"][0, 4:]))
        self.assertFalse(torch.equal(a["blocks.1.attn_out"][0, 11], b["blocks.1.attn_out"][0, 11]))

    def test_llama_and_gemma_attend_to_everything(self):
        self.assertEqual(reach(arch_llama, "llama", 12, num_hidden_layers=1), list(range(12)))
        self.assertEqual(reach(arch_gemma, "gemma", 12, num_hidden_layers=1), list(range(12)))


class Rope(unittest.TestCase):
    def test_scores_depend_only_on_relative_position(self):
        for scaling in (None, {"rope_type": "linear", "factor": 2.0}, arch_llama.tiny_config("llama")["rope_scaling"]):
            config = arch_llama.tiny_config("llama", rope_scaling=scaling)
            inv_freq = arch_llama.rope_frequencies(config, 16)
            g = torch.Generator().manual_seed(4)
            q, k = torch.randn(16, generator=g, dtype=torch.float64), torch.randn(16, generator=g, dtype=torch.float64)
            rq = layers.apply_rope(q.expand(1, 1, 20, 16), torch.arange(20), inv_freq)[0, 0]
            rk = layers.apply_rope(k.expand(1, 1, 20, 16), torch.arange(20), inv_freq)[0, 0]
            dots = rq @ rk.T
            for d in range(-5, 6):
                diagonal = torch.diagonal(dots, offset=d)
                self.assertLess((diagonal - diagonal[0]).abs().max().item(), 1e-12, f"{scaling} {d}")
            self.assertAlmostEqual(dots[0, 0].item(), (q @ k).item(), places=12)

    def test_rotation_turns_pairs_i_and_i_plus_half(self):
        inv_freq = torch.tensor([0.5, 0.25], dtype=torch.float64)
        x = torch.tensor([1.0, 0.0, 0.0, 0.0], dtype=torch.float64).expand(1, 1, 4, 4)
        out = layers.apply_rope(x, torch.arange(4), inv_freq)[0, 0, 3]
        expected = [math.cos(1.5), 0.0, math.sin(1.5), 0.0]
        self.assertLess(max(abs(a - b) for a, b in zip(out.tolist(), expected)), 1e-15)

    def test_scaling_bands(self):
        base = arch_llama.rope_frequencies(arch_llama.tiny_config("llama", rope_scaling=None), 16)
        linear_config = arch_llama.tiny_config("llama", rope_scaling={"type": "linear", "factor": 2.0})
        linear = arch_llama.rope_frequencies(linear_config, 16)
        self.assertTrue(torch.allclose(linear, base / 2, rtol=0, atol=0))
        llama3 = arch_llama.rope_frequencies(arch_llama.tiny_config("llama"), 16)
        # wavelengths 2 pi / f: 6.3 < 64 / 4 (kept), 32.5 in between (blended), >= 168 > 64 (divided by 8)
        self.assertEqual(llama3[0].item(), base[0].item())
        self.assertTrue(base[1] / 8 < llama3[1] < base[1])
        s = (64 * base[1] / (2 * math.pi) - 1) / 3
        self.assertAlmostEqual(llama3[1].item(), ((1 - s) * base[1] / 8 + s * base[1]).item(), places=15)
        self.assertTrue(torch.equal(llama3[2:], base[2:] / 8))


class ClosedForms(unittest.TestCase):
    def test_rms_norm_of_a_constant_vector(self):
        w = torch.linspace(0.5, 1.5, 8, dtype=torch.float64)
        out = arch_llama.rms_norm(torch.full((8,), -3.0, dtype=torch.float64), w, 1e-6)
        self.assertTrue(torch.allclose(out, -3 / math.sqrt(9 + 1e-6) * w, rtol=1e-15, atol=0))
        gemma = arch_llama.rms_norm(torch.full((8,), 2.0, dtype=torch.float64), w, 0.0, offset=1.0)
        self.assertTrue(torch.allclose(gemma, 1 + w, rtol=1e-15, atol=0))

    def test_activations_match_torch(self):
        x = torch.linspace(-6, 6, 101, dtype=torch.float64)
        f = torch.nn.functional
        self.assertTrue(torch.allclose(layers.activation("silu")(x), f.silu(x), rtol=1e-14, atol=1e-15))
        self.assertTrue(torch.allclose(layers.activation("gelu")(x), f.gelu(x), rtol=1e-14, atol=1e-15))
        tanh = f.gelu(x, approximate="tanh")
        self.assertTrue(torch.allclose(layers.activation("gelu_pytorch_tanh")(x), tanh, rtol=1e-14, atol=1e-15))

    def test_gemma_scales_embeddings_and_gemma2_caps_logits(self):
        for model_type in arch_gemma.MODEL_TYPES:
            config, weights = build(arch_gemma, model_type)
            x = ids(5, 1, 6, config["vocab_size"])
            logits, taps = arch_gemma.forward(config, weights, x)
            embedded = weights["model.embed_tokens.weight"][x] * math.sqrt(config["hidden_size"])
            self.assertTrue(torch.equal(taps["blocks.0.resid_pre"], embedded))
        self.assertLess(logits.abs().max().item(), config["final_logit_softcapping"])
        uncapped, _ = arch_gemma.forward({**config, "final_logit_softcapping": None}, weights, x)
        self.assertGreater(uncapped.abs().max().item(), config["final_logit_softcapping"])
        loose, _ = arch_gemma.forward({**config, "attn_logit_softcapping": None}, weights, x)
        self.assertFalse(torch.allclose(loose, uncapped))

    def test_grouped_query_heads_share_key_value_heads_in_blocks(self):
        """Query head h reads key/value head h // (heads / kv_heads): a GQA model equals the multi-head model
        whose k/v rows repeat each kv head for its group of consecutive query heads."""
        config, weights = build(arch_llama, "llama", attention_bias=True)
        mha = {**config, "num_key_value_heads": config["num_attention_heads"]}
        group = config["num_attention_heads"] // config["num_key_value_heads"]
        widened = dict(weights)
        for name in list(weights):
            if ".k_proj." in name or ".v_proj." in name:
                heads = weights[name].view(config["num_key_value_heads"], 16, -1)
                widened[name] = heads.repeat_interleave(group, dim=0).reshape(-1, *weights[name].shape[1:])
        x = ids(6, 2, 7, config["vocab_size"])
        a, _ = arch_llama.forward(config, weights, x)
        b, _ = arch_llama.forward(mha, widened, x)
        self.assertLess((a - b).abs().max().item(), 1e-12)


class Taps(unittest.TestCase):
    def test_residual_identities_and_widths(self):
        for module, model_type in ALL:
            config, weights = build(module, model_type)
            x = ids(7, 2, 5, config["vocab_size"])
            _, taps = module.forward(config, weights, x)
            n = config["num_hidden_layers"]
            self.assertEqual(len(taps), 8 * n, model_type)
            for i in range(n):
                t = {k.split(".", 2)[2]: v for k, v in taps.items() if k.startswith(f"blocks.{i}.")}
                self.assertTrue(torch.equal(t["resid_mid"], t["resid_pre"] + t["attn_out"]))
                self.assertTrue(torch.equal(t["resid_post"], t["resid_mid"] + t["mlp_out"]))
                self.assertEqual(t["mlp.post"].shape, (2, 5, config["intermediate_size"]))
                if i + 1 < n:
                    self.assertTrue(torch.equal(taps[f"blocks.{i + 1}.resid_pre"], t["resid_post"]))
            down = weights["model.layers.0.mlp.down_proj.weight"]
            if model_type != "gemma2":
                self.assertTrue(torch.allclose(taps["blocks.0.mlp_out"], taps["blocks.0.mlp.post"] @ down.T))


if __name__ == "__main__":
    unittest.main()
