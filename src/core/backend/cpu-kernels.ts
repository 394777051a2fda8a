/**
 * Our fix for the TF.js cpu backend: its `UnsortedSegmentSum` (the gradient of `gather`) builds one
 * equality mask and one full-size product per segment, O(segments x rows x width) work in ~5 kernels per
 * segment. Gathering 1024 rows out of [2048, 512] activations then costs minutes per training step
 * (a DecPO step at d_model 128 took 260 s on cpu, 98% of it here). Ours is the one-pass loop, exact.
 * Registered once by {@link registerCpuFixes} (initBackend does it).
 */
import * as tf from '@tensorflow/tfjs-core';

/** The part of the cpu backend (`MathBackendCPU`) we use. */
interface CpuBackend {
  readSync(dataId: object): tf.backend_util.BackendValues;
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: tf.backend_util.BackendValues): tf.TensorInfo;
}

let registered = false;

/**
 * out[s] = sum of the rows x[r] with segmentIds[r] = s, for s < numSegments (TF's UnsortedSegmentSum;
 * ids outside [0, numSegments) are dropped). x: [n, ...row], segmentIds: [n] int32.
 */
const unsortedSegmentSum: tf.KernelFunc = ({ inputs, attrs, backend }) => {
  const cpu = backend as unknown as CpuBackend;
  const { x, segmentIds } = inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
  const numSegments = (attrs as { numSegments: number }).numSegments;
  const rowShape = x.shape.slice(segmentIds.shape.length);
  const rowSize = rowShape.reduce((a, b) => a * b, 1);
  const values = cpu.readSync(x.dataId) as Float32Array | Int32Array;
  const ids = cpu.readSync(segmentIds.dataId) as Int32Array;
  const out =
    x.dtype === 'int32' ? new Int32Array(numSegments * rowSize) : new Float32Array(numSegments * rowSize);
  for (let r = 0; r < ids.length; r++) {
    const s = ids[r];
    if (s < 0 || s >= numSegments) continue;
    const src = r * rowSize;
    const dst = s * rowSize;
    for (let k = 0; k < rowSize; k++) out[dst + k] += values[src + k];
  }
  return cpu.makeTensorInfo([numSegments, ...rowShape], x.dtype, out);
};

/** Registers the cpu fix (after the cpu backend is loaded); safe to call twice. */
export function registerCpuFixes(): void {
  if (registered || !tf.getKernel('UnsortedSegmentSum', 'cpu')) return;
  registered = true;
  tf.unregisterKernel('UnsortedSegmentSum', 'cpu');
  tf.registerKernel({ kernelName: 'UnsortedSegmentSum', backendName: 'cpu', kernelFunc: unsortedSegmentSum });
}
