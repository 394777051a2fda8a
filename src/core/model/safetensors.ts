/**
 * Reads and writes the safetensors format (an 8-byte little-endian header length, a JSON header of
 * `{name: {dtype, shape, data_offsets}}`, then the raw little-endian bytes), as Hugging Face does.
 * Float16 and bfloat16 tensors are widened to float32 on read.
 */
import { readFileSync } from 'node:fs';
import { writeAtomic } from '../store/files.js';
import { getFloat16 } from '@petamoriken/float16';

export type SafeDtype = 'F32' | 'F16' | 'BF16' | 'I32' | 'I64' | 'U8' | 'F64' | 'BOOL' | 'I8' | 'I16' | 'U16';

export interface NamedArray {
  shape: number[];
  data: Float32Array | Int32Array;
}

const BYTES: Record<string, number> = {
  F32: 4,
  F16: 2,
  BF16: 2,
  I32: 4,
  I64: 8,
  U8: 1,
  F64: 8,
  BOOL: 1,
  I8: 1,
  I16: 2,
  U16: 2,
};

/** Parses a safetensors buffer; `file` is used in error messages only. */
export function parseSafetensors(
  buf: Buffer,
  file = '<buffer>',
): { tensors: Map<string, NamedArray>; metadata: Record<string, string> } {
  if (buf.length < 8) throw new Error(`${file}: not a safetensors file (only ${buf.length} bytes)`);
  const headerLen = Number(buf.readBigUInt64LE(0));
  if (headerLen <= 0 || 8 + headerLen > buf.length) {
    throw new Error(
      `${file}: not a safetensors file (header length ${headerLen} does not fit in ${buf.length} bytes)`,
    );
  }
  let header: Record<
    string,
    { dtype: string; shape: number[]; data_offsets: [number, number] } | Record<string, string>
  >;
  try {
    header = JSON.parse(buf.subarray(8, 8 + headerLen).toString('utf8'));
  } catch (e) {
    throw new Error(`${file}: corrupt safetensors header: ${(e as Error).message}`);
  }
  const base = 8 + headerLen;
  const tensors = new Map<string, NamedArray>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = entry as Record<string, string>;
      continue;
    }
    const { dtype, shape, data_offsets } = entry as {
      dtype: string;
      shape: number[];
      data_offsets: [number, number];
    };
    const [begin, end] = data_offsets;
    const count = shape.reduce((a, b) => a * b, 1);
    if (!(dtype in BYTES)) throw new Error(`${file}: tensor '${name}' has unsupported dtype ${dtype}`);
    if (end - begin !== count * BYTES[dtype] || base + end > buf.length) {
      throw new Error(
        `${file}: tensor '${name}' (${dtype} ${JSON.stringify(shape)}) has inconsistent offsets [${begin}, ${end}]`,
      );
    }
    const view = new DataView(buf.buffer, buf.byteOffset + base + begin, end - begin);
    let data: Float32Array | Int32Array;
    if (dtype === 'F32') {
      data = new Float32Array(count);
      for (let i = 0; i < count; i++) data[i] = view.getFloat32(i * 4, true);
    } else if (dtype === 'F16') {
      data = new Float32Array(count);
      for (let i = 0; i < count; i++) data[i] = getFloat16(view, i * 2, true);
    } else if (dtype === 'BF16') {
      data = new Float32Array(count);
      const u = new Uint32Array(data.buffer);
      for (let i = 0; i < count; i++) u[i] = view.getUint16(i * 2, true) << 16;
    } else if (dtype === 'F64') {
      data = new Float32Array(count);
      for (let i = 0; i < count; i++) data[i] = view.getFloat64(i * 8, true);
    } else if (dtype === 'I32') {
      data = new Int32Array(count);
      for (let i = 0; i < count; i++) data[i] = view.getInt32(i * 4, true);
    } else if (dtype === 'I64') {
      data = new Int32Array(count);
      for (let i = 0; i < count; i++) data[i] = Number(view.getBigInt64(i * 8, true));
    } else {
      data = new Int32Array(count);
      for (let i = 0; i < count; i++)
        data[i] = BYTES[dtype] === 1 ? view.getUint8(i) : view.getUint16(i * 2, true);
    }
    tensors.set(name, { shape, data });
  }
  return { tensors, metadata };
}

/** Reads a safetensors file. */
export function readSafetensors(file: string): {
  tensors: Map<string, NamedArray>;
  metadata: Record<string, string>;
} {
  return parseSafetensors(readFileSync(file), file);
}

/** Serialises tensors (float32 as F32, int32 as I32) in name order, with string metadata. */
export function serializeSafetensors(
  tensors: Map<string, NamedArray>,
  metadata: Record<string, string> = {},
): Buffer {
  const names = [...tensors.keys()].sort();
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const name of names) {
    const t = tensors.get(name)!;
    const bytes = t.data.length * 4;
    header[name] = {
      dtype: t.data instanceof Int32Array ? 'I32' : 'F32',
      shape: t.shape,
      data_offsets: [offset, offset + bytes],
    };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  // Pad the header so that the data starts 8-byte aligned, as the reference implementation does.
  while ((8 + Buffer.byteLength(json)) % 8 !== 0) json += ' ';
  const headerBuf = Buffer.from(json, 'utf8');
  const out = Buffer.alloc(8 + headerBuf.length + offset);
  out.writeBigUInt64LE(BigInt(headerBuf.length), 0);
  headerBuf.copy(out, 8);
  let pos = 8 + headerBuf.length;
  for (const name of names) {
    const t = tensors.get(name)!;
    const src = Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    // TypedArrays are little-endian on every platform Node runs on.
    src.copy(out, pos);
    pos += src.length;
  }
  return out;
}

/** Writes a safetensors file atomically. */
export function writeSafetensors(
  file: string,
  tensors: Map<string, NamedArray>,
  metadata: Record<string, string> = {},
): void {
  writeAtomic(file, serializeSafetensors(tensors, metadata));
}
