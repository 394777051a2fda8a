/**
 * Picks and prepares the TF.js backend, and reports which backends this machine can use and why not.
 *
 * Order for `auto`: tfjs-node-gpu, tfjs-node (both optional native packages, registered as
 * `tensorflow`), then WebGPU when a hardware adapter exists (the `webgpu` package in Node; software
 * adapters such as SwiftShader or llvmpipe are slower than wasm and only used when asked for), then wasm
 * (with our kernel fixes), then cpu. The choice is made once per process: TF.js cannot switch WebGPU back and forth.
 */
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
// The union package registers every op's gradient (tfjs-core's Node bundle registers none).
import '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-cpu';
import { registerCpuFixes } from './cpu-kernels.js';
import { registerWasmFixes } from './wasm-kernels.js';
import { registerWebgpuFixes } from './webgpu-kernels.js';
import { vulkanLoaderPresent } from './vulkan.js';

import { BACKEND_NAMES, type BackendName } from '../names.js';

export { BACKEND_NAMES, type BackendName };
export type BackendChoice = BackendName | 'auto';

/** What a backend probe found. */
export interface BackendProbe {
  name: BackendName;
  usable: boolean;
  /** Why it is or is not usable, in words a user can act on. */
  reason: string;
  /** The package that provides it, with its version, when installed. */
  package?: string;
  /** The device, when known (GPU adapter name, CPU model). */
  device?: string;
  /** Why `auto` passes over this usable backend (a software WebGPU adapter), if it does. */
  autoSkip?: string;
}

/** The backend a run actually used, recorded with every run. */
export interface BackendInfo {
  backend: BackendName;
  device: string;
  versions: Record<string, string>;
  /** Threads the backend uses, where that is known. */
  threads?: number;
}

const require = createRequire(import.meta.url);
let active: BackendInfo | null = null;

function packageVersion(name: string): string | undefined {
  try {
    return (require(`${name}/package.json`) as { version: string }).version;
  } catch {
    return undefined;
  }
}

function cpuModel(): string {
  try {
    const os = require('node:os') as typeof import('node:os');
    const cpus = os.cpus();
    return `${cpus[0]?.model?.trim() ?? 'cpu'} x${cpus.length}`;
  } catch {
    return 'cpu';
  }
}

