/**
 * CLI commands over the store: record, export, analyze, compare.
 */
import { Command, Option } from 'commander';
import { openProject } from '../core/store/project.js';
import { exportActivations } from '../core/store/export.js';
import { recordOp } from '../core/ops/record.js';
import {
  correlationOp,
  correlationDiffOp,
  matchOp,
  monosemanticityOp,
  parseTapRef,
  saeTrainOp,
  similarityOp,
  sparsityOp,
  subspacesOp,
  weightProxyOp,
  type TapRef,
} from '../core/ops/analyze.js';
import { compareOp, type CompareResult } from '../core/ops/compare.js';
import { writeMatrixNpy, writeRecordsCsv } from '../core/analysis/export.js';
import { backendOption, int, num, printJson, projectDir, withCancel } from './cli.js';
import { terminalReporter, textTable } from './terminal.js';
import { registerFigureCommand } from './cli-figure.js';
import type { Project } from '../core/store/project.js';

/** Runs `fn` on an open project with a reporter and Ctrl-C as cancel; closes everything after. */
async function withProject<T>(
  dir: string,
  json: boolean | undefined,
  fn: (p: Project, r: ReturnType<typeof terminalReporter>, signal: AbortSignal) => Promise<T>,
  create = false,
): Promise<T> {
  const project = openProject(projectDir(dir), { create });
  const reporter = terminalReporter(
    json ? { json: true, stream: process.stderr } : { stream: process.stderr },
  );
  try {
    return await withCancel((signal) => fn(project, reporter, signal));
  } finally {
    reporter.stop();
    project.close();
  }
}

