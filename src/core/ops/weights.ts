/** Analyses of a checkpoint's weights alone (no recording). */
import { loadCheckpoint } from '../model/checkpoint.js';
import { mergeAdapter } from '../model/adapter.js';
import type { LoraConfig } from '../model/lora.js';
import { weightProxy, mlpInputLayers, type WeightProxy } from '../analysis/index.js';
import type { Project } from '../store/project.js';
import { resolveCheckpoint } from './checkpoints.js';

/** The paper's weight-based proxy (median ||w_in|| b_in per layer, normalised across layers). */
export function weightProxyOp(project: Project, checkpoint: string): WeightProxy {
  const ck = loadCheckpoint(resolveCheckpoint(project, checkpoint).dir);
  // A LoRA checkpoint's MLP input weights are the merged ones.
  return weightProxy(
    mlpInputLayers(ck.config.lora ? mergeAdapter(ck.config as LoraConfig, ck.arrays) : ck.arrays),
  );
}
