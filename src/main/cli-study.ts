/**
 * `monoscope study`: the paper's study in one command. Its flags (or a `--spec` JSON file of the same
 * fields, which the flags override) are the `study` operation's input; it runs the grid through the service
 * ({@link callOp}) and prints the summary over seeds (mean [95% CI] per method and metric) and the verdicts.
 * `monoscope study report` writes the study's HTML report and CSVs.
 */
import { Command, InvalidArgumentError } from 'commander';
import { readFileSync } from 'node:fs';
import type { OpInput, OpResult } from '../core/api.js';
import { REGULARIZERS, STUDY_METHODS, TASK_NAMES } from '../core/names.js';
import { backendOption, callOp, int, num, printJson, projectDir } from './cli.js';
import { terminalReporter, textTable } from './terminal.js';
import { writeStudyReport } from './study-report.js';

/** Parses a comma-separated list. */
const list = (v: string): string[] =>
  v
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);

/** Parses a comma-separated list of numbers with `parse` (the flag's number parser). */
const numbers = (parse: (v: string) => number) => (v: string) => list(v).map(parse);

/** Reads `--spec`: a JSON object of the study's input fields. */
function specFile(file: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new InvalidArgumentError(`--spec ${file}: not a readable JSON file (${(e as Error).message})`);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value))
    throw new InvalidArgumentError(`--spec ${file}: expected a JSON object of the study's fields`);
  return value as Record<string, unknown>;
}

/** The metrics the terminal summary shows, in order (the report has them all). */
const MAIN_METRICS = [
  'reward_accuracy',
  'reward_margin',
  'toxicity_rate',
  'reframe_rate',
  'mono_share',
  'mean_abs_corr',
  'fd',
];

/** Prints the study's summary (one table per task: method x main metric, `mean [ci low, ci high]`) and verdicts. */
export function printStudy(v: OpResult<'study'>): void {
  const failed = v.cells.filter((c) => c.status !== 'done');
  console.log(
    `\nstudy '${v.name}': ${v.cells.length - failed.length}/${v.cells.length} cells done, ${v.spec.seeds} seeds`,
  );
  const f = (x: number) => (Math.abs(x) >= 100 ? x.toFixed(0) : x.toPrecision(3));
  for (const task of [...new Set(v.summary.map((r) => r.task))]) {
    const rows = v.summary.filter((r) => r.task === task);
    const metrics = MAIN_METRICS.filter((m) => rows.some((r) => r.metric === m));
    const methods = [...new Set(rows.map((r) => r.method))];
    console.log(`\n${task}: mean [95% CI] over seeds\n`);
    console.log(
      textTable(
        ['method', ...metrics],
        methods.map((method) => [
          method,
          ...metrics.map((metric) => {
            const r = rows.find((x) => x.method === method && x.metric === metric);
            return r ? `${f(r.mean)} [${f(r.ciLow)}, ${f(r.ciHigh)}]` : '';
          }),
        ]),
      ),
    );
  }
  if (v.verdicts.length) {
    console.log(`\nThe paper's claims (difference a - b over paired seeds, 95% CI):\n`);
    console.log(
      textTable(
        ['claim', 'task', 'metric', 'a - b', 'diff [95% CI]', 'p (Holm)', 'verdict'],
        v.verdicts.map((x) => [
          x.claim,
          x.task,
          x.metric,
          `${x.a} - ${x.b}`,
          `${f(x.diff)} [${f(x.ciLow)}, ${f(x.ciHigh)}]`,
          f(x.pAdjusted),
          x.verdict,
        ]),
      ),
    );
  }
}

