/**
 * Direct access to the TF.js wasm backend's heap, for our kernels (see `wasm-kernels.ts`).
 *
 * The wasm backend is an Emscripten module: every tensor is a block of its linear memory, known to the C++
 * side by an integer id (`register_tensor(id, size, offset)`). C++ kernels take ids, not pointers, and
 * never free memory (JS does). So we can give the C++ kernels a *view*: register a fresh id on any
 * offset inside an existing block (one matrix of a batch, a temporary buffer), call the kernel, and forget
 * the id again. That is how {@link xnnMatMul} runs XNNPACK's fast GEMM on pieces of tensors without copies.
 *
 * The heap grows to 4 GiB, so byte offsets are unsigned 32-bit: an element index of a 4-byte view is
 * `offset >>> 2`, never `offset >> 2`, which turns offsets past 2 GiB negative, and typed arrays' `fill`,
 * `copyWithin` and `subarray` count negative indices from the end of the heap (a GPT-2-small forward pass
 * reaches ~3 GiB; `test/unit/backend/wasm-high-heap.test.ts`).
 */
import type * as tf from '@tensorflow/tfjs-core';

/** The parts of the Emscripten module of `@tensorflow/tfjs-backend-wasm` 4.x that we use. */
export interface WasmModule {
  HEAPU8: Uint8Array;
  HEAP32: Int32Array;
  HEAPF32: Float32Array;
  _malloc(bytes: number): number;
  _free(ptr: number): void;
  /** C signature: (a_id, a_shape*, a_rank, b_id, b_shape*, b_rank, transpose_a, transpose_b, out_id). */
  _BatchMatMul(
    aId: number,
    aShape: number,
    aRank: number,
    bId: number,
    bShape: number,
    bRank: number,
    ta: number,
    tb: number,
    outId: number,
  ): void;
  /** C signature of binary kernels: (a_id, a_shape*, a_rank, b_id, b_shape*, b_rank, dtype, out_id). */
  _Add(
    aId: number,
    aShape: number,
    aRank: number,
    bId: number,
    bShape: number,
    bRank: number,
    dtype: number,
    outId: number,
  ): void;
  tfjs: {
    registerTensor(id: number, size: number, offset: number): void;
    disposeData(id: number): void;
  };
}

/** The parts of `BackendWasm` that we use. */
export interface WasmBackend {
  wasm: WasmModule;
  dataIdMap: { get(dataId: object): { id: number; memoryOffset: number } | undefined };
  dataIdNextNumber: number;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  readSync(dataId: object): tf.backend_util.BackendValues;
  disposeData(dataId: object, force?: boolean): boolean;
  incRef(dataId: object): void;
}

/** True when `backend` looks like TF.js 4.x's wasm backend (the fields our kernels rely on exist). */
export function isWasmBackend(backend: unknown): backend is WasmBackend {
  const b = backend as Partial<WasmBackend> | null;
  const m = b?.wasm as Partial<WasmModule> | undefined;
  return (
    !!m &&
    !!b?.dataIdMap &&
    typeof b.dataIdNextNumber === 'number' &&
    typeof b.incRef === 'function' &&
    typeof m._malloc === 'function' &&
    typeof m._BatchMatMul === 'function' &&
    typeof m._Add === 'function' &&
    typeof m.tfjs?.registerTensor === 'function'
  );
}

/** Byte offset of a tensor's data in the wasm heap. */
export function offsetOf(be: WasmBackend, t: tf.TensorInfo): number {
  const d = be.dataIdMap.get(t.dataId);
  if (!d) throw new Error('wasm kernel: tensor data not found on the wasm backend (was it disposed?)');
  return d.memoryOffset;
}

/** Registers a C++ view of `size` elements at byte `offset` and returns its id; free it with {@link dropView}. */
function view(be: WasmBackend, offset: number, size: number): number {
  const id = be.dataIdNextNumber++;
  be.wasm.tfjs.registerTensor(id, size, offset);
  return id;
}

function dropView(be: WasmBackend, id: number): void {
  be.wasm.tfjs.disposeData(id); // also deletes XNNPACK operators cached for this id; frees no memory
}

/** A small buffer on the heap for shape arrays (int32), made once per module. */
const scratch = new WeakMap<WasmModule, number>();
function shapeScratch(m: WasmModule): number {
  let p = scratch.get(m);
  if (p === undefined) {
    p = m._malloc(64);
    scratch.set(m, p);
  }
  return p;
}

/** A block of the heap: its byte offset and its number of float32 elements. */
type Block = [offset: number, size: number];

/**
 * Calls a binary kernel on C++ views of the blocks `a`, `b` and `out` (their ids, and the shape scratch
 * buffer `s` to write shapes into), then drops the views.
 */