/** Prints the compare result: the held-out table, then one table per layer. */
export function printCompare(r: CompareResult): void {
  if (r.scores.length) {
    const judge = r.scores[0].judgeMetric.replace('_', ' ');
    console.log(`\nHeld-out ${r.task} pairs (reference = ${r.base}, beta 0.1):\n`);
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
  probe: string;
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
  shuffles: number;
  seed: number;
}

export function registerAnalysisCommands(p: Command): void {
  p.command('record')
    .description("Record a checkpoint's activations on a probe set into the project's store (resumable)")
    .option('--project <dir>', 'project folder', 'monoscope-demo')
    .requiredOption('--checkpoint <name>', 'checkpoint (name in the project, or a folder)')
    .option(
      '--probe <probe>',
      "'builtin' (the world's, 20,000 tokens), a stored probe hash, or a text/JSONL file",
      'builtin',
    )
    .option(
      '--labels <file>',
      'JSONL of {"text","spans":[{"start","end","concept"}]} labels for a text probe',
    )
    .option(
      '--taps <pattern>',
      'taps to record, e.g. blocks.*.mlp.post or blocks.0.mlp.pre,blocks.1.resid_post',
      'blocks.*.mlp.post',
    )
    .addOption(
      new Option('--dtype <t>', 'storage precision').choices(['float16', 'float32']).default('float16'),
    )
    .option('--batch-size <n>', 'sequences per batch', int('--batch-size'))
    .option('--json', 'print the result as JSON (progress goes to stderr)')
    .addOption(backendOption())
    .action(
      async (o: {
        project: string;
        checkpoint: string;
        probe: string;
        labels?: string;
        taps: string;
        dtype: 'float16';
        batchSize?: number;
        json?: boolean;
        backend: 'auto';
      }) => {
        const r = await withProject(
          o.project,
          o.json,
          (project, reporter, signal) =>
            recordOp(
              project,
              {
                checkpoint: o.checkpoint,
                probe: o.probe,
                labels: o.labels,
                taps: o.taps,
                dtype: o.dtype,
                batchSize: o.batchSize,
                backend: o.backend,
              },
              reporter,
              signal,
            ),
          true,
        );
        if (o.json) return printJson(r);
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
      'A recorded tap as npy (float32 [rows, neurons]) or CSV, with FILE.tokens.json and FILE.concepts.json',
    )
    .option('--project <dir>', 'project folder', 'monoscope-demo')
    .requiredOption('--checkpoint <name>', 'checkpoint name')
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
            checkpoint: o.checkpoint,
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
    .description("A training run's metrics at every step, as CSV (one row per step, one column per metric)")
    .option('--project <dir>', 'project folder', 'monoscope-demo')
    .requiredOption('--run <id>', 'run id (the checkpoint name it produced)')
    .requiredOption('--out <file>', 'output CSV file')
    .action((o: { project: string; run: string; out: string }) => {
      const project = openProject(projectDir(o.project), { readonly: true });
      try {
        if (!project.store.runs.get(o.run)) throw new Error(`no run '${o.run}' in ${project.dir}`);
        project.store.runs.exportMetricsCsv(o.run, o.out);
        console.log(`wrote ${o.out}`);
      } finally {
        project.close();
      }
    });

  const an = p
    .command('analyze')
    .description('Analyses of recorded taps (recorded on demand); results are kept in the store');
  const common = (c: Command) =>
    c
      .option('--project <dir>', 'project folder', 'monoscope-demo')
      .option('--probe <probe>', 'probe set (builtin, a hash or a file)', 'builtin')
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
      .option('--shuffles <n>', opts.shufflesHelp, int('--shuffles'), 1000)
      .option('--seed <n>', 'seed', int('--seed'), 0);
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
    .action(
      async (
        o: TapOpts & {
          out?: string;
          csv?: string;
          diff?: string;
        },
      ) => {
        const ref: TapRef = { checkpoint: o.checkpoint, tap: o.tap, probe: o.probe };
        const r = await withProject(o.project, o.json, async (project, reporter, signal) => {
          const c = await correlationOp(project, ref, reporter, signal);
          const d = o.diff
            ? await correlationDiffOp(project, { ...ref, checkpoint: o.diff }, ref, reporter, signal)
            : null;
          return { c, d };
        });
        const size = r.c.result.size;
        if (o.out) writeMatrixNpy(o.out, { data: r.c.blobs.corr, rows: size, cols: size });
        if (o.csv) {
          const recs = Array.from({ length: size }, (_, i) =>
            Object.fromEntries([
              ['neuron', i],
              ...Array.from({ length: size }, (_, j) => [`n${j}`, r.c.blobs.corr[i * size + j]]),
            ]),
          );
          writeRecordsCsv(o.csv, recs);
        }
        const out = {
          ...r.c.result,
          reused: r.c.reused,
          order: Array.from(r.c.blobs.order),
          ...(r.d ? { diff: { against: o.diff, meanAbsDiff: r.d.meanAbsDiff } } : {}),
        };
        if (o.json) return printJson(out);
        console.log(
          textTable(
            ['metric', 'value'],
            [
              ['neurons', size],
              ['tokens', r.c.result.n],
              ['dead neurons', r.c.result.dead.length],
              ['mean |off-diagonal|', r.c.result.meanAbsOffDiagonal],
              ['||C - I||_F normalised', r.c.result.normalizedFrobenius],
              ['feature decorrelation (FD)', r.c.result.featureDecorrelation],
              ...(r.d ? [[`mean |diff| vs ${o.diff}`, r.d.meanAbsDiff] as [string, number]] : []),
            ],
          ),
        );
        if (o.out) console.log(`\nwrote ${o.out}`);
      },
    );

  tapArgs(
    common(
      an
        .command('mono')
        .description('Monosemanticity of every neuron against the probe concepts, and label shares'),
    ),
  )
    .option('--top-k <n>', 'top activations for the dominant concept', int('--top-k'), 20)
    .option('--csv <file>', 'write per-neuron scores as CSV')
    .action(
      async (
        o: TapOpts & {
          topK: number;
          csv?: string;
        },
      ) => {
        const r = await withProject(o.project, o.json, (project, reporter, signal) =>
          monosemanticityOp(
            project,
            { checkpoint: o.checkpoint, tap: o.tap, probe: o.probe },
            { topK: o.topK },
            reporter,
            signal,
          ),
        );
        if (o.csv)
          writeRecordsCsv(o.csv, r.result.neurons as unknown as Record<string, string | number | null>[]);
        if (o.json) return printJson(r.result);
        console.log(textTable(['label', 'share'], Object.entries(r.result.shares)));
        const top = [...r.result.neurons]
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
      },
    );

  tapArgs(
    common(
      an
        .command('sparsity')
        .description('Fraction active, Hoyer sparsity, effective rank and activation variance'),
    ),
  ).action(async (o: { project: string; probe: string; json?: boolean; checkpoint: string; tap: string }) => {
    const r = await withProject(o.project, o.json, (project, reporter, signal) =>
      sparsityOp(project, { checkpoint: o.checkpoint, tap: o.tap, probe: o.probe }, reporter, signal),
    );
    if (o.json) return printJson(r.result);
    console.log(textTable(['metric', 'value'], Object.entries(r.result)));
  });

  common(
    an
      .command('weights')
      .description(
        "The paper's weight-based monosemanticity proxy per layer (median ||w_in|| b_in, normalised)",
      ),
  )
    .requiredOption('--checkpoint <name>', 'checkpoint')
    .action(async (o: { project: string; json?: boolean; checkpoint: string }) => {
      const r = await withProject(o.project, o.json, async (project) => weightProxyOp(project, o.checkpoint));
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
      .option('--max-tokens <n>', 'datapoints (tokens) sampled', int('--max-tokens'))
      .addOption(
        new Option(
          '--mode <m>',
          'SVCCA mode: svcca (99% variance) or svcca-paper-compat (k = 1, reproduces the authors)',
        )
          .choices(['svcca', 'svcca-paper-compat'])
          .default('svcca'),
      )
      .option('--null-out <file.npy>', 'write the null distribution')
      .action(
        async (
          o: PairOpts & {
            maxTokens?: number;
            mode: 'svcca';
            nullOut?: string;
          },
        ) => {
          const r = await withProject(o.project, o.json, (project, reporter, signal) =>
            similarityOp(
              project,
              {
                a: parseTapRef(o.a, o.probe),
                b: parseTapRef(o.b, o.probe),
                measure,
                mode: o.mode,
                shuffles: o.shuffles,
                seed: o.seed,
                maxTokens: o.maxTokens,
              },
              reporter,
              signal,
            ),
          );
          if (o.nullOut && r.blobs.null)
            writeMatrixNpy(o.nullOut, { data: r.blobs.null, rows: 1, cols: r.blobs.null.length });
          const out = {
            ...r.result,
            nullDistribution: r.blobs.null ? Array.from(r.blobs.null) : undefined,
            reused: r.reused,
          };
          if (o.json) return printJson(out);
          console.log(r.result.label);
          console.log(
            textTable(
              ['', 'value'],
              [
                ['score', r.result.score],
                ['null mean', r.result.nullMean ?? NaN],
                ['null sd', r.result.nullSd ?? NaN],
                ['p', r.result.pValue ?? NaN],
                ['directions kept A', r.result.kA ?? ''],
                ['directions kept B', r.result.kB ?? ''],
                ['tokens', r.result.n],
              ],
            ),
          );
        },
      );
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
      new Option('--rule <r>', 'pairing rule')
        .choices(['many-to-1', 'one-to-one-first', 'one-to-one-best', 'hungarian'])
        .default('many-to-1'),
    )
    .option('--threshold <r>', 'keep pairs with r above this ("none" switches the filter off)', '0.1')
    .option('--no-token-filters', 'switch off the non-concept and shared-token filters')
    .option('--csv <file>', 'write the kept pairs as CSV')
    .action(
      async (
        o: PairOpts & {
          rule: 'many-to-1';
          threshold: string;
          tokenFilters: boolean;
          csv?: string;
        },
      ) => {
        const rThreshold = o.threshold === 'none' ? null : num('--threshold')(o.threshold);
        const r = await withProject(o.project, o.json, (project, reporter, signal) =>
          matchOp(
            project,
            {
              a: parseTapRef(o.a, o.probe),
              b: parseTapRef(o.b, o.probe),
              saeA: o.saeA,
              saeB: o.saeB,
              options: { rule: o.rule, rThreshold, tokenFilters: o.tokenFilters },
              shuffles: o.shuffles,
              seed: o.seed,
            },
            reporter,
            signal,
          ),
        );
        if (o.csv) writeRecordsCsv(o.csv, r.result.pairs as unknown as Record<string, number>[]);
        if (o.json) return printJson({ ...r.result, reused: r.reused });
        console.log(
          textTable(
            ['filter', 'applied', 'before', 'after'],
            r.result.filters.map((f) => [f.filter, f.applied ? 'yes' : 'no', f.before, f.after]),
          ),
        );
        console.log(
          `\n${r.result.kept} pairs kept; mean r ${r.result.meanCorrelation.toFixed(4)} (all), ${r.result.meanCorrelationFiltered.toFixed(4)} (kept)`,
        );
        const s = r.result.similarity;
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
      new Option('--kind <k>', 'TopK with AuxK, or ReLU + L1 (decoder-norm scaled, warm-up)')
        .choices(['topk', 'relu-l1'])
        .default('topk'),
    )
    .option('--latents <n>', 'dictionary size', int('--latents'), 1024)
    .option('--k <n>', 'TopK: active latents per token', int('--k'), 16)
    .option('--l1 <x>', 'ReLU+L1: the L1 coefficient', num('--l1'))
    .option('--steps <n>', 'optimizer steps', int('--steps'), 1000)
    .option('--batch-size <n>', 'tokens per step', int('--batch-size'), 1024)
    .option('--seed <n>', 'seed', int('--seed'), 0)
    .action(
      async (
        o: TapOpts & {
          name: string;
          kind: 'topk';
          latents: number;
          k: number;
          l1?: number;
          steps: number;
          batchSize: number;
          seed: number;
        },
      ) => {
        const r = await withProject(o.project, o.json, (project, reporter, signal) =>
          saeTrainOp(
            project,
            {
              name: o.name,
              ref: { checkpoint: o.checkpoint, tap: o.tap, probe: o.probe },
              kind: o.kind,
              latents: o.latents,
              k: o.k,
              l1: o.l1,
              steps: o.steps,
              batchSize: o.batchSize,
              seed: o.seed,
            },
            reporter,
            signal,
          ),
        );
        if (o.json) return printJson(r);
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
    const r = await withProject(o.project, o.json, (project, reporter, signal) =>
      subspacesOp(
        project,
        {
          a: parseTapRef(o.a, o.probe),
          b: parseTapRef(o.b, o.probe),
          saeA: o.saeA,
          saeB: o.saeB,
          shuffles: o.shuffles,
          seed: o.seed,
        },
        reporter,
        signal,
      ),
    );
    if (o.json) return printJson(r.result);
    console.log(
      textTable(
        ['category', 'features A', 'features B', 'pairs', 'svcca', 'p', 'rsa', 'p'],
        r.result.categories.map((c) => [
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

  p.command('compare')
    .description(
      'Compare checkpoints side by side, one table per layer (monosemanticity, correlation, sparsity, diversity, similarity to base; held-out rewards and toxicity)',
    )
    .argument('<checkpoints...>', 'checkpoint names; the first is the base')
    .option('--project <dir>', 'project folder', 'monoscope-demo')
    .option('--taps <pattern>', 'taps', 'blocks.*.mlp.post')
    .option('--probe <probe>', 'probe set', 'builtin')
    .addOption(
      new Option('--task <t>', 'built-in task for the reward and judge columns')
        .choices(['toxicity', 'reframing', 'none'])
        .default('toxicity'),
    )
    .option('--json', 'print JSON (progress goes to stderr)')
    .option('--csv <file>', 'write the per-layer rows as CSV')
    .action(
      async (
        checkpoints: string[],
        o: { project: string; taps: string; probe: string; task: 'toxicity'; json?: boolean; csv?: string },
      ) => {
        const r = await withProject(o.project, o.json, (project, reporter, signal) =>
          compareOp(project, { checkpoints, taps: o.taps, probe: o.probe, task: o.task }, reporter, signal),
        );
        if (o.csv) writeRecordsCsv(o.csv, r.rows as unknown as Record<string, string | number>[]);
        if (o.json) return printJson(r);
        printCompare(r);
      },
    );
}
