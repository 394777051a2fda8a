/**
 * Our fixes for TF.js 4.22's WebGPU backend (Dawn through the `webgpu` package in Node, or a browser's
 * WebGPU), the way `wasm-kernels.ts` fixes wasm. `test/integration/webgpu-equality.test.ts` checks a whole
 * DecPO step against the cpu backend.
 *
 * 1. Device errors never pass silently. WebGPU reports a failed pipeline, an out-of-memory allocation or a
 *    lost device only to the device's `uncapturederror` event and `lost` promise; TF.js listens to neither,
 *    so a step whose kernels never ran used to return zeros with exit code 0. We record the first error
 *    and make every read of a tensor's data on this backend throw it (with the pipeline's label, which
 *    TF.js sets to the kernel's program name): the step, evaluation or recording that reads its results
 *    fails with Dawn's message.
 * 2. `AddN` binds one storage buffer per input plus one for the output, and a device grants at most
 *    `maxStorageBuffersPerShaderStage` (8 on many adapters: TF.js does not ask for more). The gradient of a
 *    weight used in many places sums more terms than that. Ours adds at most limit - 1 inputs per
 *    program and sums the partial sums the same way (`Concat` already splits its inputs so).
 *
 * All are registered once, after `tf.setBackend('webgpu')`, by {@link registerWebgpuFixes}.
 */
import * as tf from '@tensorflow/tfjs-core';

/** The parts of TF.js's WebGPU backend and of the WebGPU device that the fixes use. */
interface WebgpuBackend {
  device: GpuDevice;
  read(dataId: object): Promise<tf.backend_util.BackendValues>;
  readSync(dataId: object): tf.backend_util.BackendValues;
  disposeData(dataId: object): boolean;
}

interface GpuDevice {
  limits: { maxStorageBuffersPerShaderStage: number };
  lost: Promise<{ reason: string; message: string }>;
  addEventListener(type: 'uncapturederror', f: (e: { error: { message: string } }) => void): void;
}

type KernelFunc = tf.KernelConfig['kernelFunc'];

let registered = false;
/** The first device error seen, as a sentence; null while none happened. */
let deviceError: string | null = null;

/**
 * Words for a WebGPU error: its kind (from the error's class), the pipeline it names if any, and Dawn's
 * message (the first lines: the rest is a call trace).
 */
export function describeWebgpuError(kind: string, message: string): string {
  const pipeline = /(?:Pipeline|PipelineDescriptor)\s+"+([^"]+)"+/.exec(message)?.[1];
  const text = message.trim().split('\n').slice(0, 4).join(' ').replace(/\s+/g, ' ');
  return `WebGPU ${kind}${pipeline ? ` in kernel program '${pipeline}'` : ''}: ${text}`;
}

function errorKind(error: object): string {
  const name = error.constructor?.name ?? '';
  if (/Validation/.test(name)) return 'validation error';
  if (/OutOfMemory/.test(name)) return 'out-of-memory error';
  if (/Internal/.test(name)) return 'internal error';
  return 'device error';
}

/** Throws the first device error seen, if any. */
export function throwIfWebgpuFailed(): void {
  if (deviceError) throw new Error(`${deviceError} (the results of this step are not valid)`);
}

/** Records the device's errors and its loss, and makes every read of tensor data check for them. */
function watchDevice(be: WebgpuBackend): void {
  be.device.addEventListener('uncapturederror', (e) => {
    deviceError ??= describeWebgpuError(errorKind(e.error), e.error.message);
  });
  void be.device.lost.then((info) => {
    deviceError ??= `WebGPU device lost (${info.reason}): ${info.message}`;
  });
  const read = be.read.bind(be);
  const readSync = be.readSync.bind(be);
  be.read = async (dataId) => {
    throwIfWebgpuFailed();
    const values = await read(dataId);
    throwIfWebgpuFailed();
    return values;
  };
  be.readSync = (dataId) => {
    throwIfWebgpuFailed();
    const values = readSync(dataId);
    throwIfWebgpuFailed();
    return values;
  };
}

/**
 * `AddN` in programs of at most `maxInputs` inputs: sums groups with the stock kernel, then the groups'
 * sums, until one tensor is left. Float addition is commutative, so only the grouping differs from one
 * program (as it does between backends).
 */
function chunkedAddN(original: KernelFunc, maxInputs: number): KernelFunc {
  return (args) => {
    const be = args.backend as unknown as WebgpuBackend;
    let level = args.inputs as unknown as tf.TensorInfo[];
    let owned = false;
    while (level.length > maxInputs) {
      const next: tf.TensorInfo[] = [];
      for (let i = 0; i < level.length; i += maxInputs) {
        const group = level.slice(i, i + maxInputs);
        next.push(original({ ...args, inputs: group as unknown as tf.NamedTensorInfoMap }) as tf.TensorInfo);
      }
      if (owned) for (const t of level) be.disposeData(t.dataId);
      level = next;
      owned = true;
    }
    const out = original({ ...args, inputs: level as unknown as tf.NamedTensorInfoMap }) as tf.TensorInfo;
    if (owned) for (const t of level) be.disposeData(t.dataId);
    return out;
  };
}

/**
 * Registers the WebGPU fixes. Call after `await tf.setBackend('webgpu')` (the device must exist); safe to
 * call twice.
 */
export function registerWebgpuFixes(): void {
  if (registered) return;
  const be = tf.findBackend('webgpu') as unknown as WebgpuBackend | undefined;
  if (!be?.device) return;
  registered = true;
  watchDevice(be);
  const addN = tf.getKernel('AddN', 'webgpu');
  if (addN) {
    tf.unregisterKernel('AddN', 'webgpu');
    tf.registerKernel({
      kernelName: 'AddN',
      backendName: 'webgpu',
      kernelFunc: chunkedAddN(addN.kernelFunc, be.device.limits.maxStorageBuffersPerShaderStage - 1),
    });
  }
}
