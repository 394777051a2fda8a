/**
 * The `monoscope` command line: every command is a thin adapter that parses its flags into an operation's
 * input (`core/api.ts`), calls the service as the server and the app do, and prints the result (a table, or
 * the result as JSON with `--json`). Long work shows a progress bar in a terminal and
 * JSON lines otherwise; Ctrl-C stops it cleanly (a second Ctrl-C exits at once).
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { listBackends, BACKEND_NAMES } from '../core/backend/index.js';
import {
  ApiError,
  OPS,
  isOpName,
  parseInput,
  type OpInput,
  type OpName,
  type OpResult,
} from '../core/api.js';
import { createService } from '../core/service.js';
import { openProject } from '../core/store/project.js';
import { CancelledError } from '../core/ops/progress.js';
import { evalPairs } from '../core/ops/eval.js';
import { terminalReporter, textTable } from './terminal.js';
import { DEFAULT_MAX_JOBS } from './engine-host.js';
import { registerProjectCommands } from './cli-project.js';
import { registerAnalysisCommands } from './cli-analysis.js';
import { registerStudyCommands } from './cli-study.js';
import { registerSaeIoCommands } from './cli-sae-io.js';

const VERSION = '0.1.0';

/** Parses a number flag, refusing anything that is not a finite number. */
export function num(name: string) {
  return (v: string): number => {
    const x = Number(v);
    if (v.trim() === '' || !Number.isFinite(x))
      throw new InvalidArgumentError(`${name} must be a number, got '${v}'`);
    return x;
  };
}

/** Parses an integer flag. */
export function int(name: string) {
  return (v: string): number => {
    const x = Number(v);
    if (!/^-?\d+$/.test(v.trim()) || !Number.isSafeInteger(x))
      throw new InvalidArgumentError(`${name} must be an integer, got '${v}'`);
    return x;
  };
}

/** Parses an integer flag of at least 1. */
function atLeastOne(name: string) {
  return (v: string): number => {
    const x = int(name)(v);
    if (x < 1) throw new InvalidArgumentError(`${name} must be at least 1, got ${x}`);
    return x;
  };
}

export const backendOption = () =>
  new Option('--backend <name>', 'TF.js backend (default: auto)').choices(['auto', ...BACKEND_NAMES]);

/** Parses `--input`: JSON text, or `@FILE` for JSON read from a file. */
function jsonInput(v: string): unknown {
  try {
    return JSON.parse(v.startsWith('@') ? readFileSync(v.slice(1), 'utf8') : v);
  } catch (e) {
    throw new InvalidArgumentError(`--input is not valid JSON or a readable @FILE (${(e as Error).message})`);
  }
}

/** Runs async work with Ctrl-C turned into a cancellation signal; returns the exit code. */
export async function withCancel<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ctl = new AbortController();
  let presses = 0;
  const onInt = () => {
    presses += 1;
    if (presses === 1) {
      process.stderr.write(
        '\nstopping after this step (state is saved; run the same command to resume). Ctrl-C again to quit now.\n',
      );
      ctl.abort();
    } else process.exit(130);
  };
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onInt);
  try {
    return await work(ctl.signal);
  } finally {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onInt);
  }
}

/** A result as the JSON text `--json` prints: typed arrays become arrays. */
export function jsonText(value: unknown): string {
  return JSON.stringify(
    value,
    (_, v) => (v instanceof Float32Array || v instanceof Int32Array ? Array.from(v) : v),
    2,
  );
}

export function printJson(value: unknown): void {
  process.stdout.write(`${jsonText(value)}\n`);
}

/** The operations that make things from nothing, and so may create the project they write to. */
const CREATING_OPS: ReadonlySet<OpName> = new Set([
  'train',
  'record',
  'demo',
  'universality',
  'study',
  'checkpoints.add',
  'runs.import',
]);

/**
 * Runs one operation of the contract through the service, the same `call` the server and the app use: the
 * input is validated before the project is opened (read-only with `readonly`; created only by the
 * operations of {@link CREATING_OPS}, so a mistyped `--project` creates nothing), progress goes to
 * `progress` (default stderr; JSON lines with `json`), and Ctrl-C cancels.
 */
export async function callOp<N extends OpName>(
  dir: string | undefined,
  name: N,
  input: OpInput<N>,
  opts: { json?: boolean; progress?: NodeJS.WriteStream; readonly?: boolean } = {},
): Promise<OpResult<N>> {
  parseInput(name, input);
  const service = createService(
    openProject(projectDir(dir), { readonly: opts.readonly, create: CREATING_OPS.has(name) }),
  );
  const reporter = cliReporter(opts);
  try {
    return await withCancel((signal) => service.call(name, input, { reporter, signal }));
  } finally {
    reporter.stop();
    service.close();
  }
}

/**
 * `eval` of two checkpoint folders where no project is: the same validated input and result as the
 * contract's `eval`, computed on the folders themselves (nothing is registered, no project is created).
 */
