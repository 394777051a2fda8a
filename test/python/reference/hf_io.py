"""Hugging Face checkpoint folders (config.json + safetensors), written and read with numpy alone.

The safetensors format (https://github.com/huggingface/safetensors, "Format"): an 8-byte little-endian
header length N, then N bytes of JSON {name: {"dtype", "shape", "data_offsets": [begin, end]}} with
"__metadata__": {"format": "pt"} as `save_pretrained` writes it, padded with spaces to a multiple of 8, then
the raw little-endian tensor bytes, offsets counted from the end of the header.

A sharded checkpoint is model-0000K-of-0000N.safetensors files plus model.safetensors.index.json =
{"metadata": {"total_size": bytes of all tensors}, "weight_map": {name: file}}.
"""

import json
import os
import struct

import numpy as np
import torch

# Safetensors dtype -> (numpy storage dtype, config.json "torch_dtype").
DTYPES = {
    "F64": (np.dtype("<f8"), "float64"),
    "F32": (np.dtype("<f4"), "float32"),
    "F16": (np.dtype("<f2"), "float16"),
    "BF16": (np.dtype("<u2"), "bfloat16"),
}

INDEX_FILE = "model.safetensors.index.json"


def to_bf16_bits(x: np.ndarray) -> np.ndarray:
    """The bfloat16 bit patterns of x: the upper 16 bits of float32, rounded to nearest, ties to even
    (as torch's float -> bfloat16 conversion rounds); NaN stays a quiet NaN."""
    bits = np.ascontiguousarray(x, dtype="<f4").view("<u4").astype(np.uint64)
    rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)
    return np.where(np.isnan(x), np.uint16(0x7FC0), rounded).astype("<u2")


def from_bf16_bits(bits: np.ndarray) -> np.ndarray:
    """float32 values of bfloat16 bit patterns (exact: bfloat16 is float32 with the low 16 bits zero)."""
    return (bits.astype(np.uint32) << 16).view(np.float32)


def encode(x: np.ndarray, dtype: str) -> np.ndarray:
    """x stored as `dtype`'s little-endian elements."""
    if dtype == "BF16":
        return to_bf16_bits(x)
    return np.ascontiguousarray(x, dtype=DTYPES[dtype][0])


def decode(raw: bytes, dtype: str, shape: list) -> np.ndarray:
    """The float64 values of one stored tensor."""
    if dtype not in DTYPES:
        raise ValueError(f"unsupported safetensors dtype {dtype}")
    stored = np.frombuffer(raw, dtype=DTYPES[dtype][0]).reshape(shape)
    values = from_bf16_bits(stored) if dtype == "BF16" else stored
    return values.astype(np.float64)


def write_safetensors(path: str, tensors: dict, dtype: str):
    """One safetensors file of `tensors` (name -> array) stored as `dtype`, in name order."""
    header = {"__metadata__": {"format": "pt"}}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        data = encode(tensors[name], dtype).tobytes()
        shape = list(tensors[name].shape)
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for data in blobs:
            f.write(data)


def read_safetensors(path: str) -> dict:
    """name -> float64 numpy array of every tensor in one safetensors file."""
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8 : 8 + n])
    header.pop("__metadata__", None)
    base = 8 + n
    return {
        name: decode(blob[base + e["data_offsets"][0] : base + e["data_offsets"][1]], e["dtype"], e["shape"])
        for name, e in header.items()
    }


def split_in_shards(names: list, sizes: dict, shards: int) -> list:
    """`names` (in order) cut into `shards` consecutive non-empty groups: a new shard opens once the bytes
    written reach its share of the total, or when the names left are just enough for one per shard."""
    if not 1 <= shards <= len(names):
        raise ValueError(f"cannot split {len(names)} tensors into {shards} shards")
    total = sum(sizes.values())
    groups = [[]]
    done = 0
    for i, name in enumerate(names):
        unopened = shards - len(groups)
        share_reached = done >= total * len(groups) / shards
        if groups[-1] and unopened > 0 and (share_reached or len(names) - i == unopened):
            groups.append([])
        groups[-1].append(name)
        done += sizes[name]
    return groups


def save_checkpoint(dir: str, config: dict, weights: dict, dtype: str = "F32", shards: int = 1):
    """Writes config.json (with "torch_dtype") and the weights as `save_pretrained` lays them out:
    model.safetensors, or for shards > 1 model-0000K-of-0000N.safetensors plus the index."""
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {sorted(DTYPES)}, not {dtype}")
    os.makedirs(dir, exist_ok=True)
    with open(os.path.join(dir, "config.json"), "w") as f:
        json.dump({**config, "torch_dtype": DTYPES[dtype][1]}, f, indent=2, sort_keys=True)
        f.write("\n")
    if shards == 1:
        write_safetensors(os.path.join(dir, "model.safetensors"), weights, dtype)
        return
    itemsize = DTYPES[dtype][0].itemsize
    sizes = {name: w.size * itemsize for name, w in weights.items()}
    weight_map = {}
    for k, group in enumerate(split_in_shards(sorted(weights), sizes, shards)):
        file = f"model-{k + 1:05d}-of-{shards:05d}.safetensors"
        write_safetensors(os.path.join(dir, file), {name: weights[name] for name in group}, dtype)
        weight_map.update({name: file for name in group})
    index = {"metadata": {"total_size": sum(sizes.values())}, "weight_map": weight_map}
    with open(os.path.join(dir, INDEX_FILE), "w") as f:
        json.dump(index, f, indent=2, sort_keys=True)
        f.write("\n")


def load_checkpoint(dir: str):
    """(config, name -> float64 torch tensor) of a single-file or sharded checkpoint folder."""
    with open(os.path.join(dir, "config.json")) as f:
        config = json.load(f)
    index_path = os.path.join(dir, INDEX_FILE)
    if os.path.exists(index_path):
        with open(index_path) as f:
            files = sorted(set(json.load(f)["weight_map"].values()))
    else:
        files = ["model.safetensors"]
    weights = {}
    for file in files:
        weights.update(read_safetensors(os.path.join(dir, file)))
    return config, {name: torch.from_numpy(w.copy()) for name, w in weights.items()}
