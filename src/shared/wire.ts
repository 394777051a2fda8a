/**
 * The wire format of API results over HTTP. Plain results are JSON. Results that hold typed arrays (a
 * 2,048 x 2,048 correlation matrix is 16 MB of float32) travel as an envelope instead, so the arrays are
 * never turned into text:
 *
 *   "MSE1" | u32 LE: length of the JSON | JSON (UTF-8), padded to 8 bytes | the arrays' bytes, each 8-aligned
 *
 * In the JSON each array is replaced by `{"$typed": "Float32Array", "offset": o, "length": n}`. Over
 * Electron IPC no envelope is needed: structured clone carries typed arrays as they are.
 */

export const ENVELOPE_TYPE = 'application/x-monoscope-envelope';
const MAGIC = 0x3145534d; // "MSE1" little-endian

type Typed =
  Float32Array | Float64Array | Int32Array | Uint16Array | Uint8Array | Uint32Array | Int8Array | Int16Array;
const CTORS = {
  Float32Array,
  Float64Array,
  Int32Array,
  Uint16Array,
  Uint8Array,
  Uint32Array,
  Int8Array,
  Int16Array,
} as const;
type CtorName = keyof typeof CTORS;

function typedName(v: unknown): CtorName | null {
  if (!ArrayBuffer.isView(v) || v instanceof DataView) return null;
  const name = v.constructor.name as CtorName;
  return name in CTORS ? name : null;
}

/** Whether a value holds any typed array (then it goes as an envelope). */
export function hasTypedArrays(v: unknown): boolean {
  if (typedName(v)) return true;
  if (Array.isArray(v)) return v.some(hasTypedArrays);
  if (v && typeof v === 'object') return Object.values(v).some(hasTypedArrays);
  return false;
}

/** Encodes a value with typed arrays as an envelope. */
export function encodeEnvelope(value: unknown): Uint8Array {
  const blobs: Typed[] = [];
  let offset = 0;
  const json = JSON.stringify(value, (_k, v) => {
    const name = typedName(v);
    if (!name) return v;
    const t = v as Typed;
    const ref = { $typed: name, offset, length: t.length };
    blobs.push(t);
    offset += Math.ceil(t.byteLength / 8) * 8;
    return ref;
  });
  const head = new TextEncoder().encode(json);
  const headPadded = Math.ceil((8 + head.length) / 8) * 8;
  const out = new Uint8Array(headPadded + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, head.length, true);
  out.set(head, 8);
  let pos = headPadded;
  for (const b of blobs) {
    out.set(new Uint8Array(b.buffer, b.byteOffset, b.byteLength), pos);
    pos += Math.ceil(b.byteLength / 8) * 8;
  }
  return out;
}

/** Decodes an envelope (the arrays are views on `buf`, not copies). */
export function decodeEnvelope(buf: ArrayBuffer): unknown {
  const view = new DataView(buf);
  if (buf.byteLength < 8 || view.getUint32(0, true) !== MAGIC) throw new Error('not a Monoscope envelope');
  const len = view.getUint32(4, true);
  const json = new TextDecoder().decode(new Uint8Array(buf, 8, len));
  const base = Math.ceil((8 + len) / 8) * 8;
  return JSON.parse(json, (_k, v) => {
    if (v && typeof v === 'object' && typeof v.$typed === 'string' && v.$typed in CTORS) {
      const Ctor = CTORS[v.$typed as CtorName];
      return new Ctor(buf, base + v.offset, v.length);
    }
    return v;
  });
}
