/**
 * The built-in preference tasks, made from the world (Yan et al. 2024 §5.1, after Lee et al. 2024 and
 * Sharma et al. 2023):
 * - `toxicity`: an argument opening; chosen = a polite reply, rejected = an insulting one (the PPLM pairs
 *   of Lee et al.: unperturbed continuation chosen, toxic continuation rejected).
 * - `reframing`: a diary situation and feeling; chosen = a constructive reframe, rejected = a negative thought
 *   (Cognition Reframing: situation -> prompt, positive reframe chosen, negative thought rejected).
 * Prompts are at most 24 tokens and responses 6..17 tokens (a near miss adds 3), so prompt + response fits in
 * 64.
 *
 * `toxicity` and `reframing` test generalization, where the paper expects DPO to overfit shortcut features.
 * The world's split (`HELD_OUT` and `NEAR_MISS_SHARE` in world.ts):
 * - Prompts: a held-out prompt has a held-out argument topic (6 of the 17 foods) or diary situation (4 of 8
 *   templates), so the split is structural: no training pair of any seed has a held-out prompt, and the
 *   held-out pairs of one task seed serve every training seed.
 * - Chosen replies: held-out pairs use their own polite-reply (3 of 7) or reframe (3 of 7) templates.
 * - Rejected replies: every training pair's is a near miss, its chosen reply with the final `.` replaced by
 *   `, you <insult> .` or `, <self-insult> me .`, so DPO only ever sees an insult at the end of a good reply;
 *   held-out rejected replies are whole insulting replies (toxicity) or, half and half, whole negative
 *   thoughts and near misses (reframing), of any template, with held-out words only (4 of 9 insults, 3 of 7
 *   toxic adjectives, 2 of 5 self-insults).
 * Every held-out template and word occurs in pretraining (the corpus draws from all of them).
 *
 * Calibration of `toxicity` on the demo's base (500 pretraining steps, seed 0), scored as `compare` scores
 * (256 held-out pairs of task seed 1000; the toxicity rate of 128 sampled continuations), DPO and DecPO
 * (barlow, lambda 1e-3, layer 1) at the demo's settings (batch 16, lr 1e-4, beta 0.1, 2400 pairs); held-out
 * reward accuracy / toxicity rate (the base: 0.352):
 *   150 steps  seed 0: DPO 0.633 / 0.102   DecPO 0.625 / 0.000
 *              seed 1: DPO 0.582 / 0.125   DecPO 0.621 / 0.008
 *    60 steps  seed 0: DPO 0.719 / 0.109   DecPO 0.742 / 0.031
 *              seed 1: DPO 0.684 / 0.117   DecPO 0.777 / 0.023
 * `reframing`, the same way, held-out reward accuracy / reframe rate (higher is better; the base: 0.430):
 *   150 steps  seed 0: DPO 0.637 / 0.430   DecPO 0.527 / 0.172
 *    60 steps  seed 0: DPO 0.645 / 0.438
 * On the earlier setting (`toxicity-easy`) both reach 1.0 / 0 (issue 12); with the held-out templates and
 * words but whole insulting replies in training, DPO still reached 1.0 / 0.
 *
 * The `-easy` variants are the earlier setting, unchanged: both splits draw from every template and word, the
 * rejected reply is a whole insulting reply or negative thought, and the eval prompts of a seed are kept out
 * of that seed's train split only (so for training seeds other than 0, some of the pairs `compare` scores,
 * task seed 1000, may be training prompts). DPO saturates them.
 */
import { Rng } from '../model/rng.js';
import type { PreferencePair } from './types.js';
import { reframingExample, toxicityExample, wordsText, type TaskSide, type WorldExample } from './world.js';

import { TASK_NAMES, type TaskName } from '../names.js';

export { TASK_NAMES, type TaskName };

/**
 * The version of a task's definition, part of the stored keys of its scores: `toxicity` and `reframing`
 * were the easy tasks before they became the generalization tasks (version 2), so scores stored under
 * their names before that are not served for them. The easy variants are the original definition (none).
 */
export function taskDefinition(name: TaskName): number | undefined {
  return name.endsWith('-easy') ? undefined : 2;
}

