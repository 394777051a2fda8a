/**
 * A second core for the wasm backend's big matrix products. TF.js's wasm backend runs single-threaded in
 * Node (its threaded build is not used there, and its matmul passes no thread pool to XNNPACK anyway), and
 * after our kernel fixes GEMMs are ~75% of a training step. So, opt-in: {@link startWasmGemmWorker} starts
 * one worker thread with its own wasm instance, and {@link parallelMatMul} gives it the last rows of each
 * big product: the main thread copies those rows and the weights into a SharedArrayBuffer, wakes the
 * worker (Atomics), computes its own rows meanwhile, waits, and copies the worker's rows back. Kernels
 * stay synchronous, as TF.js needs.
 */
import { availableParallelism } from 'node:os';
import { MessageChannel, type MessagePort, type Worker } from 'node:worker_threads';
import { xnnMatMul, type WasmBackend } from './wasm-heap.js';
import { startWorkerScript } from '../worker-script.js';

interface GemmWorker {
  worker: Worker;
  ctrl: Int32Array;
  data: Float32Array;
  port: MessagePort;
}

let active: GemmWorker | null = null;
let jobs = 0;

/** Products smaller than this many multiply-adds, or with fewer rows, stay on the main thread. */
const MIN_MACS = 1 << 23;
const MIN_ROWS = 128;

/** Starts the GEMM worker thread (see {@link startWorkerScript}). */
function spawn(workerData: object, transfer: MessagePort[]): Worker {
  return startWorkerScript(import.meta.url, 'wasm-gemm-worker', { workerData, transferList: transfer });
}

/**
 * Starts the GEMM worker (once; resolves when its wasm backend is ready). Call after `initBackend('wasm')`.
 * From then on, big products in our BatchMatMul kernel use two threads.
 */
export async function startWasmGemmWorker(): Promise<void> {
  if (active) return;
  const ctrl = new SharedArrayBuffer(16 * 4);
  const data = new SharedArrayBuffer(4 << 20);
  const { port1, port2 } = new MessageChannel();
  const worker = spawn({ ctrl, data, port: port2 }, [port2]);
  await new Promise<void>((resolve, reject) => {
    worker.once('message', () => resolve());
    worker.once('error', (e) => reject(new Error(`wasm GEMM worker failed to start: ${e.message}`)));
    worker.once('exit', (code) =>
      reject(new Error(`wasm GEMM worker exited with code ${code} before it was ready`)),
    );
  });
  worker.unref();
  active = { worker, ctrl: new Int32Array(ctrl), data: new Float32Array(data), port: port1 };
}

/** Stops the GEMM worker, if any; products run on one thread again. */
export async function stopWasmGemmWorker(): Promise<void> {
  if (!active) return;
  const { worker, ctrl, port } = active;
  active = null;
  Atomics.store(ctrl, 0, -1);
  Atomics.notify(ctrl, 0);
  port.close();
  await worker.terminate();
}

/**
 * Runs `work` with the GEMM worker when the backend is wasm and the machine has a second core (results are
 * bit-identical to one thread), then stops it; when the worker already runs, `work` just uses it.
 */
export async function withWasmGemmWorker<T>(backend: string, work: () => T | Promise<T>): Promise<T> {
  const start = backend === 'wasm' && !active && availableParallelism() >= 2;
  if (start) await startWasmGemmWorker();
  try {
    return await work();
  } finally {
    if (start) await stopWasmGemmWorker();
  }
}

/** How many products the worker has shared in this process (for tests and benchmarks). */
export function wasmGemmWorkerJobs(): number {
  return jobs;
}

/** Whether big products currently use the worker thread. */
export function wasmGemmWorkerActive(): boolean {
  return active !== null;
}

/** Runs one job on the worker: returns after `state` was taken and the worker is idle again. */
function signal(w: GemmWorker, state: number): void {
  Atomics.store(w.ctrl, 0, state);
  Atomics.notify(w.ctrl, 0);
}

/**
 * Blocks until the worker is idle. The state is read once per round and that same value is waited on: reading
 * it again for the wait (as an earlier version did) loses the wake-up when the worker goes idle in between,
 * and then waits for ever on a 0 that never changes.
 */
function waitIdle(w: GemmWorker): void {
  for (;;) {
    const state = Atomics.load(w.ctrl, 0);
    if (state === 0) return;
    Atomics.wait(w.ctrl, 0, state);
  }
}

/**
 * out[M, N] = in[M, K] · w[K, N] (row-major float32 at heap byte offsets), split by rows between this thread
 * and the GEMM worker when one runs and the product is big enough; otherwise one XNNPACK call here.
 */
export function parallelMatMul(
  be: WasmBackend,
  inOff: number,
  wOff: number,
  outOff: number,
  M: number,
  K: number,
  N: number,
): void {
  const w = active;
  if (!w || M < MIN_ROWS || M * K * N < MIN_MACS) return xnnMatMul(be, inOff, wOff, outOff, M, K, N);
  const M2 = M >> 1; // the worker's rows: the last M2
  const M1 = M - M2;
  const floats = M2 * K + K * N + M2 * N;
  if (floats > w.data.length) {
    const buffer = new SharedArrayBuffer(Math.ceil((floats * 4 * 1.25) / 65536) * 65536);
    w.data = new Float32Array(buffer);
    w.port.postMessage({ data: buffer });
    signal(w, 2);
    waitIdle(w);
  }
  const h = be.wasm.HEAPF32;
  const in2 = (inOff >>> 2) + M1 * K;
  w.data.set(h.subarray(in2, in2 + M2 * K), 0);
  w.data.set(h.subarray(wOff >>> 2, (wOff >>> 2) + K * N), M2 * K);
  w.ctrl[1] = M2;
  w.ctrl[2] = K;
  w.ctrl[3] = N;
  signal(w, 1);
  jobs++;
  xnnMatMul(be, inOff, wOff, outOff, M1, K, N);
  waitIdle(w);
  const o = M2 * K + K * N;
  be.wasm.HEAPF32.set(w.data.subarray(o, o + M2 * N), (outOff >>> 2) + M1 * N);
}
