import { describe, expect, it } from 'vitest';
import { Float16Array } from '@petamoriken/float16';
import { float16BitsToFloat32, float32ToFloat16Bits } from '../../../src/core/store/float16.js';

/** IEEE binary16 value of a bit pattern, from the definition (sign, 5-bit exponent, 10-bit mantissa). */
function halfValue(bits: number): number {
  const s = bits & 0x8000 ? -1 : 1;
  const e = (bits >> 10) & 0x1f;
  const m = bits & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (m / 1024);
  if (e === 31) return m ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + m / 1024);
}

/** The library's encoding, the reference. */
function libBits(values: Float32Array): Uint16Array {
  const h = new Float16Array(values);
  return new Uint16Array(h.buffer);
}

describe('float16', () => {
  it('decodes every bit pattern to its IEEE binary16 value', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const out = float16BitsToFloat32(all);
    const bad: number[] = [];
    for (let b = 0; b < 65536; b++) {
      const want = halfValue(b);
      if (Number.isNaN(want) ? !Number.isNaN(out[b]) : out[b] !== want) bad.push(b);
    }
    expect(bad).toEqual([]);
  });

  it('encodes every half value back to its own bits (NaN to a quiet NaN)', () => {
    const values = float16BitsToFloat32(new Uint16Array(65536).map((_, i) => i));
    const bits = float32ToFloat16Bits(values);
    const bad: number[] = [];
    for (let b = 0; b < 65536; b++) {
      const isNaN = (b & 0x7c00) === 0x7c00 && (b & 0x3ff) !== 0;
      if (bits[b] !== (isNaN ? (b & 0x8000) | 0x7e00 : b)) bad.push(b);
    }
    expect(bad).toEqual([]);
  });

  it('rounds midpoints to even and neighbours of midpoints to nearest, bit for bit as @petamoriken/float16', () => {
    const vals: number[] = [];
    const f = new Float32Array(1);
    const u = new Uint32Array(f.buffer);
    for (let b = 0; b < 0x7bff; b++) {
      for (const sign of [1, -1]) {
        const mid = (sign * (halfValue(b) + halfValue(b + 1))) / 2;
        f[0] = mid;
        vals.push(f[0]);
        u[0] += 1;
        vals.push(f[0]);
        u[0] -= 2;
        vals.push(f[0]);
      }
    }
    const x = Float32Array.from(vals);
    expect(Array.from(float32ToFloat16Bits(x))).toEqual(Array.from(libBits(x)));
  });

  it('matches the library on random floats over the whole exponent range, and on the edges', () => {
    const n = 200_000;
    const x = new Float32Array(n);
    const u = new Uint32Array(x.buffer);
    let s = 12345;
    for (let i = 0; i < n; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      u[i] = s; // any bit pattern: normals, subnormals, huge, NaN
    }
    x.set(
      [
        0,
        -0,
        65504,
        65519.99,
        65520,
        -65520,
        1e9,
        2 ** -24,
        2 ** -25,
        2 ** -25 * 1.0001,
        2 ** -26,
        1e-30,
        6.1e-5,
      ],
      0,
    );
    const ours = float32ToFloat16Bits(x);
    const ref = libBits(x);
    for (let i = 0; i < n; i++) {
      if (Number.isNaN(x[i])) expect((ours[i] & 0x7c00) === 0x7c00 && (ours[i] & 0x3ff) !== 0).toBe(true);
      else if (ours[i] !== ref[i])
        expect.fail(
          `value ${x[i]} (0x${u[i].toString(16)}): got 0x${ours[i].toString(16)}, library 0x${ref[i].toString(16)}`,
        );
    }
    expect(ours[3]).toBe(0x7bff); // 65519.99 -> 65504
    expect(ours[4]).toBe(0x7c00); // 65520 -> Infinity
    expect(ours[8]).toBe(0x0000); // 2^-25 is a tie between 0 and 2^-24: even is 0
    expect(ours[9]).toBe(0x0001);
  });
});