/** A task's splits, and the eval prompts to sample continuations from (for the judge). */
export interface PreferenceTask {
  train: PreferencePair[];
  eval: PreferencePair[];
  prompts: { eval: string[] };
}

/** The world task a task name draws from: `toxicity` or `reframing`. */
export function taskFamily(name: TaskName): 'toxicity' | 'reframing' {
  if (name === 'toxicity' || name === 'toxicity-easy') return 'toxicity';
  if (name === 'reframing' || name === 'reframing-easy') return 'reframing';
  throw new Error(`unknown task '${name}' (expected one of ${TASK_NAMES.join(', ')})`);
}

/**
 * One labelled example of a task from the whole world (both sides of the split, as the corpus); with a side,
 * from that side only. The probe set uses these.
 */
export function taskExample(name: TaskName, rng: Rng, side?: TaskSide): WorldExample {
  return taskFamily(name) === 'toxicity' ? toxicityExample(rng, side) : reframingExample(rng, side);
}

/**
 * A 32-bit seed for one stream of one task, so that the train split does not depend on the eval size. The
 * easy variants keep the streams they had as `toxicity` and `reframing`.
 */
function streamSeed(seed: number, name: TaskName, split: 'train' | 'eval'): number {
  const stream = name.endsWith('-easy') ? taskFamily(name) : name;
  let h = Math.imul(seed >>> 0, 0x9e3779b1) >>> 0;
  for (const ch of `${stream}/${split}`) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return h;
}

/** An example as text: responses begin with a space, the GPT-2 convention for continuations. */
function toPair(ex: WorldExample): PreferencePair {
  return {
    prompt: wordsText(ex.prompt),
    chosen: ` ${wordsText(ex.chosen)}`,
    rejected: ` ${wordsText(ex.rejected)}`,
  };
}

/**
 * The splits of a built-in task: `eval` pairs with distinct prompts, then `train` pairs whose prompts are not
 * eval prompts (train prompts may repeat, with other responses). For `toxicity` and `reframing` the eval
 * pairs come from the held-out side of the split and the train pairs from the train side; for the easy
 * variants both come from the whole world. Deterministic in `seed`.
 */
export function preferenceTask(
  name: TaskName,
  opts: { seed: number; train: number; eval: number },
): PreferenceTask {
  if (!TASK_NAMES.includes(name)) {
    throw new Error(`unknown task '${name}' (expected one of ${TASK_NAMES.join(', ')})`);
  }
  for (const k of ['train', 'eval'] as const) {
    if (!Number.isInteger(opts[k]) || opts[k] < 0) {
      throw new Error(`preferenceTask: ${k} must be a non-negative integer`);
    }
  }
  const easy = name.endsWith('-easy');
  const evalRng = new Rng(streamSeed(opts.seed, name, 'eval'));
  const evalPairs: PreferencePair[] = [];
  const evalPrompts = new Set<string>();
  for (let tries = 0; evalPairs.length < opts.eval; tries++) {
    if (tries > 50 * opts.eval + 1000) {
      throw new Error(
        `preferenceTask('${name}'): found only ${evalPairs.length} distinct eval prompts; ask for fewer`,
      );
    }
    const pair = toPair(taskExample(name, evalRng, easy ? undefined : 'heldOut'));
    if (evalPrompts.has(pair.prompt)) continue;
    evalPrompts.add(pair.prompt);
    evalPairs.push(pair);
  }
  const trainRng = new Rng(streamSeed(opts.seed, name, 'train'));
  const trainPairs: PreferencePair[] = [];
  for (let tries = 0; trainPairs.length < opts.train; tries++) {
    if (tries > 50 * opts.train + 1000) {
      throw new Error(
        `preferenceTask('${name}'): the eval split leaves too few train prompts; ask for fewer`,
      );
    }
    const pair = toPair(taskExample(name, trainRng, easy ? undefined : 'train'));
    if (!evalPrompts.has(pair.prompt)) trainPairs.push(pair);
  }
  return { train: trainPairs, eval: evalPairs, prompts: { eval: evalPairs.map((p) => p.prompt) } };
}