function onViews(
  be: WasmBackend,
  a: Block,
  b: Block,
  out: Block,
  kernel: (m: WasmModule, aId: number, bId: number, outId: number, s: number) => void,
): void {
  const aId = view(be, ...a);
  const bId = view(be, ...b);
  const outId = view(be, ...out);
  kernel(be.wasm, aId, bId, outId, shapeScratch(be.wasm));
  dropView(be, aId);
  dropView(be, bId);
  dropView(be, outId);
}

/**
 * out[M, N] = a[M, K] · b[K, N], all row-major float32 at byte offsets in the heap, by one call of the wasm
 * backend's XNNPACK fully-connected path (the fast one: it is only taken for a single, untransposed
 * matrix pair, which is exactly what we give it).
 */
export function xnnMatMul(
  be: WasmBackend,
  a: number,
  b: number,
  out: number,
  M: number,
  K: number,
  N: number,
): void {
  onViews(be, [a, M * K], [b, K * N], [out, M * N], (m, aId, bId, outId, s) => {
    m.HEAP32.set([1, M, K, 1, K, N], s >>> 2);
    m._BatchMatMul(aId, s, 3, bId, s + 12, 3, 0, 0, outId);
  });
}

/** out[n] = a[n] + b[n] for float32 blocks of n elements at byte offsets (the wasm `Add` kernel, SIMD). */
export function heapAdd(be: WasmBackend, a: number, b: number, out: number, n: number): void {
  onViews(be, [a, n], [b, n], [out, n], (m, aId, bId, outId, s) => {
    m.HEAP32[s >>> 2] = n;
    m._Add(aId, s, 1, bId, s, 1, 0 /* float32 */, outId);
  });
}

/**
 * Batched matrix transpose on the heap: dst[b][c][r] = src[b][r][c] for `batch` row-major [R, C] float32
 * matrices at byte offsets `src` and `dst` (which must not overlap). 64 x 64 tiles, four columns at a
 * time (one read of 4 adjacent floats feeds 4 output rows): ~0.7 ns per element, ~10x faster than the
 * wasm backend's generic Transpose kernel on [2048, 512].
 */
export function transposeHeap(
  be: WasmBackend,
  src: number,
  dst: number,
  batch: number,
  R: number,
  C: number,
): void {
  const h = be.wasm.HEAPF32;
  const TILE = 64;
  for (let b = 0; b < batch; b++) {
    const s0 = (src >>> 2) + b * R * C;
    const d0 = (dst >>> 2) + b * R * C;
    for (let c0 = 0; c0 < C; c0 += TILE) {
      const c1 = Math.min(c0 + TILE, C);
      for (let r0 = 0; r0 < R; r0 += TILE) {
        const r1 = Math.min(r0 + TILE, R);
        let c = c0;
        for (; c + 4 <= c1; c += 4) {
          const e0 = d0 + c * R;
          const e1 = e0 + R;
          const e2 = e1 + R;
          const e3 = e2 + R;
          for (let r = r0; r < r1; r++) {
            const s = s0 + r * C + c;
            h[e0 + r] = h[s];
            h[e1 + r] = h[s + 1];
            h[e2 + r] = h[s + 2];
            h[e3 + r] = h[s + 3];
          }
        }
        for (; c < c1; c++) {
          const e = d0 + c * R;
          for (let r = r0; r < r1; r++) h[e + r] = h[s0 + r * C + c];
        }
      }
    }
  }
}

/**
 * Batched transpose of blocks: dst[b][c][r][:] = src[b][r][c][:] for `batch` row-major [R, C] matrices of
 * `inner`-float blocks (attention's [B, T, H, hd] -> [B, H, T, hd] is batch B, R T, C H, inner hd).
 */
export function transposeBlocksHeap(
  be: WasmBackend,
  src: number,
  dst: number,
  batch: number,
  R: number,
  C: number,
  inner: number,
): void {
  if (inner === 1) return transposeHeap(be, src, dst, batch, R, C);
  const h = be.wasm.HEAPF32;
  for (let b = 0; b < batch; b++) {
    const s0 = (src >>> 2) + b * R * C * inner;
    const d0 = (dst >>> 2) + b * R * C * inner;
    for (let r = 0; r < R; r++) {
      for (let c = 0; c < C; c++) {
        const s = s0 + (r * C + c) * inner;
        h.copyWithin(d0 + (c * R + r) * inner, s, s + inner);
      }
    }
  }
}

/** Allocates `bytes` on the heap (free with {@link heapFree}). */
export function heapAlloc(be: WasmBackend, bytes: number): number {
  const p = be.wasm._malloc(Math.max(4, bytes)) >>> 0;
  if (p === 0) throw new Error(`wasm kernel: out of wasm memory allocating ${bytes} bytes`);
  return p;
}

/** Frees a block from {@link heapAlloc}. */
export function heapFree(be: WasmBackend, ptr: number): void {
  be.wasm._free(ptr);
}
