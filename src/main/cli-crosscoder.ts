/**
 * `monoscope analyze crosscoder`: trains a crosscoder on a tap of 2 or 3 checkpoints (`crosscoder.train`)
 * and prints its held-out metrics per model, its latents' tags per pair and the latents specific to each
 * later checkpoint against the first (the record as JSON with `--json`, which holds every latent's Δ for
 * each pair). With `--seed-baseline`, the findings beside the seed twin (`crosscoder.findings`), added to
 * the JSON record as `findings`.
 */
import { Command, Option } from 'commander';
import { SAE_TOPK_K } from '../core/api.js';
import type { CrosscoderRecord, DiffingFindings } from '../core/diff/types.js';
import { diffingFindings } from '../core/diff/findings.js';
import { callOp, int, num, printJson } from './cli.js';
import { textTable } from './terminal.js';

/**
 * The human summary of a crosscoder: metrics per model, tag counts per pair of models, and the latents
 * specific to each later checkpoint against the first (`findings`, with a seed baseline where it has one).
 */
export function printCrosscoder(r: CrosscoderRecord, findings = diffingFindings(r)): void {
  console.log(
    textTable(
      ['model (held-out tokens)', 'explained var.', 'L0', 'dead'],
      r.metrics.map((m, i) => [r.checkpoints[i], m.explainedVariance, m.l0, m.deadFraction]),
    ),
  );
  const { specific, shared } = r.thresholds;
  console.log(
    `\nLatents per pair (A-only: Δ > ${specific}, B-only: Δ < ${+(1 - specific).toFixed(6)}, shared: |Δ − 0.5| < ${shared}; ${r.dSae} latents):\n`,
  );
  console.log(
    textTable(
      ['A', 'B', 'A-only', 'B-only', 'shared', 'other'],
      r.pairs.map((p) => [
        r.checkpoints[p.a],
        r.checkpoints[p.b],
        p.counts['a-only'],
        p.counts['b-only'],
        p.counts.shared,
        p.counts.other,
      ]),
    ),
  );
  printFindings(findings);
  console.log(`\nsaved ${r.dir}`);
}

/** Registers `analyze crosscoder` under the `analyze` command. */
export function registerCrosscoderCommand(an: Command): void {
  an.command('crosscoder')
    .description(
      'Train a crosscoder on a tap of 2 or 3 checkpoints (model diffing): its latents tagged shared or specific to a model',
    )
    .option('--project <dir>', 'project folder', 'monoscope-demo')
    .option('--probe <probe>', 'probe set: builtin (the default), a hash or a file')
    .option('--json', 'print JSON (progress goes to stderr)')
    .requiredOption('--checkpoints <a,b[,c]>', '2 or 3 checkpoints, comma-separated (base first)', (v) =>
      v.split(',').map((s) => s.trim()),
    )
    .requiredOption('--tap <tap>', 'tap, e.g. blocks.1.mlp.post')
    .requiredOption('--name <name>', 'crosscoder name (saved under DIR/crosscoders/NAME)')
    .addOption(
      new Option('--kind <k>', 'BatchTopK (the default) or L1 (decoder-norm-weighted)').choices([
        'batchtopk',
        'l1',
      ]),
    )
    .option('--latents <n>', 'dictionary size (default 1024)', int('--latents'))
    .option('--k <n>', `BatchTopK: mean active latents per token (default ${SAE_TOPK_K})`, int('--k'))
    .option('--l1 <x>', 'L1: the coefficient of the penalty', num('--l1'))
    .option('--steps <n>', 'optimizer steps (default 1000)', int('--steps'))
    .option('--batch-size <n>', 'tokens per step (default 256)', int('--batch-size'))
    .option('--lr <x>', 'learning rate', num('--lr'))
    .option('--seed <n>', 'seed (default 0)', int('--seed'))
    .option(
      '--specific <x>',
      'tags: A-only when Δ > x, B-only when Δ < 1 − x (default 0.9)',
      num('--specific'),
    )
    .option('--shared <x>', 'tags: shared when |Δ − 0.5| < x (default 0.1)', num('--shared'))
    .option('--overwrite', 'replace a crosscoder of this name trained with other settings')
    .option(
      '--seed-baseline',
      'read the findings beside a twin trained with seed + 1 (NAME-seedS, trained once and kept)',
    )
    .action(
      async (o: {
        project: string;
        probe?: string;
        json?: boolean;
        checkpoints: string[];
        tap: string;
        name: string;
        kind?: 'batchtopk' | 'l1';
        latents?: number;
        k?: number;
        l1?: number;
        steps?: number;
        batchSize?: number;
        lr?: number;
        seed?: number;
        specific?: number;
        shared?: number;
        overwrite?: boolean;
        seedBaseline?: boolean;
      }) => {
        const { project, json, seedBaseline, ...input } = o;
        const r = await callOp(project, 'crosscoder.train', input, { json });
        if (!seedBaseline) return json ? printJson(r) : printCrosscoder(r);
        const findings = await callOp(
          project,
          'crosscoder.findings',
          { name: r.name, seedBaseline },
          { json },
        );
        if (json) return printJson({ ...r, findings });
        printCrosscoder(r, findings);
      },
    );
}

/** The latents specific to each fine-tune against the base, with the seed baseline beside them where there is one. */
function printFindings(f: DiffingFindings): void {
  console.log(
    `\nLatents specific to each model against ${f.base} (B-only); score = mean top-k share of those that fire, ν = Latent Scaling (near 0: truly specific)${f.seed ? `; seed twin ${f.seed.name}` : ''}:\n`,
  );
  const seedCols = f.seed ? ['twin shares (weights)', 'twin finds (activations)', 'twin count'] : [];
  console.log(
    textTable(
      [
        'model',
        'specific',
        'firing',
        'monosemantic',
        'mean score',
        'ν^ε',
        'ν^r',
        ...seedCols,
        'top concepts',
      ],
      f.specific.map((s) => [
        s.checkpoint,
        s.count,
        s.firing,
        s.monosemantic,
        s.meanScore,
        s.meanNuError,
        s.meanNuRecon,
        ...(f.seed ? [s.seedShared ?? NaN, s.seedFound ?? NaN, s.seedTwinCount ?? NaN] : []),
        s.concepts
          .slice(0, 4)
          .map((c) => `${c.concept} ${c.latents}`)
          .join(', '),
      ]),
    ),
  );
  if (f.seed)
    console.log(
      `\nSeed baseline: the twin shares ${(100 * f.seed.allShared).toFixed(1)}% of all latents by their weights (Hungarian-matched decoder and encoder cosines both > 0.7) and finds ${(100 * f.seed.allFound).toFixed(1)}% again by their activations (Hungarian-matched, r > 0.7 over the probe).`,
    );
  if (f.scoreDifference !== undefined) {
    const [a, b] = f.specific;
    console.log(
      `${b.checkpoint}'s specific latents score ${b.meanScore.toFixed(3)} (n = ${b.firing}) against ${a.checkpoint}'s ${a.meanScore.toFixed(3)} (n = ${a.firing}): difference ${f.scoreDifference.toFixed(3)}.`,
    );
  }
}
