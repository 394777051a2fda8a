/**
 * Reading numpy's `.npz` (a zip of `.npy` files, as `np.savez` and `np.savez_compressed` write them) into
 * float32 arrays. The `.npy` format (numpy/lib/format.py, NEP 1): the magic `\x93NUMPY`, a major and minor
 * version byte, the header length (uint16 little-endian in version 1, uint32 in versions 2 and 3), then a
 * Python dict literal `{'descr': '<f4', 'fortran_order': False, 'shape': (d0, d1), }`, then the raw data.
 * Floating dtypes widen to float32 (`<f2` exactly, `<f8` rounded); C order only.
 */
import { readFileSync } from 'node:fs';
import { unzipSync } from 'fflate';
import { getFloat16 } from '@petamoriken/float16';
import type { NamedArray } from '../model/safetensors.js';

/** Bytes per element of the dtypes read: little-endian floats. */
const FLOAT_BYTES: Record<string, number> = { '<f2': 2, '<f4': 4, '<f8': 8 };

/** Parses one `.npy` file's bytes (`where` names it in errors). */
export function parseNpy(buf: Uint8Array, where: string): NamedArray {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const magic = String.fromCharCode(...buf.subarray(0, 6));
  if (buf.length < 10 || magic !== '\x93NUMPY')
    throw new Error(`${where}: not a .npy file (no \\x93NUMPY magic)`);
  const major = buf[6];
  if (major < 1 || major > 3) throw new Error(`${where}: .npy version ${major} is not one numpy writes`);
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(
    buf.subarray(start, start + headerLen),
  );
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeText === undefined)
    throw new Error(`${where}: unreadable .npy header ${JSON.stringify(header.trim())}`);
  if (!(descr in FLOAT_BYTES))
    throw new Error(`${where}: dtype '${descr}' is not a little-endian float (<f2, <f4 or <f8)`);
  if (fortran === 'True')
    throw new Error(`${where}: Fortran-ordered arrays are not read; save it in C order`);
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const bytes = FLOAT_BYTES[descr];
  const offset = start + headerLen;
  if (buf.length - offset !== count * bytes)
    throw new Error(
      `${where}: ${buf.length - offset} data bytes, but shape ${JSON.stringify(shape)} of ${descr} needs ${count * bytes}`,
    );
  const data = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    const at = offset + i * bytes;
    data[i] =
      bytes === 4
        ? view.getFloat32(at, true)
        : bytes === 2
          ? getFloat16(view, at, true)
          : view.getFloat64(at, true);
  }
  return { shape, data };
}

/** The arrays of an `.npz` file by name (the member names without `.npy`). */
export function readNpz(file: string): Map<string, NamedArray> {
  let members: Record<string, Uint8Array>;
  try {
    members = unzipSync(readFileSync(file));
  } catch (e) {
    throw new Error(`${file}: not a readable .npz (zip) file: ${(e as Error).message}`);
  }
  const out = new Map<string, NamedArray>();
  for (const [name, bytes] of Object.entries(members)) {
    if (!name.endsWith('.npy')) continue;
    out.set(name.slice(0, -4), parseNpy(bytes, `${file}: ${name}`));
  }
  return out;
}
