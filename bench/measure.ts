/**
 * Measuring one study cell at the demo's size:
 * `npx tsx bench/measure.ts [--snapshots 2 --steps 12 --probe-tokens N]`.
 *
 * Builds, in a temporary project on the backend the CLI picks (`auto`), the demo's base (the built-in
 * world's default shape, pretrained for 30 steps: the weights' quality does not change the work) and a DPO
 * cell of `--steps` steps with `--snapshots` snapshots along it, then times `measureCell` (study/measure.ts,
 * on the built-in probe of 20,000 tokens, or with `--probe-tokens` on `worldProbe`'s shorter cut of it)
 * on the base cell and on the DPO cell, and a second call of the DPO cell (a stored lookup). The phases are
 * cut at the operation's progress messages: the cell's own proxies (recording every block over the probe,
 * then per block the monosemanticity, correlation and sparsity), the held-out rewards with the judge
 * (`cachedScore`: 256 pairs, 128 sampled continuations), then the trajectory's other checkpoints (the base's
 * proxies are stored by then, the snapshots' are new).
 *
 * Prints one JSON object: the model's shape and parameter count, the probe's tokens, wall and CPU seconds
 * (this process, every thread) per phase and per call, and the machine (cores, 1-minute load average before
 * and after: on a shared machine the CPU seconds are the comparable numbers).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openProject } from '../src/core/store/project.js';
import { trainOp, WORLD_MODEL, type TrainRequest } from '../src/core/ops/train.js';
import type { Reporter } from '../src/core/ops/progress.js';
import { measureCell, worldProbe, type MeasureOptions } from '../src/core/study/measure.js';
import type { StudyCell } from '../src/core/study/types.js';

const { values: args } = parseArgs({
  options: {
    snapshots: { type: 'string', default: '2' },
    steps: { type: 'string', default: '12' },
    'probe-tokens': { type: 'string' },
  },
});
const steps = Number(args.steps);
const snapshots = Number(args.snapshots);

const dir = mkdtempSync(join(tmpdir(), 'monoscope-bench-measure-'));
const project = openProject(dir, { create: true });
const loadBefore = loadavg()[0];
/** CPU seconds of this process, every thread (the machine may be shared: wall time is then not ours). */
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
/** Progress messages with their wall and CPU time, to cut the phases at. */
let marks: { t: number; cpu: number; text: string }[] = [];
const reporter: Reporter = {
  progress: () => {},
  message: (text) => void marks.push({ t: performance.now(), cpu: cpu(), text }),
};
const quiet: Reporter = { progress: () => {}, message: () => {} };

try {
  await trainOp(
    project,
    {
      name: 'base',
      stage: 'pretrain',
      steps: 30,
      batchSize: 32,
      examples: 1500,
      evalEvery: 0,
      backend: 'auto',
    } as TrainRequest,
    quiet,
  );
  await trainOp(
    project,
    {
      name: 'dpo',
      stage: 'dpo',
      init: 'base',
      task: 'toxicity',
      steps,
      batchSize: 16,
      examples: 256,
      evalEvery: Math.max(1, Math.floor(steps / 4)),
      snapshotEvery: Math.ceil(steps / (snapshots + 1)),
      backend: 'auto',
    } as TrainRequest,
    quiet,
  );
  const probeTokens = args['probe-tokens'] ? Number(args['probe-tokens']) : undefined;
  const probe = probeTokens ? worldProbe(project, 'base', probeTokens) : 'builtin';
  const o: MeasureOptions = { layer: 1, tapKind: 'mlp.post', probe, task: 'toxicity' };
  const cell = (method: 'base' | 'dpo'): StudyCell => ({
    method,
    family: method,
    seed: 0,
    task: 'toxicity',
    checkpoint: method,
    base: 'base',
  });
  /** Times one call (wall and CPU seconds), split at the judge's message. */
  const timed = async (c: StudyCell) => {
    marks = [];
    const [t0, c0] = [performance.now(), cpu()];
    const m = await measureCell(project, c, o, reporter);
    const [t1, c1] = [performance.now(), cpu()];
    const i = marks.findIndex((x) => x.text.includes('held-out rewards'));
    const judge = marks[i] ?? { t: t1, cpu: c1 };
    const after = marks.slice(i + 1).find((x) => x.text.startsWith('measure: proxies of')) ?? { cpu: c1 };
    const s = (x: number) => Math.round(x * 100) / 100;
    return {
      wall_s: s((t1 - t0) / 1000),
      cpu_s: s(c1 - c0),
      own_proxies_cpu_s: s(judge.cpu - c0),
      rewards_and_judge_cpu_s: s(after.cpu - judge.cpu),
      trajectory_cpu_s: s(c1 - after.cpu),
      checkpoints_measured: marks.filter((x) => x.text.startsWith('measure: proxies of')).length,
      metrics: Object.keys(m.values).length,
      trajectory: m.trajectory.map((p) => p.step),
    };
  };
  const base = await timed(cell('base'));
  const dpo = await timed(cell('dpo'));
  const again = await timed(cell('dpo'));
  const rec = project.store.checkpoints.get('base')!;
  console.log(
    JSON.stringify(
      {
        model: { ...WORLD_MODEL, params: rec.params },
        probe_tokens: project.store.probes.list().map((p) => p.nTokens),
        dpo_steps: steps,
        snapshots,
        base_cell: base,
        dpo_cell: dpo,
        stored_lookup_s: again.wall_s,
        cores: availableParallelism(),
        load_1min: [loadBefore, loadavg()[0]],
      },
      null,
      2,
    ),
  );
} finally {
  project.close();
  rmSync(dir, { recursive: true, force: true });
}
