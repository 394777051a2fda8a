/**
 * The WebGPU backend's guards, on a software Vulkan adapter (Chromium's SwiftShader, as in CI):
 * `--backend auto` passes over a software adapter and `monoscope backends` says why; a machine with the
 * Vulkan loader but no driver gets a reason rather than Dawn's stderr; AddN within the device's
 * storage-buffer limit; the report (a 3-step pretrain on webgpu that exited 0 with wrong numbers)
 * now logs cpu's numbers; and a device error (a pipeline that fails validation, a lost device) fails the
 * read of any result, naming the kernel program.
 * The in-process tests share this file's process (one WebGPU device); the device error comes last because
 * it poisons the device for good.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { cli } from './cli.js';
import { initBackend, softwareAdapterReason } from '../../src/core/backend/index.js';
import { softwareVulkanIcd } from '../../src/core/backend/vulkan.js';

/** Chromium's SwiftShader ICD; the test fails (saying what to install) without it. */
function swiftshader(): string {
  const icd = softwareVulkanIcd();
  if (!icd)
    throw new Error(
      'no Vulkan driver for the webgpu backend: `apt-get install libvulkan1 chromium` (Chromium ships ' +
        'the SwiftShader ICD vk_swiftshader_icd.json)',
    );
  return icd;
}

interface Probe {
  name: string;
  usable: boolean;
  reason: string;
  device?: string;
  autoSkip?: string;
}

describe('choosing the webgpu backend', () => {
  it('names fallback and CPU-type adapters as software, and a GPU as not', () => {
    expect(
      softwareAdapterReason({ vendor: 'nvidia', description: 'NVIDIA H100', isFallbackAdapter: false }),
    ).toBe(null);
    expect(softwareAdapterReason({ vendor: 'google', isFallbackAdapter: true })).toMatch(/fallback/);
    expect(softwareAdapterReason({ vendor: 'mesa', device: 'llvmpipe (LLVM 19.1.7, 256 bits)' })).toMatch(
      /CPU.*llvmpipe/,
    );
    expect(softwareAdapterReason({ description: 'SwiftShader driver 5.0.0' })).toMatch(/SwiftShader/);
  });

  it('`backends` finds the SwiftShader adapter, says auto skips it, and auto picks wasm', () => {
    const env = { VK_ICD_FILENAMES: swiftshader() };
    const json = cli(['backends', '--json'], { env });
    expect(json.code).toBe(0);
    const webgpu = (JSON.parse(json.stdout) as Probe[]).find((b) => b.name === 'webgpu')!;
    expect(webgpu).toMatchObject({ usable: true, device: expect.stringMatching(/SwiftShader/) });
    expect(webgpu.autoSkip).toMatch(/fallback|software/);
    expect(webgpu.reason).toMatch(/auto skips it for wasm/);
    const text = cli(['backends'], { env });
    expect(text.stdout).toMatch(/--backend auto picks: wasm/);
  });

  it('with the Vulkan loader but no driver, `backends` gives the reason and prints nothing of Dawn', () => {
    const r = cli(['backends', '--json'], { env: { VK_ICD_FILENAMES: '/nonexistent/icd.json' } });
    expect(r.code).toBe(0);
    const webgpu = (JSON.parse(r.stdout) as Probe[]).find((b) => b.name === 'webgpu')!;
    expect(webgpu.usable).toBe(false);
    expect(webgpu.reason).toMatch(/no WebGPU adapter.*Found no drivers/);
    expect(r.stderr).not.toMatch(/vkCreateInstance|Found no drivers|\.cpp/);
  });
});

