/**
 * What the training benchmarks share: medians, rounding, timing a step after warm-up, and a profile of the
 * kernels one call runs.
 */
import * as tf from '@tensorflow/tfjs-core';

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export const round = (x: number, digits = 2): number => Number(x.toFixed(digits));

/** Times `step` (after `warmup` untimed calls) and returns the JSON record. */
export async function timeSteps(
  label: Record<string, string | number>,
  tokensPerStep: number,
  warmup: number,
  steps: number,
  step: (i: number) => Promise<void>,
): Promise<Record<string, string | number>> {
  for (let i = 0; i < warmup; i++) await step(i);
  const ms: number[] = [];
  const cpuMs: number[] = [];
  for (let i = 0; i < steps; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await step(warmup + i);
    ms.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpuMs.push((c.user + c.system) / 1000);
  }
  const med = median(ms);
  return {
    ...label,
    tokens_per_s: round((tokensPerStep * 1000) / med, 1),
    ms_per_step: round(med),
    ms_min: round(Math.min(...ms)),
    ms_max: round(Math.max(...ms)),
    // CPU time of this process per step (all threads): less sensitive than wall time to a busy machine.
    cpu_ms_per_step: round(median(cpuMs)),
    steps,
  };
}

/** One kernel's share of a profiled call. */
export interface KernelShare {
  name: string;
  ms: number;
  calls: number;
  percent: number;
}

/**
 * The kernels of one call of `f` by total time (`tf.profile`), the `top` largest; printed on stderr too.
 */
export async function profileKernels(f: () => Promise<void>, top = 25): Promise<KernelShare[]> {
  const info = await tf.profile(f);
  const byName = new Map<string, { ms: number; calls: number }>();
  let total = 0;
  for (const k of info.kernels) {
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    const e = byName.get(k.name) ?? { ms: 0, calls: 0 };
    e.ms += ms;
    e.calls += 1;
    byName.set(k.name, e);
    total += ms;
  }
  const rows = [...byName]
    .sort((a, b) => b[1].ms - a[1].ms)
    .slice(0, top)
    .map(([name, e]) => ({ name, ms: round(e.ms), calls: e.calls, percent: round((100 * e.ms) / total, 1) }));
  process.stderr.write(`profile: ${info.kernels.length} kernel calls, ${total.toFixed(1)} ms in kernels\n`);
  for (const r of rows) {
    process.stderr.write(
      `  ${r.name.padEnd(24)} ${r.ms.toFixed(2).padStart(8)} ms ${String(r.calls).padStart(5)} calls ${r.percent.toFixed(1).padStart(5)}%\n`,
    );
  }
  return rows;
}
