/**
 * The `generate` operation: sample continuations of prompts from a checkpoint.
 */
import { modelInput } from '../model/tokenizer.js';
import { initBackend } from '../backend/index.js';
import { loadCheckpoint } from '../model/checkpoint.js';
import { disposeParams, paramsFromArrays } from '../model/models.js';
import { generate } from '../model/generate.js';
import type { Project } from '../store/project.js';
import type { OpParsed } from '../api.js';
import { resolveCheckpoint } from './checkpoints.js';

export interface Generation {
  prompt: string;
  sample: number;
  continuation: string;
  ids: number[];
}

/** Samples `samples` continuations of each prompt (seeded). */
export async function generateOp(
  project: Project,
  input: OpParsed<'generate'>,
): Promise<{ checkpoint: string; generations: Generation[] }> {
  await initBackend(input.backend ?? 'auto');
  const ck = loadCheckpoint(resolveCheckpoint(project, input.checkpoint).dir);
  const params = paramsFromArrays(ck.config, ck.arrays, false);
  try {
    const rows: { prompt: string; sample: number; ids: number[] }[] = [];
    for (const prompt of input.prompts) {
      const text = ck.tokenizer.encode(prompt);
      if (text.length === 0) throw new Error(`prompt ${JSON.stringify(prompt)} has no tokens`);
      const ids = modelInput(ck.tokenizer, text, ck.config.nCtx - 1);
      for (let s = 0; s < input.samples; s++) rows.push({ prompt, sample: s, ids });
    }
    const out = await generate(
      ck.config,
      params,
      rows.map((r) => r.ids),
      {
        maxNewTokens: input.maxNewTokens,
        temperature: input.temperature,
        topK: input.topK,
        seed: input.seed,
        stopId: ck.tokenizer.eosId,
        padId: ck.tokenizer.padId,
      },
    );
    return {
      checkpoint: input.checkpoint,
      generations: rows.map((r, i) => ({
        prompt: r.prompt,
        sample: r.sample,
        continuation: ck.tokenizer.decode(out[i]),
        ids: out[i],
      })),
    };
  } finally {
    disposeParams(params);
  }
}