export function registerStudyCommands(p: Command): void {
  const study = p
    .command('study')
    // Options after `report` are the subcommand's (both take --project); needs the program's too (cli.ts).
    .enablePositionalOptions()
    .description(
      "The paper's study: methods x seeds x tasks (x DecPO layer and lambda sweeps), each cell a run, measured and summarised over seeds",
    )
    .option('--project <dir>', 'project folder', 'monoscope-demo')
    .option('--spec <file>', "a JSON object of the study's fields (the flags below override it)")
    .option('--name <name>', 'name of the study in the project (default quick with --quick, else study)')
    .option('--quick', 'the quick grid: 3 seeds, reduced steps')
    .option('--methods <list>', `comma-separated, of ${STUDY_METHODS.join(', ')} (default all)`, list)
    .option(
      '--regularizers <list>',
      `DecPO regularizers, of ${REGULARIZERS.join(', ')} (default barlow)`,
      list,
    )
    .option('--seeds <n>', 'seeds 0..n-1 (default 5; 3 with --quick)', int('--seeds'))
    .option('--tasks <list>', `built-in tasks, of ${TASK_NAMES.join(', ')} (default toxicity)`, list)
    .option('--pairs <file>', 'preference JSONL {"prompt","chosen","rejected"} instead of the built-in tasks')
    .option('--layers <list>', 'DecPO layer sweep: comma-separated blocks', numbers(int('--layers')))
    .option('--lambdas <list>', 'DecPO lambda sweep: comma-separated values', numbers(num('--lambdas')))
    .option('--layer <i>', "DecPO's block (default: the middle block)", int('--layer'))
    .option('--lambda <x>', "DecPO's lambda (default 1e-3)", num('--lambda'))
    .option(
      '--model <dir>',
      'fine-tune this checkpoint (folder or name) with LoRA instead of pretraining bases',
    )
    .option(
      '--probe <probe>',
      'with --model: the probe set of the proxies, english (the shipped English text, default) or a text file',
    )
    .option('--steps <n>', 'preference (and sft) steps per cell', int('--steps'))
    .option('--pretrain-steps <n>', "built-in world: the bases' pretraining steps", int('--pretrain-steps'))
    .option('--examples <n>', 'built-in tasks: preference pairs generated per cell', int('--examples'))
    .option(
      '--pretrain-examples <n>',
      "built-in world: the bases' pretraining documents",
      int('--pretrain-examples'),
    )
    .option(
      '--probe-tokens <n>',
      'built-in world: measure the proxies on the built-in probe cut to n tokens (default: all of it)',
      int('--probe-tokens'),
    )
    .option('--n-layer <n>', "built-in world: the bases' blocks", int('--n-layer'))
    .option('--n-embd <n>', "built-in world: the bases' d_model", int('--n-embd'))
    .option('--n-head <n>', "built-in world: the bases' heads", int('--n-head'))
    .option('--n-inner <n>', "built-in world: the bases' d_mlp", int('--n-inner'))
    .option('--n-ctx <n>', "built-in world: the bases' context length", int('--n-ctx'))
    .option(
      '--workers <n>',
      'cells trained at once, each on a worker thread (default: the cores)',
      int('--workers'),
    )
    .addOption(backendOption())
    .option('--json', 'print the study (its cells, summary and verdicts) as JSON (progress goes to stderr)')
    .action(async (o: { project: string; spec?: string; json?: boolean } & Record<string, unknown>) => {
      // Every other flag is named as the input field it sets; the bases' shape is the nested `modelShape`.
      const { project, spec, json, nLayer, nEmbd, nHead, nInner, nCtx, ...flags } = o;
      const shape = Object.fromEntries(
        Object.entries({ nLayer, nEmbd, nHead, nInner, nCtx }).filter(([, v]) => v !== undefined),
      );
      const fromFile = spec ? specFile(spec) : {};
      const given = Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined));
      const input = {
        ...fromFile,
        ...given,
        ...(Object.keys(shape).length && {
          modelShape: { ...(fromFile.modelShape as object | undefined), ...shape },
        }),
      } as OpInput<'study'>;
      const started = Date.now();
      const v = await callOp(project, 'study', input, { json, progress: process.stdout });
      if (json) return printJson(v);
      printStudy(v);
      console.log(`\nFinished in ${((Date.now() - started) / 1000).toFixed(0)} s.`);
    });

  study
    .command('report')
    .description("Write the study's report: one self-contained HTML file, and the CSV of every number")
    .option('--project <dir>', 'project folder', 'monoscope-demo')
    .option('--name <name>', 'the study (default: the one run most recently)')
    .requiredOption('--out <file>', 'the HTML file to write')
    .option('--csv <dir>', 'a folder for cells.csv and summary.csv')
    .action(async (o: { project: string; name?: string; out: string; csv?: string }) => {
      const reporter = terminalReporter({ stream: process.stderr });
      try {
        const r = await writeStudyReport(
          projectDir(o.project),
          { name: o.name, out: o.out, csv: o.csv },
          reporter,
        );
        console.log(`Report: ${r.html}${r.files.length ? `\nCSV: ${r.files.join(', ')}` : ''}`);
      } finally {
        reporter.stop();
      }
    });
}
