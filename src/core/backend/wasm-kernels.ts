/**
 * Our fixes for the gaps of TF.js 4.22's wasm backend (see shared notes, "TF.js wasm backend").
 *
 * 1. `UnsortedSegmentSum` is not registered for wasm, and it is the gradient of `gather`, so embedding
 *    lookups fail in backprop. We register an exact JS kernel that works on the wasm heap.
 * 2. `BatchMatMul` with a transposed operand runs about 10x slower than without (XNNPACK is only used
 *    for the plain layout). We re-register it as a wrapper that materialises the transposes with the
 *    wasm `Transpose` kernel and calls the original kernel with both flags false.
 *
 * Both are registered once, after `tf.setBackend('wasm')`, by {@link registerWasmFixes}.
 */
import * as tf from '@tensorflow/tfjs-core';

type KernelFunc = tf.KernelConfig['kernelFunc'];
interface WasmBackendLike {
  readSync(dataId: object): tf.backend_util.BackendValues;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): tf.backend_util.TypedArray;
  disposeData(dataId: object): boolean;
}

let registered = false;

/** Adds `x`'s rows into `numSegments` buckets named by `segmentIds` (gradient of gather along axis 0). */
const unsortedSegmentSum: KernelFunc = ({ inputs, attrs, backend }) => {
  const wasm = backend as unknown as WasmBackendLike;
  const { x, segmentIds } = inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
  const numSegments = (attrs as { numSegments: number }).numSegments;
  const ids = wasm.readSync(segmentIds.dataId) as Int32Array;
  const values = wasm.readSync(x.dataId) as Float32Array;
  const segShape = segmentIds.shape;
  const rowShape = x.shape.slice(segShape.length);
  const rowSize = rowShape.reduce((a, b) => a * b, 1);
  const out = wasm.makeOutput([numSegments, ...rowShape], x.dtype);
  const outValues = wasm.typedArrayFromHeap(out) as Float32Array;
  outValues.fill(0);
  for (let r = 0; r < ids.length; r++) {
    const s = ids[r];
    if (s < 0 || s >= numSegments) continue;
    const src = r * rowSize;
    const dst = s * rowSize;
    for (let k = 0; k < rowSize; k++) outValues[dst + k] += values[src + k];
  }
  return out;
};

/** Registers the wasm fixes. Call after `await tf.setBackend('wasm')`; safe to call twice. */
export function registerWasmFixes(): void {
  if (registered) return;
  registered = true;
  if (!tf.getKernel('UnsortedSegmentSum', 'wasm')) {
    tf.registerKernel({ kernelName: 'UnsortedSegmentSum', backendName: 'wasm', kernelFunc: unsortedSegmentSum });
  }
  const original = tf.getKernel('BatchMatMul', 'wasm');
  const transposeKernel = tf.getKernel('Transpose', 'wasm');
  if (!original || !transposeKernel) return;
  const transpose = (t: tf.TensorInfo, backend: object): tf.TensorInfo => {
    const rank = t.shape.length;
    const perm = [...Array(rank).keys()];
    perm[rank - 2] = rank - 1;
    perm[rank - 1] = rank - 2;
    return transposeKernel.kernelFunc({
      inputs: { x: t },
      attrs: { perm },
      backend: backend as tf.KernelBackend,
    }) as tf.TensorInfo;
  };
  tf.unregisterKernel('BatchMatMul', 'wasm');
  tf.registerKernel({
    kernelName: 'BatchMatMul',
    backendName: 'wasm',
    kernelFunc: (args) => {
      const { inputs, attrs, backend } = args;
      const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
      const { transposeA, transposeB } = attrs as { transposeA: boolean; transposeB: boolean };
      if (!transposeA && !transposeB) return original.kernelFunc(args);
      const wasm = backend as unknown as WasmBackendLike;
      const a2 = transposeA ? transpose(a, backend) : a;
      const b2 = transposeB ? transpose(b, backend) : b;
      const out = original.kernelFunc({
        inputs: { a: a2, b: b2 },
        attrs: { ...attrs, transposeA: false, transposeB: false },
        backend,
      });
      if (transposeA) wasm.disposeData(a2.dataId);
      if (transposeB) wasm.disposeData(b2.dataId);
      return out;
    },
  });
}
