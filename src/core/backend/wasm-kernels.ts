/**
 * Our fixes for the gaps of TF.js 4.22's wasm backend (see shared notes, "TF.js wasm backend", and
 * `bench/train.ts` for the step they speed up). Each replaces one kernel for the wasm backend only;
 * `test/unit/backend` checks every one against the cpu backend, values and gradients.
 *
 * 1. `UnsortedSegmentSum` is not registered for wasm, and it is the gradient of `gather`, so embedding
 *    lookups fail in backprop. We register an exact JS kernel that works on the wasm heap.
 * 2. `BatchMatMul` only reaches XNNPACK's fast GEMM for one untransposed pair of matrices; with a
 *    transposed operand or a batch (attention) it falls back to a naive loop, 5-15x slower. Ours
 *    transposes operands with a tiled JS loop where needed (the wasm `Transpose` kernel is 10x slower
 *    still), folds batches into rows where the weights are shared, and otherwise runs XNNPACK once per
 *    matrix of the batch on views of the heap (see `wasm-heap.ts`). Where it is cheaper it computes
 *    C^T = op(B)^T op(A)^T and transposes the result. With the opt-in GEMM worker (`wasm-threads.ts`)
 *    big products are split over two threads.
 * 3. `Sum` and `Mean` over leading axes (bias and LayerNorm gradients, column means) transpose the whole
 *    input first in the stock kernel. Ours adds halves pairwise with the SIMD `Add` kernel (log2 n steps,
 *    no transpose). Over all axes too: the stock running float32 sum of the barlow penalty's 262k terms
 *    was off by 7e-5 (relative); pairwise summation is within ~1e-7, like the cpu backend's.
 * 4. `GatherV2` along an axis copies element by element in the stock kernel; ours copies whole rows.
 * 5. `Transpose` is generic and slow (8 ns per element); ours handles the batched 2-D and block cases.
 *    `Slice` and `SplitV` copy the whole input out of the heap per piece; ours copy contiguous runs.
 * 6. `Identity` and same-dtype `Cast` copy their input in the stock kernels; the engine clones every tensor
 *    it saves for backprop, so a training step made ~200 copies. Ours share the data and count a reference
 *    (as the cpu backend and the wasm `Reshape` kernel do; TF.js tensors are immutable).
 *
 * All are registered once, after `tf.setBackend('wasm')`, by {@link registerWasmFixes}.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  heapAdd,
  heapAlloc,
  heapFree,
  isWasmBackend,
  offsetOf,
  transposeBlocksHeap,
  transposeHeap,
  xnnMatMul,
  type WasmBackend,
} from './wasm-heap.js';
import { parallelMatMul, wasmGemmWorkerActive } from './wasm-threads.js';

type KernelFunc = tf.KernelConfig['kernelFunc'];
type KernelArgs = Parameters<KernelFunc>[0];

const prod = (xs: readonly number[]): number => xs.reduce((a, b) => a * b, 1);

let registered = false;

/**
 * Adds `x`'s rows into `numSegments` buckets named by `segmentIds` (the gradient of gather along axis 0),
 * reading and writing the heap in place. Ids outside [0, numSegments) are dropped, as in TF.
 */
const unsortedSegmentSum: KernelFunc = ({ inputs, attrs, backend }) => {
  const be = backend as unknown as WasmBackend;
  const { x, segmentIds } = inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
  const numSegments = (attrs as { numSegments: number }).numSegments;
  if (x.dtype !== 'float32') throw new Error(`UnsortedSegmentSum on wasm: float32 only, got ${x.dtype}`);
  const n = prod(segmentIds.shape);
  const rowShape = x.shape.slice(segmentIds.shape.length);
  const rowSize = prod(rowShape);
  const out = be.makeOutput([numSegments, ...rowShape], x.dtype);
  const h = be.wasm.HEAPF32;
  const o = offsetOf(be, out) >>> 2;
  h.fill(0, o, o + numSegments * rowSize);
  const xs = offsetOf(be, x) >>> 2;
  const ids = be.wasm.HEAP32.subarray(offsetOf(be, segmentIds) >>> 2, (offsetOf(be, segmentIds) >>> 2) + n);
  for (let r = 0; r < n; r++) {
    const s = ids[r];
    if (s < 0 || s >= numSegments) continue;
    const src = xs + r * rowSize;
    const dst = o + s * rowSize;
    for (let k = 0; k < rowSize; k++) h[dst + k] += h[src + k];
  }
  return out;
};

