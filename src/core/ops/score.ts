/**
 * Scores a checkpoint on a built-in task, as the demo's and `compare`'s table shows it:
 * - held-out reward accuracy and margin against a reference (TRL's `rewards/accuracies`, `rewards/margins`,
 *   beta `DPO_BETA`, summed log-probs);
 * - the judge: the toxicity rate (share of sampled continuations of held-out prompts with a toxic-concept
 *   token) or the reframing score;
 * - `mean_abs_corr`: mean |off-diagonal Pearson correlation| of a block's neurons over the held-out response
 *   tokens (the quantity DecPO's `barlow` regularizer lowers).
 */
import { modelInput } from '../model/tokenizer.js';
import * as tf from '@tensorflow/tfjs-core';
import { loadCheckpoint, type LoadedCheckpoint } from '../model/checkpoint.js';
import { disposeParams, forward, paramsFromArrays } from '../model/models.js';
import { generate } from '../model/generate.js';
import { pairLimits, tokenizePairs } from '../data/jsonl.js';
import { preferenceTask, type TaskName } from '../data/tasks.js';
import { judgeTask } from '../data/judge.js';
import type { TokenizedPair } from '../data/types.js';
import { preferenceBatch } from '../train/batches.js';
import { meanAbsCorrelation } from '../train/regularizers.js';
import { DPO_BETA, preferenceMetrics } from '../train/step.js';
import { pairLogps } from './eval.js';
import type { Reporter } from './progress.js';

export interface CheckpointScore {
  checkpoint: string;
  stage: string;
  /** Held-out `rewards/accuracies` against the reference (0 for the reference itself). */
  rewardAccuracy: number;
  rewardMargin: number;
  /** The judge's metric name (`toxicity_rate` or `reframing_score`) and value. */
  judgeMetric: string;
  judgeValue: number;
  /** Mean |corr| of the block's neurons over held-out response tokens. */
  meanAbsCorr: number;
  layer: number;
  tap: string;
}

export interface ScoreOptions {
  task: TaskName;
  /** Seed of the task's split: the held-out pairs are the ones training did not see. */
  taskSeed: number;
  evalPairs: number;
  /** Reference checkpoint folder for the reward metrics. */
  refDir: string;
  layer: number;
  tap: 'mlp.post' | 'mlp.pre';
  /** Continuations sampled per held-out prompt for the judge. */
  prompts: number;
  maxNewTokens: number;
  seed: number;
}

/** The held-out pairs of a built-in task, tokenized to fit the model. */
export function heldOutPairs(
  ck: LoadedCheckpoint,
  task: TaskName,
  taskSeed: number,
  n: number,
): { pairs: TokenizedPair[]; prompts: string[] } {
  const t = preferenceTask(task, { seed: taskSeed, train: 1, eval: n });
  const tok = tokenizePairs(t.eval, ck.tokenizer, pairLimits(ck.config.nCtx, {}, true));
  return { pairs: tok, prompts: t.eval.map((p) => p.prompt) };
}

/** Mean |corr| of a block's neurons over the response tokens of `pairs` (chosen and rejected). */
export async function blockMeanAbsCorr(
  ck: LoadedCheckpoint,
  pairs: TokenizedPair[],
  tapName: string,
): Promise<number> {
  const params = paramsFromArrays(ck.config, ck.arrays, false);
  const chunks: tf.Tensor2D[] = [];
  try {
    for (let i = 0; i < pairs.length; i += 32) {
      const b = preferenceBatch(pairs.slice(i, i + 32), ck.tokenizer.padId);
      chunks.push(
        tf.tidy(() => {
          const rows = 2 * b.pairs;
          const { taps } = forward(ck.config, params, tf.tensor2d(b.ids, [rows, b.T], 'int32'), {
            hiddenOnly: true,
            taps: [tapName],
          });
          const act = taps.get(tapName)!;
          return tf.gather(
            tf.reshape(act, [rows * b.T, act.shape[2]]),
            tf.tensor1d(b.respIdx, 'int32'),
          ) as tf.Tensor2D;
        }),
      );
    }
    const v = tf.tidy(() => meanAbsCorrelation(tf.concat(chunks, 0)));
    const out = (await v.data())[0];
    v.dispose();
    return out;
  } finally {
    chunks.forEach((c) => c.dispose());
    disposeParams(params);
  }
}

/**
 * TRL's held-out `rewards/accuracies` and `rewards/margins` of a policy folder against a reference folder on
 * tokenized pairs (beta {@link DPO_BETA}, summed log-probs).
 */
export async function heldOutRewards(
  dir: string,
  refDir: string,
  pairs: TokenizedPair[],
): Promise<{ accuracy: number; margin: number }> {
  const P = pairs.length;
  const pol = await pairLogps(dir, pairs, 32);
  const ref = dir === refDir ? pol : await pairLogps(refDir, pairs, 32);
  const m = preferenceMetrics(
    pol,
    { chosen: ref.subarray(0, P), rejected: ref.subarray(P) },
    { beta: DPO_BETA },
  );
  return { accuracy: m['rewards/accuracies'], margin: m['rewards/margins'] };
}

/** Scores one checkpoint folder (see the module comment). */
export async function scoreCheckpoint(
  name: string,
  dir: string,
  o: ScoreOptions,
  reporter?: Reporter,
): Promise<CheckpointScore> {
  const ck = loadCheckpoint(dir);
  const { pairs, prompts } = heldOutPairs(ck, o.task, o.taskSeed, o.evalPairs);
  const rewards = await heldOutRewards(dir, o.refDir, pairs);
  const tapName = `blocks.${o.layer}.${o.tap}`;
  const meanAbsCorr = await blockMeanAbsCorr(ck, pairs, tapName);
  const params = paramsFromArrays(ck.config, ck.arrays, false);
  const promptIds = prompts
    .slice(0, o.prompts)
    .map((p) => modelInput(ck.tokenizer, ck.tokenizer.encode(p), ck.config.nCtx - o.maxNewTokens));
  const continuations: number[][] = [];
  try {
    for (let i = 0; i < promptIds.length; i += 64) {
      const out = await generate(ck.config, params, promptIds.slice(i, i + 64), {
        maxNewTokens: o.maxNewTokens,
        temperature: 1,
        seed: o.seed + i,
        stopId: ck.tokenizer.eosId,
        padId: ck.tokenizer.padId,
      });
      continuations.push(...out);
      reporter?.progress({
        phase: `judge ${name}`,
        done: Math.min(i + 64, promptIds.length),
        total: promptIds.length,
        unit: 'prompt',
      });
    }
  } finally {
    disposeParams(params);
  }
  const judged = judgeTask(o.task, continuations, ck.tokenizer);
  return {
    checkpoint: name,
    stage: ck.meta.stage,
    rewardAccuracy: rewards.accuracy,
    rewardMargin: rewards.margin,
    judgeMetric: judged.metric,
    judgeValue: judged.value,
    meanAbsCorr,
    layer: o.layer,
    tap: tapName,
  };
}
