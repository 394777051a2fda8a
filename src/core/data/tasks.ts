/**
 * The built-in preference tasks, made from the world (Yan et al. 2024 §5.1, after Lee et al. 2024 and
 * Sharma et al. 2023):
 * - `toxicity`: an argument opening; chosen = a polite reply, rejected = an insulting one (the PPLM pairs
 *   of Lee et al.: unperturbed continuation chosen, toxic continuation rejected).
 * - `reframing`: a diary situation and feeling; chosen = a constructive reframe, rejected = a negative thought
 *   (Cognition Reframing: situation -> prompt, positive reframe chosen, negative thought rejected).
 * Prompts are at most 24 tokens and responses 6..16 tokens, so prompt + response fits in 64.
 *
 * `toxicity` and `reframing` test generalization, where the paper expects DPO to overfit shortcut features:
 * the world's split (`HELD_OUT` in world.ts) gives the training pairs and the held-out pairs disjoint reply
 * templates and words (toxicity: half the polite and half the insulting reply templates, four insults, three
 * toxic adjectives and six argument topics are held out; reframing: half the reframe and negative-thought
 * templates, the diary situations and two self-insults). Every one of them occurs in pretraining. A held-out
 * prompt has a held-out topic (toxicity) or situation (reframing), so the split is structural: no training
 * pair of any seed has a held-out prompt, template or word, and the held-out pairs of one seed serve every
 * training seed.
 *
 * The `-easy` variants are the earlier setting, unchanged: both splits draw from every template and word,
 * and the eval prompts of a seed are kept out of that seed's train split only. DPO saturates them.
 */
import { Rng } from '../model/rng.js';
import type { PreferencePair } from './types.js';
import { reframingExample, toxicityExample, wordsText, type TaskSide, type WorldExample } from './world.js';

import { TASK_NAMES, type TaskName } from '../names.js';

export { TASK_NAMES, type TaskName };

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
