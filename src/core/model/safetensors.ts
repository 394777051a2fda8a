/**
 * Reads and writes the safetensors format (an 8-byte little-endian header length, a JSON header of
 * `{name: {dtype, shape, data_offsets}}`, then the raw little-endian bytes), as Hugging Face does.
 * Float16 and bfloat16 tensors are widened to float32 on read.
 */
import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
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

/** A tensor's entry in a safetensors header, with its data's absolute byte range in the file. */
export interface TensorEntry {
  name: string;
  dtype: string;
  shape: number[];
  /** Byte offset of the data from the start of the file, and its length. */
  offset: number;
  bytes: number;
}

/** The safetensors header of `bytes` (the file's first bytes, or all of it), checked against `size`. */
function parseHeader(
  head: Buffer,
  size: number,
  file: string,
): { entries: TensorEntry[]; metadata: Record<string, string>; headerEnd: number } {
  if (size < 8 || head.length < 8) throw new Error(`${file}: not a safetensors file (only ${size} bytes)`);
  const headerLen = Number(head.readBigUInt64LE(0));
  if (headerLen <= 0 || 8 + headerLen > size) {
    throw new Error(
      `${file}: not a safetensors file (header length ${headerLen} does not fit in ${size} bytes)`,
    );
  }
  if (head.length < 8 + headerLen) throw new Error(`${file}: safetensors header cut short`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(head.subarray(8, 8 + headerLen).toString('utf8'));
  } catch (e) {
    throw new Error(`${file}: corrupt safetensors header: ${(e as Error).message}`);
  }
  const base = 8 + headerLen;
  const entries: TensorEntry[] = [];
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
    if (!(dtype in BYTES)) throw new Error(`${file}: tensor '${name}' has unsupported dtype ${dtype}`);
    const [begin, end] = data_offsets ?? [];
    const count = Array.isArray(shape) ? shape.reduce((a, b) => a * b, 1) : NaN;
    if (!(end - begin === count * BYTES[dtype]) || begin < 0 || base + end > size) {
      throw new Error(
        `${file}: tensor '${name}' (${dtype} ${JSON.stringify(shape)}) has inconsistent offsets [${begin}, ${end}]`,
      );
    }
    entries.push({ name, dtype, shape, offset: base + begin, bytes: end - begin });
  }
  return { entries, metadata, headerEnd: base };
}

/**
 * Decodes a tensor's raw little-endian bytes: floating types widen to float32 (F16, BF16 exactly; F64
 * rounded), integer types to int32.
 */
function decodeTensor(raw: Buffer, dtype: string): Float32Array | Int32Array {
  const count = raw.length / BYTES[dtype];
  const view = new DataView(raw.buffer, raw.byteOffset, raw.length);
  if (dtype === 'F32') {
    const data = new Float32Array(count);
    for (let i = 0; i < count; i++) data[i] = view.getFloat32(i * 4, true);
    return data;
  }
  if (dtype === 'F16') {
    const data = new Float32Array(count);
    for (let i = 0; i < count; i++) data[i] = getFloat16(view, i * 2, true);
    return data;
  }
  if (dtype === 'BF16') {
    // bfloat16 is the upper half of a float32.
    const data = new Float32Array(count);
    const u = new Uint32Array(data.buffer);
    for (let i = 0; i < count; i++) u[i] = view.getUint16(i * 2, true) << 16;
    return data;
  }
  if (dtype === 'F64') {
    const data = new Float32Array(count);
    for (let i = 0; i < count; i++) data[i] = view.getFloat64(i * 8, true);
    return data;
  }
  const data = new Int32Array(count);
  if (dtype === 'I32') for (let i = 0; i < count; i++) data[i] = view.getInt32(i * 4, true);
  else if (dtype === 'I64') for (let i = 0; i < count; i++) data[i] = Number(view.getBigInt64(i * 8, true));
  else
    for (let i = 0; i < count; i++)
      data[i] = BYTES[dtype] === 1 ? view.getUint8(i) : view.getUint16(i * 2, true);
  return data;
}

/** True for the floating-point dtypes (the ones model weights may be stored in). */
export function isFloatDtype(dtype: string): boolean {
  return dtype === 'F32' || dtype === 'F16' || dtype === 'BF16' || dtype === 'F64';
}

/** Parses a safetensors buffer; `file` is used in error messages only. */
export function parseSafetensors(
  buf: Buffer,
  file = '<buffer>',
): { tensors: Map<string, NamedArray>; metadata: Record<string, string> } {
  const { entries, metadata } = parseHeader(buf, buf.length, file);
  const tensors = new Map<string, NamedArray>();
  for (const e of entries) {
    tensors.set(e.name, {
      shape: e.shape,
      data: decodeTensor(buf.subarray(e.offset, e.offset + e.bytes), e.dtype),
    });
  }
  return { tensors, metadata };
}

/** The header of a safetensors file, read without reading its tensors. */
export function readSafetensorsHeader(file: string): {
  entries: TensorEntry[];
  metadata: Record<string, string>;
} {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    const len = Buffer.alloc(8);
    readSync(fd, len, 0, Math.min(8, size), 0);
    const headerLen = size >= 8 ? Number(len.readBigUInt64LE(0)) : 0;
    const head = Buffer.alloc(Math.min(size, 8 + Math.max(0, Math.min(headerLen, size))));
    readSync(fd, head, 0, head.length, 0);
    const { entries, metadata } = parseHeader(head, size, file);
    return { entries, metadata };
  } finally {
    closeSync(fd);
  }
}

/** Reads one tensor of a safetensors file (see {@link readSafetensorsHeader}), widened as {@link decodeTensor}. */
export function readTensor(file: string, entry: TensorEntry): NamedArray {
  const fd = openSync(file, 'r');
  try {
    const raw = Buffer.alloc(entry.bytes);
    let done = 0;
    while (done < entry.bytes) {
      const n = readSync(fd, raw, done, entry.bytes - done, entry.offset + done);
      if (n === 0) throw new Error(`${file}: tensor '${entry.name}' is cut short`);
      done += n;
    }
    return { shape: entry.shape, data: decodeTensor(raw, entry.dtype) };
  } finally {
    closeSync(fd);
  }
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
