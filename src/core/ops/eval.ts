/**
 * `monoscope eval`: scores preference pairs with a policy and a reference checkpoint. For each pair it
 * reports the token ids and the summed response log-probs of both models for chosen and rejected, then
 * the summary reward metrics under TRL's names (r = beta (log pi - log ref)).
 */
import { loadCheckpoint } from '../model/checkpoint.js';
import { sameTokenization } from '../model/tokenizer.js';
import { disposeParams, paramsFromArrays } from '../model/models.js';
import { initBackend, type BackendChoice } from '../backend/index.js';
import { checkUnknownTokens, pairLimits, readPreferenceJsonl, tokenizePairsReport } from '../data/jsonl.js';
import type { TokenizedPair } from '../data/types.js';
import { preferenceBatch } from '../train/batches.js';
import {
  DPO_BETA,
  preferenceLossValue,
  preferenceMetrics,
  preferenceObjective,
  responseLogps,
} from '../train/step.js';
import { throwIfCancelled, type Reporter } from './progress.js';

export interface PairScore {
  index: number;
  prompt_ids: number[];
  chosen_ids: number[];
  rejected_ids: number[];
  policy_chosen_logp: number;
  policy_rejected_logp: number;
  ref_chosen_logp: number;
  ref_rejected_logp: number;
  reward_chosen: number;
  reward_rejected: number;
  margin: number;
}

export interface EvalResult {
  policy: string;
  ref: string;
  pairsFile: string;
  beta: number;
  truncated: number;
  pairs: PairScore[];
  summary: Record<string, number>;
}

/** Summed response log-probs [P chosen..., P rejected...] of a checkpoint on tokenized pairs, in batches. */
export async function pairLogps(
  dir: string,
  pairs: TokenizedPair[],
  batchSize = 32,
  reporter?: Reporter,
  label = dir,
  signal?: AbortSignal,
): Promise<Float32Array> {
  const ck = loadCheckpoint(dir);
  const params = paramsFromArrays(ck.config, ck.arrays, false);
  const out = new Float32Array(2 * pairs.length);
  try {
    for (let i = 0; i < pairs.length; i += batchSize) {
      throwIfCancelled(signal);
      const chunk = pairs.slice(i, i + batchSize);
      const lp = await responseLogps(ck.config, params, preferenceBatch(chunk, ck.tokenizer.padId), 'sum');
      out.set(lp.subarray(0, chunk.length), i);
      out.set(lp.subarray(chunk.length), pairs.length + i);
      reporter?.progress({
        phase: `eval ${label}`,
        done: Math.min(i + batchSize, pairs.length),
        total: pairs.length,
        unit: 'pair',
      });
    }
  } finally {
    disposeParams(params);
  }
  return out;
}

/**
 * Scores every pair of a JSONL file with `policy` against `ref` (both checkpoint folders); `signal` stops it
 * between batches.
 */
export async function evalPairs(
  opts: { policy: string; ref: string; pairs: string; beta?: number; backend?: BackendChoice },
  reporter?: Reporter,
  signal?: AbortSignal,
): Promise<EvalResult> {
  await initBackend(opts.backend ?? 'auto');
  const objective = preferenceObjective({ stage: 'dpo', beta: opts.beta ?? DPO_BETA });
  const beta = objective.beta;
  const policy = loadCheckpoint(opts.policy);
  const ref = loadCheckpoint(opts.ref);
  if (
    policy.config.vocabSize !== ref.config.vocabSize ||
    !sameTokenization(policy.tokenizer, ref.tokenizer)
  ) {
    throw new Error(
      `${opts.policy} and ${opts.ref} use different tokenizers; they cannot score the same tokens`,
    );
  }
  const raw = readPreferenceJsonl(opts.pairs, policy.tokenizer.chatTemplate);
  const nCtx = Math.min(policy.config.nCtx, ref.config.nCtx);
  const tok = tokenizePairsReport(raw, policy.tokenizer, pairLimits(nCtx, {}));
  checkUnknownTokens(opts.pairs, tok.pairs, policy.tokenizer, (m) => reporter?.message(m));
  const P = tok.pairs.length;
  const pol = await pairLogps(opts.policy, tok.pairs, 32, reporter, 'policy', signal);
  const rf = await pairLogps(opts.ref, tok.pairs, 32, reporter, 'reference', signal);
  const pairs: PairScore[] = tok.pairs.map((p, i) => {
    const rc = beta * (pol[i] - rf[i]);
    const rr = beta * (pol[P + i] - rf[P + i]);
    return {
      index: i,
      prompt_ids: p.prompt,
      chosen_ids: p.chosen,
      rejected_ids: p.rejected,
      policy_chosen_logp: pol[i],
      policy_rejected_logp: pol[P + i],
      ref_chosen_logp: rf[i],
      ref_rejected_logp: rf[P + i],
      reward_chosen: rc,
      reward_rejected: rr,
      margin: rc - rr,
    };
  });
  const refLogps = { chosen: rf.subarray(0, P), rejected: rf.subarray(P) };
  const respLen = [...tok.pairs.map((p) => p.chosen.length), ...tok.pairs.map((p) => p.rejected.length)];
  const summary: Record<string, number> = {
    pairs: P,
    ...preferenceMetrics(pol, refLogps, objective),
    loss: P ? await preferenceLossValue(pol, respLen, refLogps, objective) : 0,
  };
  return {
    policy: opts.policy,
    ref: opts.ref,
    pairsFile: opts.pairs,
    beta,
    truncated: tok.truncatedPrompts + tok.truncatedResponses,
    pairs,
    summary,
  };
}