/** Approximate cost, in ns per element, of a tiled transpose and of XNNPACK packing a weight matrix. */
const TRANSPOSE_NS = 0.8;
const PACK_NS = 2.5;

/**
 * The plan {@link fastBatchMatMul} takes for C = op(A) op(B), [M, K] x [K, N] with batch sizes batchA and
 * batchB of which `batch` matrices are made: `direct` packs op(B) as XNNPACK's weights, `flipped` computes
 * C^T = op(B)^T op(A)^T (weights op(A)^T) and transposes it back; the one with less estimated copy and
 * packing time wins.
 */
export function matMulPlan(
  M: number,
  K: number,
  N: number,
  batchA: number,
  batchB: number,
  batch: number,
  ta: boolean,
  tb: boolean,
): 'direct' | 'flipped' {
  const sizeA = M * K;
  const sizeB = K * N;
  const direct =
    TRANSPOSE_NS * ((ta ? batchA * sizeA : 0) + (tb ? batchB * sizeB : 0)) + PACK_NS * batchB * sizeB;
  const flipped =
    TRANSPOSE_NS * ((tb ? 0 : batchB * sizeB) + (ta ? 0 : batchA * sizeA) + batch * M * N) +
    PACK_NS * batchA * sizeA;
  return direct <= flipped ? 'direct' : 'flipped';
}

/**
 * C = op(A) op(B) for float32 [..., M, K] x [..., K, N] with op a transpose where flagged, batch dims
 * equal or 1 on either side. Two plans, both ending in XNNPACK GEMMs on untransposed row-major operands:
 *   direct:     in = op(A) [M, K], weights = op(B) [K, N]          -> C
 *   transposed: in = op(B)^T [N, K], weights = op(A)^T [K, M]      -> C^T, then transposed into C
 * An operand is copied (transposed) only where its stored layout differs from what the plan needs; the
 * plan with the smaller copy + packing cost is taken. Returns null for layouts it does not handle.
 */
function fastBatchMatMul(
  be: WasmBackend,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  ta: boolean,
  tb: boolean,
): tf.TensorInfo | null {
  const ra = a.shape.length;
  const rb = b.shape.length;
  const M = ta ? a.shape[ra - 1] : a.shape[ra - 2];
  const K = ta ? a.shape[ra - 2] : a.shape[ra - 1];
  const Kb = tb ? b.shape[rb - 1] : b.shape[rb - 2];
  const N = tb ? b.shape[rb - 2] : b.shape[rb - 1];
  if (K !== Kb) {
    throw new Error(
      `matMul: inner dimensions ${K} and ${Kb} of shapes [${a.shape}] and [${b.shape}] ` +
        `(transposeA=${ta}, transposeB=${tb}) do not match`,
    );
  }
  const batchShape = tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const batch = prod(batchShape);
  const batchA = prod(a.shape.slice(0, -2));
  const batchB = prod(b.shape.slice(0, -2));
  if ((batchA !== batch && batchA !== 1) || (batchB !== batch && batchB !== 1)) return null;
  const out = be.makeOutput([...batchShape, M, N], 'float32');
  if (batch * M * N === 0) return out;
  const outOff = offsetOf(be, out);
  if (K === 0) {
    be.wasm.HEAPF32.fill(0, outOff >>> 2, (outOff >>> 2) + batch * M * N);
    return out;
  }
  const aOff = offsetOf(be, a);
  const bOff = offsetOf(be, b);
  const sizeA = M * K;
  const sizeB = K * N;
  const plan = matMulPlan(M, K, N, batchA, batchB, batch, ta, tb);
  const temps: number[] = [];
  const temp = (floats: number): number => {
    const p = heapAlloc(be, floats * 4);
    temps.push(p);
    return p;
  };
  try {
    if (plan === 'direct') {
      // in = op(A) as [batchA, M, K]; weights = op(B) as [batchB, K, N].
      let inOff = aOff;
      if (ta) transposeHeap(be, aOff, (inOff = temp(batchA * sizeA)), batchA, K, M);
      let wOff = bOff;
      if (tb) transposeHeap(be, bOff, (wOff = temp(batchB * sizeB)), batchB, N, K);
      gemms(be, inOff, wOff, outOff, batch, batchA, batchB, M, K, N);
    } else {
      // in = op(B)^T as [batchB, N, K]; weights = op(A)^T as [batchA, K, M]; result C^T [batch, N, M].
      let inOff = bOff;
      if (!tb) transposeHeap(be, bOff, (inOff = temp(batchB * sizeB)), batchB, K, N);
      let wOff = aOff;
      if (!ta) transposeHeap(be, aOff, (wOff = temp(batchA * sizeA)), batchA, M, K);
      const ct = temp(batch * M * N);
      gemms(be, inOff, wOff, ct, batch, batchB, batchA, N, K, M);
      transposeHeap(be, ct, outOff, batch, N, M);
    }
  } finally {
    for (const p of temps) heapFree(be, p);
  }
  return out;
}

