/**
 * CLI commands over the store: record, export, analyze, compare. Each parses its flags into its operation's
 * input and calls the service ({@link callOp}); flags left out take the schema's defaults. Exports are file
 * writers over the store.
 */
import { TASK_NAMES } from '../core/names.js';
import { Command, Option } from 'commander';
import { openProject } from '../core/store/project.js';
import { resolveCheckpoint } from '../core/ops/checkpoints.js';
import { exportActivations } from '../core/store/export.js';
import { parseTapRef } from '../core/ops/tap.js';
import { MATCH_R_THRESHOLD, SAE_TOPK_K, type CompareResult } from '../core/api.js';
import { writeMatrixNpy, writeRecordsCsv } from '../core/analysis/export.js';
import { writeUserFile } from '../core/store/files.js';
import { runTrainerState } from '../core/ops/trainer-state.js';
import { backendOption, callOp, int, num, printJson, projectDir } from './cli.js';
import { textTable } from './terminal.js';
import { registerFigureCommand } from './cli-figure.js';
import { registerCrosscoderCommand } from './cli-crosscoder.js';
import { registerLensCommand } from './cli-lens.js';

/** Prints the compare result: the held-out table, then one table per layer. */
export function printCompare(r: CompareResult): void {
  if (r.scores.length) {
    const judge = r.scores[0].judgeMetric.replace('_', ' ');
    console.log(`\nHeld-out ${r.task} pairs (reference = ${r.base}, beta ${r.beta}):\n`);
    console.log(
      textTable(
        ['checkpoint', 'reward acc', 'reward margin', judge, `mean |corr| ${r.scores[0].tap}`],
        r.scores.map((s) => [s.checkpoint, s.rewardAccuracy, s.rewardMargin, s.judgeValue, s.meanAbsCorr]),
      ),
    );
  }
  for (const tap of r.taps) {
    console.log(`\n${tap} (probe set, non-special tokens):\n`);
    console.log(
      textTable(
        [
          'checkpoint',
          'mono share',
          'dead share',
          'mean |corr|',
          'decorrelation',
          'frac active',
          'hoyer',
          'eff. rank',
          `svcca→${r.base}`,
          `rsa→${r.base}`,
        ],
        r.rows
          .filter((x) => x.tap === tap)
          .map((x) => [
            x.checkpoint,
            x.monosemantic,
            x.dead,
            x.meanAbsCorr,
            x.decorrelation,
            x.fractionActive,
            x.hoyer,
            x.effectiveRank,
            x.svccaToBase,
            x.rsaToBase,
          ]),
      ),
    );
  }
}

/** The options `common` adds to an analysis command. */
interface CommonOpts {
  project: string;
  probe?: string;
  json?: boolean;
}
/** `common` plus one CHECKPOINT and TAP. */
interface TapOpts extends CommonOpts {
  checkpoint: string;
  tap: string;
}
/** The options `pairArgs` adds: sides A and B, optional SAEs on each, the null's shuffles and seed. */
interface PairOpts extends CommonOpts {
  a: string;
  b: string;
  saeA?: string;
  saeB?: string;
  shuffles?: number;
  seed?: number;
}

/** The tap of a `tapArgs` command, as the operations take it. */
const tapRef = (o: TapOpts) => ({ checkpoint: o.checkpoint, tap: o.tap, probe: o.probe });
/** Sides A and B of a `pairArgs` command, as the operations take them. */
const pairRefs = (o: PairOpts) => ({ a: parseTapRef(o.a, o.probe), b: parseTapRef(o.b, o.probe) });

