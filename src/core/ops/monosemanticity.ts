/** Per-neuron monosemanticity of a tap against the probe's concept labels. */
import { monosemanticity, type MonoThresholds, type MonosemanticityResult } from '../analysis/index.js';
import type { Project } from '../store/project.js';
import { cachedTap, type TapRef } from './tap.js';
import type { Reporter } from './progress.js';

/** Per-neuron monosemanticity against the probe's concept labels, with the label shares of the tap. */
export async function monosemanticityOp(
  project: Project,
  ref: TapRef,
  opts: { topK?: number; thresholds?: Partial<MonoThresholds> } = {},
  reporter?: Reporter,
  signal?: AbortSignal,
) {
  return cachedTap<MonosemanticityResult>(
    project,
    ref,
    'monosemanticity',
    { topK: opts.topK ?? 20, thresholds: opts.thresholds ?? {} },
    (t) => ({
      result: monosemanticity(t.x, t.concepts, {
        topK: opts.topK,
        tokenIds: t.ids,
        specialIds: t.specialIds,
        thresholds: opts.thresholds,
      }),
    }),
    reporter,
    signal,
  );
}