/**
 * out[i] = in[i] · w[i] for i < batch, with in [batchIn, M, K] and w [batchW, K, N] (batch sizes equal to
 * `batch` or 1, broadcast). With shared weights the batch is folded into the rows: one GEMM.
 */
function gemms(
  be: WasmBackend,
  inOff: number,
  wOff: number,
  outOff: number,
  batch: number,
  batchIn: number,
  batchW: number,
  M: number,
  K: number,
  N: number,
): void {
  if (batchW === 1) {
    if (batchIn === batch) return parallelMatMul(be, inOff, wOff, outOff, batch * M, K, N);
    for (let i = 0; i < batch; i++) xnnMatMul(be, inOff, wOff, outOff + i * M * N * 4, M, K, N);
    return;
  }
  for (let i = 0; i < batch; i++) {
    const inI = inOff + (batchIn === 1 ? 0 : i * M * K * 4);
    xnnMatMul(be, inI, wOff + i * K * N * 4, outOff + i * M * N * 4, M, K, N);
  }
}

/**
 * Sum (or mean) of float32 `x` over its leading `r` axes, [R, C] -> [C], by pairwise halving with the wasm
 * `Add` kernel: rows i and i + R/2 are added, then again on the result, log2(R) times. Returns null when
 * the axes are not a leading block (the stock kernel handles those).
 */
function leadingAxesReduce(be: WasmBackend, args: KernelArgs, mean: boolean): tf.TensorInfo | null {
  const { x } = args.inputs as { x: tf.TensorInfo };
  const { axis, keepDims } = args.attrs as unknown as { axis: number | number[]; keepDims: boolean };
  if (x.dtype !== 'float32') return null;
  const axes = tf.util.parseAxisParam(axis, x.shape).sort((p, q) => p - q);
  const r = axes.length;
  if (r === 0 || axes.some((v, i) => v !== i)) return null; // all axes is a leading block too (C = 1)
  const R = prod(x.shape.slice(0, r));
  const C = prod(x.shape.slice(r));
  if (R < 2 || C === 0) return null;
  const outShape = keepDims ? [...x.shape.slice(0, r).map(() => 1), ...x.shape.slice(r)] : x.shape.slice(r);
  const out = be.makeOutput(outShape, 'float32');
  const outOff = offsetOf(be, out);
  // Ping-pong between two buffers of R/2 and R/4 rows; a leftover odd row is added into row 0.
  const bufs = [heapAlloc(be, (R >> 1) * C * 4), heapAlloc(be, Math.max(1, R >> 2) * C * 4)];
  const row = heapAlloc(be, C * 4);
  try {
    let src = offsetOf(be, x);
    let rows = R;
    let k = 0;
    while (rows > 1) {
      const half = rows >> 1;
      const dst = bufs[k++ % 2];
      heapAdd(be, src, src + half * C * 4, dst, half * C);
      if (rows % 2 === 1) {
        heapAdd(be, dst, src + 2 * half * C * 4, row, C);
        be.wasm.HEAPU8.copyWithin(dst, row, row + C * 4);
      }
      src = dst;
      rows = half;
    }
    const h = be.wasm.HEAPF32;
    const o = outOff >>> 2;
    h.copyWithin(o, src >>> 2, (src >>> 2) + C);
    if (mean) for (let c = 0; c < C; c++) h[o + c] = h[o + c] / R;
  } finally {
    for (const p of [...bufs, row]) heapFree(be, p);
  }
  return out;
}

/**
 * Gather along one axis (batchDims 0) by copying whole inner rows: out[o, j, :] = x[o, indices[j], :].
 * Out-of-range indices throw, naming the index, as the stock kernel does.
 */