export function registerAnalysisCommands(p: Command): void {
  p.command('record')
    .description("Record a checkpoint's activations on a probe set into the project's store (resumable)")
    .option('--project <dir>', 'project folder', 'monoscope-demo')
    .requiredOption('--checkpoint <name>', 'checkpoint (name in the project, or a folder)')
    .option(
      '--probe <probe>',
      "'builtin' (the world's, 20,000 tokens; the default), 'english' (real English shipped with Monoscope: " +
        "WordNet's example sentences, about 20,000 GPT-2 tokens), a stored probe hash, or a text file " +
        '(documents separated by blank lines) or JSONL file ({"text": ...} per line)',
    )
    .option(
      '--labels <file>',
      'JSONL of {"text","spans":[{"start","end","concept"}]} labels for a text probe',
    )
    .option(
      '--context <n>',
      "tokens per window of a text probe, BOS included (default the lesser of 128 and the model's context)",
      int('--context'),
    )
    .option(
      '--lexicon <file>',
      'concept lexicon for a text probe\'s labels, JSON {"concept": ["word", "multi word phrase", ...]}',
    )
    .addOption(
      new Option(
        '--lexicon-mode <mode>',
        'add the --lexicon to the built-in lexicons (default) or replace them',
      ).choices(['add', 'replace']),
    )
    .option(
      '--taps <pattern>',
      'taps to record, e.g. blocks.*.mlp.post (the default) or blocks.0.mlp.pre,blocks.1.resid_post',
    )
    .addOption(
      new Option('--dtype <t>', 'storage precision (default float16)').choices(['float16', 'float32']),
    )
    .option(
      '--batch-size <n>',
      'sequences per batch (default: up to 32, as many as fit in memory)',
      int('--batch-size'),
    )
    .option(
      '--copy',
      "a folder's weights are copied into the project's checkpoints/ (default: read where they are)",
    )
    .option('--json', 'print the result as JSON (progress goes to stderr)')
    .addOption(backendOption())
    .action(
      async (o: {
        project: string;
        checkpoint: string;
        copy?: boolean;
        probe?: string;
        labels?: string;
        context?: number;
        lexicon?: string;
        lexiconMode?: 'add';
        taps?: string;
        dtype?: 'float16';
        batchSize?: number;
        json?: boolean;
        backend?: 'auto';
      }) => {
        const { project, json, ...input } = o;
        const r = await callOp(project, 'record', input, { json });
        if (json) return printJson(r);
        console.log(
          textTable(
            ['tap', 'rows', 'neurons', 'dtype', 'status'],
            r.recordings.map((x) => [
              x.tap,
              x.rows,
              x.cols,
              x.dtype,
              r.skipped.includes(x.tap) ? 'already recorded' : x.status,
            ]),
          ),
        );
        console.log(
          `\n${r.rowsComputed} token rows computed in ${r.seconds.toFixed(1)} s (forward ${r.timing.forwardSeconds.toFixed(1)} s).`,
        );
      },
    );

  const exp = p.command('export').description('Export data so any tool can take over');
  registerFigureCommand(exp);
  exp
    .command('activations')
    .description(
      'A recorded tap as npy (float32 [rows, neurons]) or CSV, with FILE.tokens.json, FILE.concepts.json and FILE.ambiguous.json',
    )
    .option('--project <dir>', 'project folder', 'monoscope-demo')
    .requiredOption('--checkpoint <name>', 'checkpoint (name in the project, or a folder it recorded)')
    .requiredOption('--tap <tap>', 'tap, e.g. blocks.0.mlp.post')
    .option('--probe <hash>', 'probe set hash (when the tap was recorded over several)')
    .addOption(new Option('--format <f>', 'file format').choices(['npy', 'csv']).default('npy'))
    .requiredOption('--out <file>', 'output file')
    .action(
      (o: {
        project: string;
        checkpoint: string;
        tap: string;
        probe?: string;
        format: 'npy' | 'csv';
        out: string;
      }) => {
        const project = openProject(projectDir(o.project), { readonly: true });
        try {
          const r = exportActivations(project.store, {
            checkpoint: resolveCheckpoint(project, o.checkpoint).name,
            tap: o.tap,
            probe: o.probe,
            format: o.format,
            out: o.out,
          });
          console.log(`wrote ${r.rows} x ${r.cols}: ${r.files.join(', ')}`);
        } finally {
          project.close();
        }
      },
    );
  exp
    .command('metrics')
    .description(
      "A training run's metrics at every step: CSV (one row per step, one column per metric), or a transformers trainer_state.json",
    )
    .option('--project <dir>', 'project folder', 'monoscope-demo')
    .requiredOption('--run <id>', 'run id (the checkpoint name it produced)')
    .addOption(
      new Option('--format <f>', 'csv, or trainer-state (the layout of TRL/transformers trainer_state.json)')
        .choices(['csv', 'trainer-state'])
        .default('csv'),
    )
    .requiredOption('--out <file>', 'output file')
    .action(async (o: { project: string; run: string; format: 'csv' | 'trainer-state'; out: string }) => {
      const series = await callOp(o.project, 'runs.metrics', { runId: o.run }, { readonly: true });
      if (o.format === 'trainer-state') {
        const runs = await callOp(o.project, 'runs.list', {}, { readonly: true });
        writeUserFile(
          o.out,
          runTrainerState(
            runs.find((r) => r.id === o.run)!,
            series,
          ),
        );
        return console.log(`wrote ${o.out}`);
      }
      // One row per step, one column per metric (names sorted), empty where a metric was not logged.
      const names = Object.keys(series).sort();
      const bySteps = new Map<number, Record<string, number>>();
      for (const name of names)
        series[name].steps.forEach((step, i) => {
          let row = bySteps.get(step);
          if (!row) bySteps.set(step, (row = { step }));
          row[name] = series[name].values[i];
        });
      const rows = [...bySteps.values()].sort((a, b) => a.step - b.step);
      writeRecordsCsv(o.out, rows, ['step', ...names]);
      console.log(`wrote ${o.out}`);
    });

  const an = p
    .command('analyze')
    .description('Analyses of recorded taps (recorded on demand); results are kept in the store');
  const common = (c: Command) =>
    c
      .option('--project <dir>', 'project folder', 'monoscope-demo')
      .option('--probe <probe>', 'probe set: builtin (the default), a hash or a file')
      .option('--json', 'print JSON (progress goes to stderr)');
  /** Two sides, A and B (CHECKPOINT:TAP each), optional SAEs on each, and the null's shuffles and seed. */
  const pairArgs = (c: Command, opts: { saes: boolean; shufflesHelp: string }) => {
    c.requiredOption('--a <ckpt:tap>', 'side A, CHECKPOINT:TAP').requiredOption(
      '--b <ckpt:tap>',
      'side B, CHECKPOINT:TAP',
    );
    if (opts.saes)
      c.option('--sae-a <name>', 'SAE trained on A (default: raw neurons)').option(
        '--sae-b <name>',
        'SAE trained on B',
      );
    return c
      .option('--shuffles <n>', `${opts.shufflesHelp} (default 1000)`, int('--shuffles'))
      .option('--seed <n>', 'seed (default 0)', int('--seed'));
  };
  const tapArgs = (c: Command) =>
    c
      .requiredOption('--checkpoint <name>', 'checkpoint')
      .requiredOption('--tap <tap>', 'tap, e.g. blocks.1.mlp.post');

  tapArgs(
    common(
      an
        .command('correlation')
        .description('Pearson neuron x neuron matrix, its summaries, and a cluster order'),
    ),
  )
    .option('--out <file.npy>', 'write the matrix (neuron order) as npy')
    .option('--csv <file>', 'write the matrix as CSV')
    .option('--diff <checkpoint>', 'also the difference (this - other) to another checkpoint of the same tap')
    .action(async (o: TapOpts & { out?: string; csv?: string; diff?: string }) => {
      const r = await callOp(o.project, 'correlation.matrix', { ref: tapRef(o), diffWith: o.diff }, o);
      const size = r.size;
      if (o.out) writeMatrixNpy(o.out, { data: r.corr, rows: size, cols: size });
      if (o.csv) {
        const recs = Array.from({ length: size }, (_, i) =>
          Object.fromEntries([
            ['neuron', i],
            ...Array.from({ length: size }, (_, j) => [`n${j}`, r.corr[i * size + j]]),
          ]),
        );
        writeRecordsCsv(o.csv, recs);
      }
      if (o.json) return printJson(r);
      const s = r.summary;
      console.log(
        textTable(
          ['metric', 'value'],
          [
            ['neurons', size],
            ['tokens', s.n],
            ['dead neurons', s.dead.length],
            ['mean |off-diagonal|', s.meanAbsOffDiagonal],
            ['||C - I||_F normalised', s.normalizedFrobenius],
            ['feature decorrelation (FD)', s.featureDecorrelation],
            ...(r.meanAbsDiff !== undefined
              ? [[`mean |diff| vs ${r.diffWith}`, r.meanAbsDiff] as [string, number]]
              : []),
          ],
        ),
      );
      if (o.out) console.log(`\nwrote ${o.out}`);
    });

  tapArgs(
    common(
      an
        .command('mono')
        .description(
          'Monosemanticity of every neuron against the probe concepts, with its statistics, and label shares',
        ),
    ),
  )
    .option('--top-k <n>', 'top activations for the dominant concept (default 20)', int('--top-k'))
    .option('--csv <file>', 'write per-neuron scores as CSV')
    .action(async (o: TapOpts & { topK?: number; csv?: string }) => {
      const r = await callOp(o.project, 'neurons.table', { ...tapRef(o), topK: o.topK }, o);
      const rows = Array.from({ length: r.neurons }, (_, i) => ({
        neuron: i,
        label: r.label[i],
        dominantConcept: r.dominantConcept[i],
        topKShare: r.topKShare[i],
        selectivity: r.selectivity[i],
        nmi: r.nmi[i],
        memelMean: r.memelMean[i],
        mean: r.mean[i],
        std: r.std[i],
        max: r.max[i],
        density: r.density[i],
      }));
      if (o.csv) writeRecordsCsv(o.csv, rows);
      if (o.json) return printJson(r);
      console.log(textTable(['label', 'share'], Object.entries(r.shares)));
      const top = rows
        .filter((n) => n.label === 'monosemantic')
        .sort((a, b) => b.selectivity - a.selectivity)
        .slice(0, 10);
      if (top.length)
        console.log(
          `\n${textTable(
            ['neuron', 'concept', 'top-k share', 'selectivity', 'NMI'],
            top.map((n) => [n.neuron, n.dominantConcept ?? '', n.topKShare, n.selectivity, n.nmi]),
          )}`,
        );
    });

  tapArgs(
    common(
      an
        .command('sparsity')
        .description('Fraction active, Hoyer sparsity, effective rank and activation variance'),
    ),
  ).action(async (o: TapOpts) => {
    const r = await callOp(o.project, 'sparsity', tapRef(o), o);
    if (o.json) return printJson(r);
    console.log(textTable(['metric', 'value'], Object.entries(r)));
  });

  common(
    an
      .command('weights')
      .description(
        "The paper's weight-based monosemanticity proxy per layer (median ||w_in|| b_in, normalised)",
      ),
  )
    .requiredOption('--checkpoint <name>', 'checkpoint')
    .action(async (o: CommonOpts & { checkpoint: string }) => {
      const r = await callOp(o.project, 'weights.proxy', { checkpoint: o.checkpoint }, o);
      if (o.json) return printJson(r);
      console.log(JSON.stringify(r, null, 2));
    });

  for (const measure of ['svcca', 'rsa'] as const) {
    pairArgs(
      common(
        an
          .command(measure)
          .description(
            measure === 'svcca'
              ? 'SVCCA between two taps over the same tokens, against a permutation null'
              : 'RSA (Spearman of Pearson RDMs) between two taps, against a permutation null',
          ),
      ),
      { saes: false, shufflesHelp: 'permutations for the null' },
    )
      .option(
        '--max-tokens <n>',
        'datapoints (tokens) sampled (default 4000 for SVCCA, 1000 for RSA)',
        int('--max-tokens'),
      )
      .addOption(
        new Option(
          '--mode <m>',
          'SVCCA mode: svcca (99% variance, the default) or svcca-paper-compat (k = 1, reproduces the authors)',
        ).choices(['svcca', 'svcca-paper-compat']),
      )
      .option('--null-out <file.npy>', 'write the null distribution')
      .action(async (o: PairOpts & { maxTokens?: number; mode?: 'svcca'; nullOut?: string }) => {
        const r = await callOp(
          o.project,
          'similarity',
          {
            ...pairRefs(o),
            measure,
            mode: o.mode,
            shuffles: o.shuffles,
            seed: o.seed,
            maxTokens: o.maxTokens,
          },
          o,
        );
        const nul = r.nullDistribution;
        if (o.nullOut && nul) writeMatrixNpy(o.nullOut, { data: nul, rows: 1, cols: nul.length });
        if (o.json) return printJson(r);
        console.log(r.label);
        console.log(
          textTable(
            ['', 'value'],
            [
              ['score', r.score],
              ['null mean', r.nullMean ?? NaN],
              ['null sd', r.nullSd ?? NaN],
              ['p', r.pValue ?? NaN],
              ['directions kept A', r.kA ?? ''],
              ['directions kept B', r.kB ?? ''],
              ['tokens', r.n],
            ],
          ),
        );
      });
  }

  pairArgs(
    common(
      an
        .command('match')
        .description(
          "Match features (SAE latents or neurons) of A and B by activation correlation, with Lan et al.'s filters; score the pairs with SVCCA and RSA",
        ),
    ),
    { saes: true, shufflesHelp: 'permutations for the SVCCA/RSA null of the kept pairs' },
  )
    .addOption(
      new Option('--rule <r>', 'pairing rule (default many-to-1)').choices([
        'many-to-1',
        'one-to-one-first',
        'one-to-one-best',
        'hungarian',
      ]),
    )
    .option(
      '--threshold <r>',
      `keep pairs with r above this ("none" switches the filter off; default ${MATCH_R_THRESHOLD})`,
    )
    .option('--no-token-filters', 'switch off the non-concept and shared-token filters')
    .option('--csv <file>', 'write the kept pairs as CSV')
    .action(
      async (
        o: PairOpts & { rule?: 'many-to-1'; threshold?: string; tokenFilters: boolean; csv?: string },
      ) => {
        const options = {
          ...(o.rule !== undefined && { rule: o.rule }),
          ...(o.threshold !== undefined && {
            rThreshold: o.threshold === 'none' ? null : num('--threshold')(o.threshold),
          }),
          ...(!o.tokenFilters && { tokenFilters: false }),
        };
        const r = await callOp(
          o.project,
          'match',
          {
            ...pairRefs(o),
            saeA: o.saeA,
            saeB: o.saeB,
            ...(Object.keys(options).length && { options }),
            shuffles: o.shuffles,
            seed: o.seed,
          },
          o,
        );
        if (o.csv) writeRecordsCsv(o.csv, r.pairs as unknown as Record<string, number>[]);
        if (o.json) return printJson(r);
        console.log(
          textTable(
            ['filter', 'applied', 'before', 'after'],
            r.filters.map((f) => [f.filter, f.applied ? 'yes' : 'no', f.before, f.after]),
          ),
        );
        console.log(
          `\n${r.kept} pairs kept; mean r ${r.meanCorrelation.toFixed(4)} (all), ${r.meanCorrelationFiltered.toFixed(4)} (kept)`,
        );
        const s = r.similarity;
        if (s)
          console.log(
            `\n${textTable(
              ['measure', 'score', 'null mean', 'p', 'k A', 'k B'],
              [
                [
                  'svcca',
                  s.svcca.score,
                  s.svcca.nullMean ?? NaN,
                  s.svcca.pValue ?? NaN,
                  s.svcca.kA ?? '',
                  s.svcca.kB ?? '',
                ],
                ['rsa', s.rsa.score, s.rsa.nullMean ?? NaN, s.rsa.pValue ?? NaN, '', ''],
              ],
            )}`,
          );
      },
    );

  tapArgs(
    common(
      an
        .command('sae')
        .description("Train a sparse autoencoder on a tap's activations and record it in the store"),
    ),
  )
    .requiredOption('--name <name>', 'SAE name (saved under DIR/saes/NAME)')
    .addOption(
      new Option(
        '--kind <k>',
        'TopK with AuxK (the default), or ReLU + L1 (decoder-norm scaled, warm-up)',
      ).choices(['topk', 'relu-l1']),
    )
    .option('--latents <n>', 'dictionary size (default 1024)', int('--latents'))
    .option('--k <n>', `TopK: active latents per token (default ${SAE_TOPK_K})`, int('--k'))
    .option('--l1 <x>', 'ReLU+L1: the L1 coefficient', num('--l1'))
    .option('--steps <n>', 'optimizer steps (default 1000)', int('--steps'))
    .option('--batch-size <n>', 'tokens per step (default 1024)', int('--batch-size'))
    .option('--seed <n>', 'seed (default 0)', int('--seed'))
    .option('--overwrite', 'replace an SAE of this name trained with other settings')
    .action(
      async (
        o: TapOpts & {
          name: string;
          kind?: 'topk';
          latents?: number;
          k?: number;
          overwrite?: boolean;
          l1?: number;
          steps?: number;
          batchSize?: number;
          seed?: number;
        },
      ) => {
        const { project, json, probe, checkpoint, tap, ...flags } = o;
        const r = await callOp(project, 'sae.train', { ...flags, ref: { checkpoint, tap, probe } }, { json });
        if (json) return printJson(r);
        const m = r.metrics;
        console.log(
          textTable(
            ['metric (held-out tokens)', 'value'],
            [
              ['L0', m.l0],
              ['explained variance', m.explainedVariance],
              ['MSE', m.mse],
              ['dead fraction', m.deadFraction],
              ['dense fraction (>10%)', m.denseFraction],
              ['tokens/s (training)', r.tokensPerS],
            ],
          ),
        );
        console.log(`\nsaved ${r.dir}`);
      },
    );
  registerCrosscoderCommand(an);

  pairArgs(
    common(
      an
        .command('subspaces')
        .description(
          'Semantic subspaces: per concept category, SVCCA and RSA of paired features against a null',
        ),
    ),
    { saes: true, shufflesHelp: 'permutations for each null' },
  ).action(async (o: PairOpts) => {
    const r = await callOp(
      o.project,
      'subspaces',
      { ...pairRefs(o), saeA: o.saeA, saeB: o.saeB, shuffles: o.shuffles, seed: o.seed },
      o,
    );
    if (o.json) return printJson(r);
    console.log(
      textTable(
        ['category', 'features A', 'features B', 'pairs', 'svcca', 'p', 'rsa', 'p'],
        r.categories.map((c) => [
          c.category,
          c.nA,
          c.nB,
          c.pairs.length,
          c.similarity?.svcca.score ?? c.skipped ?? '',
          c.similarity?.svcca.null?.pValue ?? '',
          c.similarity?.rsa.score ?? '',
          c.similarity?.rsa.null?.pValue ?? '',
        ]),
      ),
    );
  });

  registerLensCommand(an);

  p.command('compare')
    .description(
      'Compare checkpoints side by side, one table per layer (monosemanticity, correlation, sparsity, diversity, similarity to base; held-out rewards and toxicity); the result is kept in the store',
    )
    .argument('<checkpoints...>', 'checkpoint names; the first is the base')
    .option('--project <dir>', 'project folder', 'monoscope-demo')
    .option('--taps <pattern>', 'taps (default blocks.*.mlp.post)')
    .option('--probe <probe>', 'probe set (default builtin)')
    .addOption(
      new Option('--task <t>', 'built-in task for the reward and judge columns (default toxicity)').choices([
        ...TASK_NAMES,
        'none',
      ]),
    )
    .option('--json', 'print JSON (progress goes to stderr)')
    .option('--csv <file>', 'write the per-layer rows as CSV')
    .action(
      async (
        checkpoints: string[],
        o: {
          project: string;
          taps?: string;
          probe?: string;
          task?: 'toxicity';
          json?: boolean;
          csv?: string;
        },
      ) => {
        const { project, json, csv, ...flags } = o;
        const r = await callOp(project, 'compare', { checkpoints, ...flags }, { json });
        if (csv) writeRecordsCsv(csv, r.rows as unknown as Record<string, string | number>[]);
        if (json) return printJson(r);
        printCompare(r);
      },
    );
}