describe('training on webgpu from the CLI', () => {
  it('a 3-step pretrain on --backend webgpu logs the losses and gradient norms of --backend cpu', () => {
    const project = mkdtempSync(join(tmpdir(), 'monoscope-webgpu-cli-'));
    const out = mkdtempSync(join(tmpdir(), 'monoscope-webgpu-csv-'));
    try {
      const metrics = (backend: string) => {
        const r = cli(
          [
            'train',
            '--project',
            project,
            '--name',
            `pre-${backend}`,
            '--stage',
            'pretrain',
            '--steps',
            '3',
          ].concat(
            ['--batch-size', '4', '--backend', backend, '--n-layer', '1', '--n-embd', '32', '--n-head', '2'],
            ['--n-inner', '64', '--n-ctx', '64', '--examples', '200'],
          ),
          { env: { VK_ICD_FILENAMES: swiftshader() } },
        );
        expect(r.code, r.stderr).toBe(0);
        // Every step's metrics as the store holds them (progress lines are rate-limited, the store is not).
        const csv = join(out, `${backend}.csv`);
        const e = cli(['export', 'metrics', '--project', project, '--run', `pre-${backend}`, '--out', csv]);
        expect(e.code, e.stderr).toBe(0);
        const [header, ...rows] = readFileSync(csv, 'utf8')
          .trim()
          .split('\n')
          .map((l) => l.split(','));
        const col = (name: string) => header.indexOf(name);
        return rows.map((c) => ({ loss: Number(c[col('loss')]), grad_norm: Number(c[col('grad_norm')]) }));
      };
      const gpu = metrics('webgpu');
      const cpu = metrics('cpu');
      expect(cpu).toHaveLength(3);
      expect(gpu).toHaveLength(3);
      for (const [i, m] of cpu.entries()) {
        expect(m.grad_norm).toBeGreaterThan(0.1);
        expect(Math.abs(gpu[i].grad_norm - m.grad_norm)).toBeLessThan(1e-5 * m.grad_norm);
        expect(Math.abs(gpu[i].loss - m.loss)).toBeLessThan(1e-5 * m.loss);
      }
    } finally {
      rmSync(project, { recursive: true, force: true });
      rmSync(out, { recursive: true, force: true });
    }
  }, 600_000);
});

describe('the webgpu backend in this process', () => {
  it('sums more tensors than the storage-buffer limit allows in one program (AddN), values and gradient', async () => {
    process.env.VK_ICD_FILENAMES = swiftshader();
    const info = await initBackend('webgpu');
    expect(info.backend).toBe('webgpu');
    const xs = Array.from({ length: 20 }, (_, i) => tf.fill([3, 5], i + 1));
    const sum = tf.addN(xs);
    expect(Array.from(await sum.data())).toEqual(new Array(15).fill(210));
    // The gradient of a tensor used 20 times sums 20 terms with AddN.
    const g = tf.grad((x: tf.Tensor) => tf.addN(Array.from({ length: 20 }, (_, i) => tf.mul(x, i + 1))))(
      tf.ones([4]),
    );
    expect(Array.from(await g.data())).toEqual([210, 210, 210, 210]);
    tf.dispose([...xs, sum, g]);
  });

  it('a lost device fails the next read, saying so (in a process of its own)', () => {
    const index = fileURLToPath(new URL('../../src/core/backend/index.ts', import.meta.url));
    const code = `
      import * as tf from '@tensorflow/tfjs-core';
      import { initBackend } from ${JSON.stringify(index)};
      await initBackend('webgpu');
      console.log(Array.from(await tf.add(tf.ones([2]), 1).data()).join(','));
      tf.backend().device.destroy();
      await new Promise((r) => setTimeout(r, 200));
      try { await tf.add(tf.ones([2]), 2).data(); console.log('no error'); } catch (e) { console.log(e.message); }`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
      encoding: 'utf8',
      env: { ...process.env, VK_ICD_FILENAMES: swiftshader() },
      timeout: 120_000,
    });
    expect(r.status, r.stderr).toBe(0);
    const [before, after] = r.stdout.trim().split('\n');
    expect(before).toBe('2,2');
    expect(after).toMatch(/^WebGPU device lost \(destroyed\).*results of this step are not valid/);
  });

  it('a device error fails every later read, with Dawn message and the program it names', async () => {
    const be = tf.backend() as unknown as {
      device: {
        createComputePipeline(d: object): unknown;
        createShaderModule(d: object): unknown;
      };
    };
    const ok = tf.add(tf.ones([2]), 1);
    expect(Array.from(await ok.data())).toEqual([2, 2]);
    // A valid shader that binds more storage buffers than the device allows, as the stock AddN did: its
    // pipeline fails validation, which Dawn reports only to the device's error event.
    const n = 12;
    const code = [
      ...Array.from(
        { length: n },
        (_, i) => `@group(0) @binding(${i}) var<storage, read_write> b${i}: array<f32>;`,
      ),
      `@compute @workgroup_size(1) fn main() { ${Array.from({ length: n }, (_, i) => `b${i}[0] = 1.0;`).join(' ')} }`,
    ].join('\n');
    be.device.createComputePipeline({
      label: 'TooManyBuffersProgram',
      layout: 'auto',
      compute: { module: be.device.createShaderModule({ code }), entryPoint: 'main' },
    });
    const after = tf.add(tf.ones([2]), 2);
    await expect(after.data()).rejects.toThrow(
      /WebGPU validation error in kernel program 'TooManyBuffersProgram': The number of storage buffers \(12\)/,
    );
    expect(() => ok.dataSync()).toThrow(/results of this step are not valid/);
  });
});