function gatherRows(be: WasmBackend, args: KernelArgs): tf.TensorInfo | null {
  const { x, indices } = args.inputs as { x: tf.TensorInfo; indices: tf.TensorInfo };
  const { axis, batchDims } = args.attrs as unknown as { axis: number; batchDims: number };
  if (batchDims !== 0 || (x.dtype !== 'float32' && x.dtype !== 'int32')) return null;
  const ax = tf.util.parseAxisParam(axis, x.shape)[0];
  const outer = prod(x.shape.slice(0, ax));
  const dim = x.shape[ax];
  const inner = prod(x.shape.slice(ax + 1));
  const idx = be.readSync(indices.dataId) as Int32Array;
  for (let j = 0; j < idx.length; j++) {
    if (idx[j] < 0 || idx[j] >= dim)
      throw new Error(`GatherV2: the index value ${idx[j]} is not in [0, ${dim - 1}]`);
  }
  const out = be.makeOutput([...x.shape.slice(0, ax), ...indices.shape, ...x.shape.slice(ax + 1)], x.dtype);
  const n = idx.length;
  if (outer * n * inner === 0) return out;
  const xo = offsetOf(be, x) >>> 2;
  const oo = offsetOf(be, out) >>> 2;
  const h = be.wasm.HEAP32; // 4-byte elements either way: a bit copy
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < n; j++) {
      const src = xo + (o * dim + idx[j]) * inner;
      const dst = oo + (o * n + j) * inner;
      if (inner >= 16) h.copyWithin(dst, src, src + inner);
      else for (let k = 0; k < inner; k++) h[dst + k] = h[src + k];
    }
  }
  return out;
}

/**
 * Transposes whose permutation, after merging axes that stay adjacent, swaps two axes with an optional
 * batch axis before and a contiguous block after ([1,0], [0,2,1], [1,0,2], [0,2,1,3]: matmul operands,
 * attention heads, the Gram gradient's G^T). 4-byte dtypes only; others go to the stock kernel.
 */
function blockTranspose(be: WasmBackend, args: KernelArgs): tf.TensorInfo | null {
  const { x } = args.inputs as { x: tf.TensorInfo };
  const { perm } = args.attrs as unknown as { perm: number[] };
  if (x.dtype !== 'float32' && x.dtype !== 'int32') return null;
  // Merge runs of input axes that appear consecutively in perm: (sizes in input order, merged perm).
  const groups: number[][] = [];
  for (const a of perm) {
    const last = groups[groups.length - 1];
    if (last && a === last[last.length - 1] + 1) last.push(a);
    else groups.push([a]);
  }
  const order = groups.map((g) => g[0]);
  const sorted = [...groups].sort((p, q) => p[0] - q[0]);
  const size = (g: number[]): number => prod(g.map((a) => x.shape[a]));
  const rank = sorted.length;
  const outShape = perm.map((a) => x.shape[a]);
  const at = (k: number): number => sorted.indexOf(groups[k]);
  let batch = 1;
  let inner = 1;
  let rows: number;
  let cols: number;
  if (rank === 1) {
    return null; // identity permutation: the stock kernel shares or copies
  } else if (rank === 2 && at(0) === 1 && at(1) === 0) {
    [rows, cols] = [size(sorted[0]), size(sorted[1])];
  } else if (rank === 3 && order.length === 3 && at(0) === 0 && at(1) === 2 && at(2) === 1) {
    [batch, rows, cols] = [size(sorted[0]), size(sorted[1]), size(sorted[2])];
  } else if (rank === 3 && at(0) === 1 && at(1) === 0 && at(2) === 2) {
    [rows, cols, inner] = [size(sorted[0]), size(sorted[1]), size(sorted[2])];
  } else if (rank === 4 && at(0) === 0 && at(1) === 2 && at(2) === 1 && at(3) === 3) {
    [batch, rows, cols, inner] = sorted.map(size);
  } else {
    return null;
  }
  const out = be.makeOutput(outShape, x.dtype);
  if (batch * rows * cols * inner === 0) return out;
  transposeBlocksHeap(be, offsetOf(be, x), offsetOf(be, out), batch, rows, cols, inner);
  return out;
}

/**
 * x[begin : begin + size] for 4-byte dtypes by copying contiguous runs on the heap. The run is the last
 * partially taken axis together with every (fully taken) axis after it. The stock kernel first copies the
 * whole input out of the heap (`readSync`), once per piece of a split.
 */
function sliceHeap(be: WasmBackend, x: tf.TensorInfo, begin: number[], size: number[]): tf.TensorInfo {
  const out = be.makeOutput(size, x.dtype);
  const count = prod(size);
  if (count === 0) return out;
  const rank = x.shape.length;
  const strides = [...tf.util.computeStrides(x.shape), 1];
  let k = rank - 1;
  while (k > 0 && begin[k] === 0 && size[k] === x.shape[k]) k--;
  const run = size[k] * strides[k];
  const h = be.wasm.HEAP32;
  const xs = (offsetOf(be, x) >>> 2) + begin[k] * strides[k];
  const os = offsetOf(be, out) >>> 2;
  const idx = new Array<number>(k).fill(0);
  for (let i = 0; i < count / run; i++) {
    let src = xs;
    for (let a = 0; a < k; a++) src += (begin[a] + idx[a]) * strides[a];
    const dst = os + i * run;
    if (run >= 16) h.copyWithin(dst, src, src + run);
    else for (let e = 0; e < run; e++) h[dst + e] = h[src + e];
    for (let a = k - 1; a >= 0 && ++idx[a] === size[a]; a--) idx[a] = 0;
  }
  return out;
}

