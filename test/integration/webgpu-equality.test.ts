/**
 * The WebGPU backend trains for real: one DecPO step on `webgpu` (Dawn through the `webgpu` package, on a
 * software Vulkan adapter in CI) and on `cpu`, from the same weights and batch, agree in the loss, the
 * penalty, the gradient norm and every weight after AdamW, within float32 tolerance. Each run is a child
 * process (`webgpu-step.ts`: TF.js takes one WebGPU backend per process). The cases are
 * `webgpu-step.ts`'s CASES; a new case is one entry there and one name here.
 *
 * The test never skips: without a Vulkan adapter it fails and says what to install. It uses the adapter of
 * `VK_ICD_FILENAMES` when that is set, else Chromium's SwiftShader ICD (see {@link softwareVulkanIcd}).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { softwareVulkanIcd } from '../../src/core/backend/vulkan.js';
import type { StepResult } from './webgpu-step.js';

const SCRIPT = fileURLToPath(new URL('./webgpu-step.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'monoscope-webgpu-eq-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The Vulkan driver the webgpu child uses: the user's, else Chromium's SwiftShader; null if neither. */
function vulkanEnv(): Record<string, string> | null {
  if (process.env.VK_ICD_FILENAMES || process.env.VK_DRIVER_FILES) return {};
  const icd = softwareVulkanIcd();
  return icd ? { VK_ICD_FILENAMES: icd } : null;
}

/** Runs one case's step on one backend in a child process and returns what it wrote. */
function step(name: string, backend: 'cpu' | 'webgpu', env: Record<string, string>): StepResult {
  const out = join(dir, `${name}.${backend}.json`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', SCRIPT, name, backend, out], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 300_000,
  });
  if (r.status !== 0) {
    throw new Error(
      `the ${backend} step of '${name}' failed (exit ${r.status}${r.signal ? `, ${r.signal}` : ''}):\n` +
        r.stderr
          .split('\n')
          .filter((l) => !/XDG_RUNTIME_DIR/.test(l))
          .slice(-30)
          .join('\n') +
        (backend === 'webgpu'
          ? '\nThe webgpu step needs a Vulkan adapter: `apt-get install libvulkan1 chromium` (Chromium ships ' +
            'the SwiftShader ICD vk_swiftshader_icd.json), or set VK_ICD_FILENAMES to a Vulkan driver.'
          : ''),
    );
  }
  return JSON.parse(readFileSync(out, 'utf8')) as StepResult;
}

/** |a - b| <= atol + rtol |b|, elementwise, with the worst element named on failure. */
function expectClose(what: string, a: ArrayLike<number>, b: ArrayLike<number>, rtol: number, atol: number) {
  expect(a.length, `${what}: length`).toBe(b.length);
  let worst = { i: -1, excess: 0 };
  for (let i = 0; i < a.length; i++) {
    const excess = Math.abs(a[i] - b[i]) - (atol + rtol * Math.abs(b[i]));
    if (!(excess <= worst.excess)) worst = { i, excess };
  }
  expect(
    worst.i,
    worst.i < 0 ? '' : `${what}[${worst.i}]: webgpu ${a[worst.i]} against cpu ${b[worst.i]}`,
  ).toBe(-1);
}

/**
 * The step's scalars compared (the rewards are differences of nearly equal log-probs, compared through
 * the log-probs themselves).
 */
const SCALARS = [
  'loss',
  'decorr/penalty',
  'grad_norm',
  'logps/chosen',
  'logps/rejected',
  'decorr/mean_abs_corr',
];

describe('a DecPO step on webgpu equals the same step on cpu', () => {
  const env = vulkanEnv();

  it.each([
    ['world-gpt', "the built-in world's GPT (full DecPO step, barlow, toxicity pairs)"],
    ['llama-full', 'a small Llama-style model (GQA, RoPE, RMSNorm, SwiGLU; full DecPO step)'],
    [
      'llama-lora',
      'a LoRA DecPO step of a small Llama-style model (rank 8, dropout 0.05, on q_proj, v_proj, up_proj)',
    ],
  ])(
    '%s: %s',
    (name) => {
      if (!env) {
        throw new Error(
          'no Vulkan driver for the webgpu backend: install the Vulkan loader and Chromium (`apt-get install ' +
            'libvulkan1 chromium`; Chromium ships the SwiftShader ICD vk_swiftshader_icd.json), or set ' +
            'VK_ICD_FILENAMES to a Vulkan driver JSON',
        );
      }
      const gpu = step(name, 'webgpu', env);
      const cpu = step(name, 'cpu', {});
      expect(gpu.backend).toBe('webgpu');
      expect(cpu.backend).toBe('cpu');
      for (const k of SCALARS) {
        expect(Number.isFinite(cpu.metrics[k]), `cpu ${k}`).toBe(true);
        expectClose(k, [gpu.metrics[k]], [cpu.metrics[k]], 1e-5, 0);
      }
      // The step moved the weights (lr 1e-3), and both backends moved them alike.
      expect(cpu.metrics.grad_norm).toBeGreaterThan(0.1);
      expect(Object.keys(gpu.weights).sort()).toEqual(Object.keys(cpu.weights).sort());
      for (const [k, w] of Object.entries(cpu.weights)) expectClose(k, gpu.weights[k], w, 1e-5, 5e-6);
    },
    600_000,
  );
});
