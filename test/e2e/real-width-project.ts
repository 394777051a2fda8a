// A project at real widths for the views: a random-weight GPT with MLP taps as wide as a real model's
// (`layers` blocks of `neurons` neurons, e.g. GPT-2 small's 12 × 3,072; the built-in world's vocabulary) as
// checkpoint `model`, optionally a one-block GPT of `wide` neurons as checkpoint `wide`, every
// `blocks.*.mlp.post` tap recorded over the built-in world's text (`tokens` tokens of it, written to a probe
// file). The views read only the taps, so d_model is kept small (128) to keep recording quick; the weights
// are random, so the numbers mean nothing, but the tables and matrices have their real sizes. Made once per
// shape into `dir` (remade when the shape differs), for the e2e tests and `npm run bench:ui`.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openProject } from '../../src/core/store/project.js';
import { gptConfig, initParamArrays } from '../../src/core/model/arch/gpt2.js';
import { saveCheckpoint } from '../../src/core/model/checkpoint.js';
import { worldTokenizer } from '../../src/core/data/world.js';
import { builtinProbeSet, DEFAULT_PROBE } from '../../src/core/data/probe.js';
import { recordOp } from '../../src/core/ops/record.js';
import { parseInput } from '../../src/core/api.js';
import { silentReporter } from '../../src/core/ops/progress.js';

export interface RealWidthShape {
  layers: number;
  neurons: number;
  /** Neurons of the one-block `wide` checkpoint; none when absent. */
  wide?: number;
  /** Probe tokens (about: documents are whole sequences of the built-in probe set). */
  tokens: number;
}

const N_CTX = 128;
const D_MODEL = 128;

/** The project of `shape` in `dir`: made on first use, reused while `.real-width` records the same shape. */
export async function realWidthProject(dir: string, shape: RealWidthShape): Promise<string> {
  const marker = join(dir, '.real-width');
  const made = JSON.stringify({ ...shape, dModel: D_MODEL, nCtx: N_CTX });
  if (existsSync(marker) && readFileSync(marker, 'utf8') === made) return dir;
  rmSync(dir, { recursive: true, force: true });
  const project = openProject(dir, { create: true });
  try {
    const tokenizer = worldTokenizer();
    // The probe: the built-in probe set's sequences as text, one document each (labelled by the lexicons).
    const probe = join(dir, 'probe.txt');
    const set = builtinProbeSet({ tokens: shape.tokens, seed: DEFAULT_PROBE.seed, nCtx: N_CTX });
    writeFileSync(probe, set.sequences.map((s) => tokenizer.decode(s.ids)).join('\n\n') + '\n');
    const models: [string, number, number][] = [['model', shape.layers, shape.neurons]];
    if (shape.wide) models.push(['wide', 1, shape.wide]);
    for (const [k, [name, nLayer, nInner]] of models.entries()) {
      const config = gptConfig({
        vocabSize: tokenizer.vocabSize,
        nLayer,
        nEmbd: D_MODEL,
        nHead: 4,
        nInner,
        nCtx: N_CTX,
        bosTokenId: tokenizer.eosId,
        eosTokenId: tokenizer.eosId,
      });
      saveCheckpoint(project.checkpointDir(name), config, initParamArrays(config, 1 + k), tokenizer, {
        stage: 'base',
      });
      process.stderr.write(`real-width project: recording ${name} (${nLayer} × ${nInner} neurons)\n`);
      await recordOp(
        project,
        parseInput('record', { checkpoint: name, probe, taps: 'blocks.*.mlp.post' }),
        silentReporter,
      );
    }
    writeFileSync(marker, made);
  } finally {
    project.close();
  }
  return dir;
}