async function probeTensorflow(): Promise<BackendProbe & { load?: () => Promise<void> }> {
  const tried: string[] = [];
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    const version = packageVersion(pkg);
    if (!version) {
      tried.push(`${pkg} is not installed`);
      continue;
    }
    try {
      require(pkg);
      return {
        name: 'tensorflow',
        usable: true,
        reason: `${pkg} ${version} loaded (libtensorflow)`,
        package: `${pkg}@${version}`,
        device: pkg.endsWith('-gpu') ? 'CUDA (libtensorflow-gpu)' : cpuModel(),
      };
    } catch (e) {
      tried.push(`${pkg} ${version} is installed but failed to load: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  return {
    name: 'tensorflow',
    usable: false,
    reason: `${tried.join('; ')}. Install @tensorflow/tfjs-node (or -gpu with CUDA 11.2 + cuDNN 8.1) where libtensorflow can be downloaded.`,
  };
}

/** What the WebGPU adapter probe found: the adapter's words, or why there is none. */
interface AdapterFound {
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
  isFallbackAdapter?: boolean;
}

/**
 * Asks Dawn for an adapter in a child process: Dawn prints the Vulkan loader's complaints ("Found no
 * drivers!") and C++ traces on stderr when it finds no adapter, so the child's stderr is kept and its
 * first messages become the reason. Returns the adapter's info, or null with Dawn's words.
 */
function probeDawnAdapter(): Promise<{ adapter: AdapterFound | null; messages: string }> {
  const url = pathToFileURL(require.resolve('webgpu')).href;
  const code = `
    const { create } = await import(${JSON.stringify(url)});
    const a = await create([]).requestAdapter();
    const i = a && a.info;
    const out = a && { vendor: i.vendor, architecture: i.architecture, device: i.device, description: i.description,
      isFallbackAdapter: Boolean(i.isFallbackAdapter ?? a.isFallbackAdapter) };
    process.stdout.write(JSON.stringify(out), () => process.exit(0));`;
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--input-type=module', '-e', code],
      { timeout: 60_000, encoding: 'utf8' },
      (err, stdout, stderr) => {
        const messages = dawnMessages(stderr);
        if (err && !stdout) return reject(new Error(messages || err.message.split('\n')[0]));
        try {
          resolve({ adapter: JSON.parse(stdout) as AdapterFound | null, messages });
        } catch {
          reject(new Error(messages || `the adapter probe printed ${JSON.stringify(stdout.slice(0, 200))}`));
        }
      },
    );
  });
}

/** Dawn's and the Vulkan loader's messages on stderr, one line each, without call traces and noise. */
function dawnMessages(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^at |^- While|XDG_RUNTIME_DIR/.test(l))
    .map((l) => l.replace(/^(Warning|Error|error):\s*/, ''));
  return [...new Set(lines)].slice(0, 3).join('; ');
}

/**
 * Why `auto` should not take this adapter, or null: a fallback adapter, or a Vulkan driver that runs on
 * the CPU (SwiftShader, llvmpipe/lavapipe), is far slower than the wasm backend on the same CPU.
 */
export function softwareAdapterReason(a: AdapterFound): string | null {
  if (a.isFallbackAdapter) return 'a fallback (software) adapter';
  const words = [a.vendor, a.architecture, a.device, a.description].join(' ');
  const cpu = /swiftshader|llvmpipe|lavapipe|softpipe|software|\bcpu\b/i.exec(words);
  return cpu ? `a CPU (software) Vulkan driver (${cpu[0]})` : null;
}

function adapterName(a: AdapterFound): string {
  return [a.vendor, a.architecture, a.device, a.description].filter(Boolean).join(' ') || 'adapter';
}

let webgpuAdapterName: string | undefined;
async function probeWebgpu(): Promise<BackendProbe> {
  const version = packageVersion('webgpu');
  const nav = (globalThis as { navigator?: { gpu?: GPULike } }).navigator;
  if (!version && !nav?.gpu) {
    return {
      name: 'webgpu',
      usable: false,
      reason: 'the optional `webgpu` package (Dawn for Node) is not installed',
    };
  }
  const pkg = version && `webgpu@${version}`;
  if (process.platform === 'linux' && !nav?.gpu && !vulkanLoaderPresent()) {
    return {
      name: 'webgpu',
      usable: false,
      package: pkg,
      reason:
        'no Vulkan loader (libvulkan.so.1) on this machine, so Dawn has no device; install libvulkan1 and a Vulkan driver (NVIDIA, or Mesa >= 25 lavapipe)',
    };
  }
  let found: { adapter: AdapterFound | null; messages: string };
  try {
    found = nav?.gpu
      ? {
          adapter: ((await nav.gpu.requestAdapter()) as { info?: AdapterFound } | null)?.info ?? null,
          messages: '',
        }
      : await probeDawnAdapter();
  } catch (e) {
    return {
      name: 'webgpu',
      usable: false,
      package: pkg,
      reason: `failed to start Dawn: ${(e as Error).message}`,
    };
  }
  if (!found.adapter) {
    return {
      name: 'webgpu',
      usable: false,
      package: pkg,
      reason:
        'no WebGPU adapter: Dawn found no Vulkan/Metal/D3D12 device' +
        (found.messages ? ` (${found.messages})` : '') +
        '; set VK_ICD_FILENAMES to a Vulkan driver, e.g. NVIDIA or Mesa >= 25 lavapipe',
    };
  }
  webgpuAdapterName = adapterName(found.adapter);
  const software = softwareAdapterReason(found.adapter);
  return {
    name: 'webgpu',
    usable: true,
    package: pkg,
    device: webgpuAdapterName,
    ...(software
      ? {
          reason: `adapter found, but it is ${software}: --backend auto skips it for wasm (much faster on the same CPU); --backend webgpu still uses it`,
          autoSkip: software,
        }
      : { reason: 'adapter found' }),
  };
}

/** Makes Dawn's WebGPU this process's `navigator.gpu` (before the TF.js webgpu backend is imported). */
async function installDawn(): Promise<void> {
  if ((globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu) return;
  const mod = (await import('webgpu' as string)) as { create: (o: string[]) => GPULike; globals: object };
  Object.assign(globalThis, mod.globals);
  Object.defineProperty(globalThis, 'navigator', { value: { gpu: mod.create([]) }, configurable: true });
}

interface GPULike {
  requestAdapter(): Promise<unknown>;
}

function probeWasm(): BackendProbe {
  const version = packageVersion('@tensorflow/tfjs-backend-wasm');
  if (!version)
    return { name: 'wasm', usable: false, reason: '@tensorflow/tfjs-backend-wasm is not installed' };
  return {
    name: 'wasm',
    usable: true,
    package: `@tensorflow/tfjs-backend-wasm@${version}`,
    reason: 'WebAssembly + SIMD (XNNPACK), single-threaded in Node, with Monoscope kernel fixes',
    device: cpuModel(),
  };
}

/** Probes every backend and says for each why it is or is not usable. Loads nothing permanently but native addons. */
export async function listBackends(): Promise<BackendProbe[]> {
  const tensorflow = await probeTensorflow();
  const webgpu = await probeWebgpu();
  return [
    tensorflow,
    webgpu,
    probeWasm(),
    {
      name: 'cpu',
      usable: true,
      reason: 'plain JavaScript reference backend (slow)',
      package: `@tensorflow/tfjs-backend-cpu@${packageVersion('@tensorflow/tfjs-backend-cpu')}`,
      device: cpuModel(),
    },
  ];
}

/** The backend setup under way (the first {@link initBackend} call's), or null. */
let starting: { choice: BackendChoice; info: Promise<BackendInfo> } | null = null;

/**
 * Sets the TF.js backend for this process and returns what was chosen. `auto` takes the first usable one
 * in the order tensorflow, webgpu, wasm, cpu, passing over those with an `autoSkip` reason. Asking for a backend that is not usable throws, with the reason.
 * Calls made while a setup runs wait for it (single flight: two setups racing leave TF.js's engine half on
 * one backend, and every kernel fails); one that asked for another backend tries its own after a failure.
 */
export async function initBackend(choice: BackendChoice = 'auto'): Promise<BackendInfo> {
  const info = active ?? (await joinSetup(choice));
  if (choice === 'auto' || choice === info.backend) return info;
  throw new Error(
    `the TF.js backend is already '${info.backend}' in this process; cannot switch to '${choice}'`,
  );
}

/** The setup under way (or a new one, for `choice`); after another choice's setup failed, one of its own. */
async function joinSetup(choice: BackendChoice): Promise<BackendInfo> {
  const flight = (starting ??= { choice, info: startBackend(choice).finally(() => (starting = null)) });
  try {
    return await flight.info;
  } catch (e) {
    if (flight.choice === choice) throw e;
    return joinSetup(choice);
  }
}

/** Probes the backends of `choice` in order and makes the first usable one TF.js's backend. */
async function startBackend(choice: BackendChoice): Promise<BackendInfo> {
  const order: BackendName[] = choice === 'auto' ? [...BACKEND_NAMES] : [choice];
  const reasons: string[] = [];
  for (const name of order) {
    const probe =
      name === 'tensorflow'
        ? await probeTensorflow()
        : name === 'webgpu'
          ? await probeWebgpu()
          : name === 'wasm'
            ? probeWasm()
            : null;
    if (probe && (!probe.usable || (choice === 'auto' && probe.autoSkip))) {
      reasons.push(`${name}: ${probe.reason}`);
      continue;
    }
    try {
      if (name === 'webgpu') {
        await installDawn();
        await import('@tensorflow/tfjs-backend-webgpu');
      }
      if (name === 'wasm') await import('@tensorflow/tfjs-backend-wasm');
      const ok = await tf.setBackend(name);
      if (!ok) throw new Error(`tf.setBackend('${name}') returned false`);
      await tf.ready();
      quietCpuBanner();
      registerCpuFixes(); // the cpu backend is always loaded, and tests compare against it
      if (name === 'wasm') registerWasmFixes();
      if (name === 'webgpu') registerWebgpuFixes();
      active = {
        backend: name,
        device: name === 'webgpu' ? (webgpuAdapterName ?? 'webgpu') : (probe?.device ?? cpuModel()),
        versions: {
          'tfjs-core': tf.version_core,
          node: process.versions.node,
          ...(probe?.package
            ? { [probe.package.replace(/@[^@]+$/, '')]: probe.package.replace(/^.*@/, '') }
            : {}),
        },
        threads: name === 'wasm' || name === 'cpu' ? 1 : undefined,
      };
      return active;
    } catch (e) {
      reasons.push(`${name}: ${(e as Error).message}`);
    }
  }
  throw new Error(`no usable TF.js backend for '${choice}': ${reasons.join('; ')}`);
}

/** The cpu backend prints an advert for tfjs-node on first use; `monoscope backends` says it better. */
function quietCpuBanner(): void {
  const cpu = tf.findBackend('cpu') as { firstUse?: boolean } | undefined;
  if (cpu) cpu.firstUse = false;
}

/** The backend chosen in this process, or null before {@link initBackend}. */
export function activeBackend(): BackendInfo | null {
  return active;
}
