/**
 * A Python script run as a program, synchronously like spawnSync, but by one interpreter per script that
 * this process keeps (test/python/serve.py): the script's imports (PyTorch: one to several seconds) are paid
 * on the first call, not on every call. A call's arguments go down a FIFO as one JSON line; its outcome
 * comes back as a file, which this side waits for. The interpreter ends with this process (the FIFO then
 * has no writer).
 */
import { spawn, spawnSync } from 'node:child_process';
import {
  closeSync,
  constants,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SERVE = join(import.meta.dirname, '../python/serve.py');

/** What a call of the script did: its exit status and what it wrote. */
export interface ScriptResult {
  status: number;
  stdout: string;
  stderr: string;
}

interface Server {
  pid: number;
  dir: string;
  requests: number;
  calls: number;
}

const servers = new Map<string, Server>();

/** Starts the interpreter that serves `script` with `python`. */
function start(python: string, script: string): Server {
  const dir = mkdtempSync(join(tmpdir(), 'monoscope-python-'));
  const fifo = join(dir, 'requests');
  const made = spawnSync('mkfifo', [fifo], { encoding: 'utf8' });
  if (made.status !== 0) throw new Error(`mkfifo failed: ${made.stderr || made.error?.message}`);
  // Read-write: on Linux opening a FIFO so never blocks, and this process stays a writer for its lifetime.
  const requests = openSync(fifo, constants.O_RDWR);
  const log = openSync(join(dir, 'stderr.log'), 'w');
  const child = spawn(python, [SERVE, script, fifo, dir], { stdio: ['ignore', 'ignore', log] });
  closeSync(log);
  child.unref();
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  return { pid: child.pid!, dir, requests, calls: 0 };
}

/** Whether process `pid` still runs (not ended, nor a zombie that nobody has reaped yet). */
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** Runs `script args...` with `python` (default /usr/bin/python3) and returns its status and output. */
export function runScript(
  script: string,
  args: string[],
  o: { python?: string; timeout?: number } = {},
): ScriptResult {
  const python = o.python ?? '/usr/bin/python3';
  const key = `${python}\0${script}`;
  const server = servers.get(key) ?? start(python, script);
  servers.set(key, server);
  const n = ++server.calls;
  writeSync(server.requests, `${JSON.stringify(args)}\n`);
  const done = join(server.dir, `${n}.json`);
  const deadline = Date.now() + (o.timeout ?? 600_000);
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (let polls = 0; !existsSync(done); polls++) {
    if (polls % 50 === 49 && !running(server.pid)) {
      servers.delete(key);
      closeSync(server.requests);
      const log = readFileSync(join(server.dir, 'stderr.log'), 'utf8');
      throw new Error(`the Python serving ${script} ended: ${log}`);
    }
    if (Date.now() > deadline)
      throw new Error(`${script} ${args[0]}: no answer in ${o.timeout ?? 600_000} ms`);
    Atomics.wait(pause, 0, 0, 2);
  }
  const result = JSON.parse(readFileSync(done, 'utf8')) as ScriptResult;
  rmSync(done);
  return result;
}
