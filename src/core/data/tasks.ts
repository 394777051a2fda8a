/**
 * The built-in preference tasks, made from the world (Yan et al. 2024 §5.1, after Lee et al. 2024 and
 * Sharma et al. 2023):
 * - `toxicity`: an argument opening; chosen = a polite reply, rejected = an insulting one (the PPLM pairs
 *   of Lee et al.: unperturbed continuation chosen, toxic continuation rejected).
 * - `reframing`: a diary situation and feeling; chosen = a constructive reframe, rejected = a negative thought
 *   (Cognition Reframing: situation -> prompt, positive reframe chosen, negative thought rejected).
 * Prompts are at most 24 tokens and responses 6..16 tokens, so prompt + response fits in 64. The eval split's
 * prompts never occur in the train split.
 */
import { Rng } from '../model/rng.js';
import type { PreferencePair } from './types.js';
import { reframingExample, toxicityExample, wordsText, type WorldExample } from './world.js';

import { TASK_NAMES, type TaskName } from '../names.js';

export { TASK_NAMES, type TaskName };

/** A task's splits, and the eval prompts to sample continuations from (for the judge). */
export interface PreferenceTask {
  train: PreferencePair[];
  eval: PreferencePair[];
  prompts: { eval: string[] };
}

/** One labelled example of a task (the probe set uses these). */
export function taskExample(name: TaskName, rng: Rng): WorldExample {
  if (name === 'toxicity') return toxicityExample(rng);
  if (name === 'reframing') return reframingExample(rng);
  throw new Error(`unknown task '${name}' (expected one of ${TASK_NAMES.join(', ')})`);
}

/** A 32-bit seed for one stream of one task, so that the train split does not depend on the eval size. */
function streamSeed(seed: number, name: TaskName, split: 'train' | 'eval'): number {
  let h = Math.imul(seed >>> 0, 0x9e3779b1) >>> 0;
  for (const ch of `${name}/${split}`) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
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
 * eval prompts (train prompts may repeat, with other responses). Deterministic in `seed`.
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
  const evalRng = new Rng(streamSeed(opts.seed, name, 'eval'));
  const evalPairs: PreferencePair[] = [];
  const evalPrompts = new Set<string>();
  for (let tries = 0; evalPairs.length < opts.eval; tries++) {
    if (tries > 50 * opts.eval + 1000) {
      throw new Error(
        `preferenceTask('${name}'): found only ${evalPairs.length} distinct eval prompts; ask for fewer`,
      );
    }
    const pair = toPair(taskExample(name, evalRng));
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
    const pair = toPair(taskExample(name, trainRng));
    if (!evalPrompts.has(pair.prompt)) trainPairs.push(pair);
  }
  return { train: trainPairs, eval: evalPairs, prompts: { eval: evalPairs.map((p) => p.prompt) } };
}