function slice(be: WasmBackend, args: KernelArgs): tf.TensorInfo | null {
  const { x } = args.inputs as { x: tf.TensorInfo };
  const { begin, size } = args.attrs as unknown as { begin: number | number[]; size: number | number[] };
  if (x.dtype !== 'float32' && x.dtype !== 'int32') return null;
  const [b, s] = tf.slice_util.parseSliceParams(x as tf.Tensor, begin, size);
  return sliceHeap(be, x, b, s);
}

/** Split along an axis into pieces of the given sizes: one {@link sliceHeap} per piece. */
function splitV(be: WasmBackend, args: KernelArgs): tf.TensorInfo[] | null {
  const { x } = args.inputs as { x: tf.TensorInfo };
  const { numOrSizeSplits, axis } = args.attrs as unknown as {
    numOrSizeSplits: number | number[];
    axis: number;
  };
  if (x.dtype !== 'float32' && x.dtype !== 'int32') return null;
  const ax = tf.util.parseAxisParam(axis, x.shape)[0];
  const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, numOrSizeSplits, ax);
  const begin = new Array<number>(x.shape.length).fill(0);
  return sizes.map((n) => {
    const size = [...x.shape];
    size[ax] = n;
    const piece = sliceHeap(be, x, [...begin], size);
    begin[ax] += n;
    return piece;
  });
}

/** Identity, or a cast to the same dtype: the same data under one more reference. */
function shareData(be: WasmBackend, args: KernelArgs): tf.TensorInfo | null {
  const { x } = args.inputs as { x: tf.TensorInfo };
  const dtype = (args.attrs as { dtype?: tf.DataType } | undefined)?.dtype ?? x.dtype;
  if (dtype !== x.dtype || x.dtype === 'string' || x.dtype === 'complex64') return null;
  be.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

/** Replaces a wasm kernel by `fast`, which returns null for the cases the original should keep. */
function override(
  name: string,
  fast: (be: WasmBackend, args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[] | null,
): void {
  const original = tf.getKernel(name, 'wasm');
  if (!original) return;
  tf.unregisterKernel(name, 'wasm');
  tf.registerKernel({
    kernelName: name,
    backendName: 'wasm',
    kernelFunc: (args) => fast(args.backend as unknown as WasmBackend, args) ?? original.kernelFunc(args),
  });
}

/**
 * Registers the wasm fixes. Call after `await tf.setBackend('wasm')` (the stock kernels must be set up);
 * safe to call twice. Does nothing if the backend's internals are not the ones these kernels were written
 * for (another tfjs-backend-wasm major version).
 */
export function registerWasmFixes(): void {
  if (registered) return;
  registered = true;
  if (!tf.getKernel('UnsortedSegmentSum', 'wasm')) {
    tf.registerKernel({
      kernelName: 'UnsortedSegmentSum',
      backendName: 'wasm',
      kernelFunc: unsortedSegmentSum,
    });
  }
  if (!isWasmBackend(tf.findBackend('wasm'))) return;
  override('BatchMatMul', (be, { inputs, attrs }) => {
    const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const { transposeA, transposeB } = attrs as unknown as { transposeA: boolean; transposeB: boolean };
    if (a.dtype !== 'float32' || b.dtype !== 'float32') return null;
    // One untransposed pair: the stock kernel is XNNPACK already (and caches packed weights by tensor);
    // with the GEMM worker running we take it too, to split big products between two threads.
    const single = prod(a.shape.slice(0, -2)) === 1 && prod(b.shape.slice(0, -2)) === 1;
    if (!transposeA && !transposeB && single && !wasmGemmWorkerActive()) return null;
    return fastBatchMatMul(be, a, b, transposeA, transposeB);
  });
  override('Sum', (be, args) => leadingAxesReduce(be, args, false));
  override('Mean', (be, args) => leadingAxesReduce(be, args, true));
  override('GatherV2', gatherRows);
  override('Transpose', blockTranspose);
  override('Slice', slice);
  override('SplitV', splitV);
  override('Identity', shareData);
  override('Cast', shareData);
}