export async function evalFolders(
  input: OpInput<'eval'>,
  opts: { json?: boolean },
): Promise<OpResult<'eval'>> {
  const parsed = parseInput('eval', input);
  const reporter = cliReporter(opts);
  try {
    return await withCancel((signal) =>
      evalPairs({ ...parsed, policy: resolve(parsed.policy), ref: resolve(parsed.ref) }, reporter, signal),
    );
  } finally {
    reporter.stop();
  }
}

/** Progress on stderr: a bar on a terminal, JSON lines with `json`. */
function cliReporter(opts: { json?: boolean; progress?: NodeJS.WriteStream }) {
  return terminalReporter({
    stream: opts.json ? process.stderr : (opts.progress ?? process.stderr),
    ...(opts.json ? { json: true } : {}),
  });
}

function program(): Command {
  const p = new Command('monoscope')
    // A subcommand's options are its own, not its parent's (e.g. `study report --project`).
    .enablePositionalOptions()
    .description(
      'Monoscope: train GPT models with DPO and DecPO, record their neurons, and compare what alignment does to them.',
    )
    .version(VERSION)
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)')
    .configureHelp({ sortSubcommands: false });

  p.command('backends')
    .description('List the TF.js backends and why each is or is not usable here')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      const list = await listBackends();
      if (o.json) return printJson(list);
      console.log(
        textTable(
          ['backend', 'usable', 'device', 'why'],
          list.map((b) => [b.name, b.usable ? 'yes' : 'no', b.device ?? '', b.reason]),
        ),
      );
      const first = list.find((b) => b.usable && !b.autoSkip);
      console.log(`\n--backend auto picks: ${first?.name ?? 'none'}`);
    });

  registerProjectCommands(p);
  registerAnalysisCommands(p);
  registerStudyCommands(p);
  registerSaeIoCommands(p);

  p.command('api')
    .description(
      'Call any operation of the contract by name, as the server and the app do; prints its result as JSON (without OP: the list)',
    )
    .argument('[op]', 'operation, e.g. project.summary or sae.train')
    .option('--project <dir>', 'project folder', 'monoscope-demo')
    .option(
      '--input <json>',
      "the operation's input: JSON, or @FILE to read it from a file (default {})",
      jsonInput,
    )
    .option('--json', 'progress as JSON lines on stderr (the result is JSON on stdout in any case)')
    .action(async (op: string | undefined, o: { project: string; input?: unknown; json?: boolean }) => {
      const ops = Object.entries(OPS).map(([name, x]) => ({ name, kind: x.kind, summary: x.summary }));
      if (op === undefined) {
        if (o.json) return printJson(ops);
        const width = Math.max(...ops.map((x) => x.name.length));
        for (const x of ops) console.log(`${x.name.padEnd(width)}  ${x.kind.padEnd(5)}  ${x.summary}`);
        return;
      }
      if (!isOpName(op))
        throw new ApiError('unknown-op', `unknown operation '${op}' (run \`monoscope api\` for the list)`);
      printJson(await callOp(o.project, op, (o.input ?? {}) as OpInput<typeof op>, { json: o.json }));
    });

  p.command('serve')
    .description(
      'Serve the app and its API on 127.0.0.1 for a browser (or an SSH tunnel), behind a random token',
    )
    .option('--project <dir>', 'project folder', 'monoscope-demo')
    .option('--port <n>', 'port (default: any free port)', int('--port'), 0)
    .option(
      '--max-jobs <n>',
      'jobs that run at once (each needs about 80 MB); later ones queue',
      atLeastOne('--max-jobs'),
      DEFAULT_MAX_JOBS,
    )
    .action(async (o: { project: string; port: number; maxJobs: number }) => {
      const { serve } = await import('./server.js');
      const s = await serve({ projectDir: projectDir(o.project), port: o.port, maxJobs: o.maxJobs });
      console.log(
        `Monoscope is serving ${projectDir(o.project)}\n\n  ${s.url}\n\nOpen that URL (it carries the access token). Ctrl-C stops the server.`,
      );
      await new Promise<void>((done) => {
        const stop = () => void s.close().then(done);
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });
  return p;
}

/** Entry point: parses argv and runs the command; errors print one clear line and set the exit code. */
export async function main(argv: string[]): Promise<number> {
  const p = program();
  try {
    await p.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 || e.code === 'commander.helpDisplayed' ? 0 : 2;
    if (e instanceof CancelledError || (e instanceof ApiError && e.code === 'cancelled')) {
      process.stderr.write(`monoscope: ${(e as Error).message}\n`);
      return 130;
    }
    if (e instanceof ApiError && (e.code === 'invalid-input' || e.code === 'unknown-op')) {
      process.stderr.write(`monoscope: ${e.message}\n`);
      return 2;
    }
    const msg = e instanceof Error ? e.message : String(e);
    process.stderr.write(`monoscope: ${msg}\n`);
    if (process.env.MONOSCOPE_DEBUG && e instanceof Error) process.stderr.write(`${e.stack}\n`);
    return 1;
  }
}

export function projectDir(dir: string | undefined): string {
  return resolve(dir ?? 'monoscope-demo');
}

export { terminalReporter };
