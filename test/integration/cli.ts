/** Helpers to run the built `monoscope` CLI on real files. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../bin/monoscope.js', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI to completion (`env`: variables added to this process's environment). */
export function cli(
  args: string[],
  opts: { cwd?: string; timeout?: number; env?: Record<string, string> } = {},
): CliResult {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    cwd: opts.cwd,
    env: opts.env && { ...process.env, ...opts.env },
    timeout: opts.timeout ?? 300_000,
    // `--json` results hold whole matrices (a correlation matrix of 256 neurons is 2.5 MB of JSON).
    maxBuffer: 512 * 1024 * 1024,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Starts the CLI and returns the child (for signals). */
export function cliChild(args: string[]) {
  return spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
}

/** The URL (it carries the token) that a `monoscope serve` child prints once it listens; rejects if it ends first. */
export function servedUrl(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const url = /http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]+/.exec(out);
      if (url) resolve(url[0]);
    });
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    child.once('exit', (code) =>
      reject(new Error(`monoscope serve exited (${code}) before serving: ${err}`)),
    );
  });
}
