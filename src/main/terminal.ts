/**
 * Progress for the CLI: a bar with ETA and live metrics when stdout is a terminal, JSON lines otherwise
 * (`{"event":"progress",...}`). Commands that print a `--json` result send progress to stderr so that
 * stdout holds exactly one JSON document.
 */
import cliProgress from 'cli-progress';
import type { ProgressEvent, Reporter } from '../core/ops/progress.js';

/** Metrics worth showing on the bar, in order, with short labels. */
const SHOWN: [string, string][] = [
  ['loss', 'loss'],
  ['rewards/margins', 'margin'],
  ['rewards/accuracies', 'acc'],
  ['decorr/mean_abs_corr', '|corr|'],
  ['decorr/penalty', 'R'],
  ['tokens_per_s', 'tok/s'],
];

function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(2);
  return v.toFixed(a >= 100 ? 0 : 4);
}

export interface TerminalReporter extends Reporter {
  /** Stops the bar (call before printing results). */
  stop(): void;
}

/** A reporter for the CLI. `json` forces JSON lines; `stream` is where progress goes. */
export function terminalReporter(
  opts: { json?: boolean; stream?: NodeJS.WriteStream } = {},
): TerminalReporter {
  const stream = opts.stream ?? process.stdout;
  const jsonLines = opts.json ?? !stream.isTTY;
  let bar: cliProgress.SingleBar | null = null;
  let phase = '';
  let started = 0;
  let lastLine = 0;

  const stop = () => {
    bar?.stop();
    bar = null;
    phase = '';
  };

  /** Prints a line above the live bar (clears the bar's line; the bar redraws itself). */
  const printAbove = (text: string) => {
    if (bar) {
      stream.write(`\r\x1b[2K${text}\n`);
      (bar as unknown as { render?: () => void }).render?.();
    } else stream.write(`${text}\n`);
  };

  const write = (obj: Record<string, unknown>) => stream.write(`${JSON.stringify(obj)}\n`);

  return {
    progress(e: ProgressEvent) {
      const now = Date.now();
      if (e.phase !== phase) {
        stop();
        phase = e.phase;
        started = now;
        if (!jsonLines) {
          bar = new cliProgress.SingleBar(
            {
              stream,
              format:
                ' {phase} [{bar}] {value}/{total} {unit} | {percentage}% | ETA {eta_formatted} | {metrics}',
              barsize: 24,
              hideCursor: true,
              etaBuffer: 20,
              fps: 5,
            },
            cliProgress.Presets.shades_classic,
          );
          bar.start(e.total, e.done, { phase: e.phase, unit: e.unit ?? '', metrics: '' });
        }
      }
      const metrics = e.metrics
        ? SHOWN.filter(([k]) => e.metrics![k] !== undefined)
            .map(([k, label]) => `${label} ${fmt(e.metrics![k])}`)
            .join('  ')
        : '';
      if (bar) {
        bar.setTotal(e.total);
        bar.update(e.done, { metrics });
      } else if (jsonLines && (now - lastLine >= 250 || e.done === e.total || e.done <= 1)) {
        lastLine = now;
        const elapsed = (now - started) / 1000;
        const eta = e.done > 0 ? (elapsed / e.done) * (e.total - e.done) : null;
        write({
          event: 'progress',
          phase: e.phase,
          done: e.done,
          total: e.total,
          unit: e.unit,
          eta_s: eta === null ? null : Math.round(eta * 10) / 10,
          ...(e.metrics ? { metrics: e.metrics } : {}),
        });
      }
      if (e.done >= e.total) stop();
    },
    message(text: string) {
      if (jsonLines) write({ event: 'message', text });
      else printAbove(text);
    },
    record(kind: string, data: Record<string, unknown>) {
      if (jsonLines) write({ event: kind, ...data });
      else {
        const parts = Object.entries(data)
          .filter(([, v]) => typeof v === 'number')
          .map(([k, v]) => `${k} ${fmt(v as number)}`);
        printAbove(` ${kind}: ${parts.join('  ')}`);
      }
    },
    stop,
  };
}

/** A share as a percentage with one decimal; '-' when there is none. */
export function percent(x: number | null | undefined): string {
  return x === null || x === undefined || Number.isNaN(x) ? '-' : `${(100 * x).toFixed(1)}%`;
}

/** Renders rows as an aligned text table (first column left, numbers right). */
export function textTable(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map((c) => (typeof c === 'number' ? fmt(c) : c)))];
  const widths = header.map((_, j) => Math.max(...cells.map((r) => String(r[j] ?? '').length)));
  const line = (r: (string | number)[]) =>
    r.map((c, j) => (j === 0 ? String(c).padEnd(widths[j]) : String(c).padStart(widths[j]))).join('  ');
  return [line(cells[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join(
    '\n',
  );
}
