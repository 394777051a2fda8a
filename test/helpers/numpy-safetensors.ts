/**
 * A safetensors reader in Python for numpy references (`tensors(path)`: name → float64 array, from F32, F64
 * or F16 data), read
 * from the format's definition (an 8-byte little-endian header length, a JSON header of dtype, shape and
 * data offsets, then the data), to prefix scripts that check our saved weights independently of our reader.
 */
export const NUMPY_SAFETENSORS = `
import json, struct, sys
import numpy as np
def tensors(path):
    b = open(path, 'rb').read()
    n = struct.unpack('<Q', b[:8])[0]
    head = json.loads(b[8:8 + n])
    out = {}
    for k, v in head.items():
        if k == '__metadata__': continue
        dt = {'F32': '<f4', 'F64': '<f8', 'F16': '<f2'}[v['dtype']]
        s, e = v['data_offsets']
        out[k] = np.frombuffer(b[8 + n + s:8 + n + e], dtype=dt).reshape(v['shape']).astype(np.float64)
    return out
`;
