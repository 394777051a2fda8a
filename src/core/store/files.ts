/**
 * The files the store writes beside itself: atomic writes (random, exclusive temporary names in the target
 * folder, renamed into place), the guard that keeps user-named outputs out of a project's managed files,
 * and number formats that numpy and pandas read back exactly.
 */
import {
  closeSync,
  constants,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';

/** The store's file name inside a project folder. */
export const STORE_FILE = 'monoscope.db';
/** The project's folders that only Monoscope writes (the lock folder included). */
const MANAGED_FOLDERS = ['checkpoints', 'runs', 'saes', 'crosscoders', '.locks'] as const;
/** The store file and SQLite's companions of it. */
const STORE_FILES = [STORE_FILE, `${STORE_FILE}-wal`, `${STORE_FILE}-shm`, `${STORE_FILE}-journal`];

export interface PendingFile {
  file: string;
  /** Writes the whole content to the open file descriptor. */
  write(fd: number): void;
}

/** `NAME.monoscope-tmp-PID-RANDOM`: the temporary name of a file or folder being written by process PID. */
const TEMP_NAME = /\.monoscope-tmp-(\d+)-[0-9a-f]{16}$/;

/** A fresh temporary name beside `target`, for this process: `TARGET.monoscope-tmp-PID-RANDOM`. */
export function tempPath(target: string): string {
  const abs = resolve(target);
  return join(
    dirname(abs),
    `${basename(abs)}.monoscope-tmp-${process.pid}-${randomBytes(8).toString('hex')}`,
  );
}

/** Whether a process with this id runs on this host (a process we may not signal still runs). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes the temporary files and folders of our naming in `dir` whose writer process is dead. */
export function sweepStaleTemps(dir: string): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return; // not a folder (or gone)
  }
  for (const name of names) {
    const m = TEMP_NAME.exec(name);
    if (m && !processAlive(Number(m[1]))) rmSync(join(dir, name), { recursive: true, force: true });
  }
}

/**
 * Refuses targets that cannot be written by renaming a file over them: a folder, or the same file named
 * twice (each would replace the other).
 */
function checkTargets(files: readonly string[]): void {
  const seen = new Set<string>();
  for (const f of files) {
    const abs = resolve(f);
    if (seen.has(abs)) throw new Error(`${abs} is named twice as an output; give each output its own path`);
    seen.add(abs);
    if (existsSync(abs) && statSync(abs).isDirectory())
      throw new Error(`${abs} is a folder; give a file name`);
  }
}

/**
 * Writes every file under a random temporary name beside it (created exclusively and never through a
 * symbolic link), flushes them to disk, then renames them into place, so a crash never leaves a
 * half-written file under a final name. Stale temporaries of dead processes in the target folders are
 * swept first; on any error every temporary of this call is removed.
 */
export function writeFilesAtomic(files: readonly PendingFile[]): void {
  checkTargets(files.map((f) => f.file));
  const tmps: string[] = [];
  const flags = constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY | constants.O_NOFOLLOW;
  try {
    for (const f of files) {
      const dir = dirname(resolve(f.file));
      mkdirSync(dir, { recursive: true });
      sweepStaleTemps(dir);
      const tmp = tempPath(f.file);
      const fd = openSync(tmp, flags, 0o666);
      tmps.push(tmp);
      try {
        f.write(fd);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
    files.forEach((f, i) => renameSync(tmps[i], f.file));
  } catch (e) {
    for (const t of tmps) rmSync(t, { force: true });
    throw new Error(`cannot write ${files.map((f) => f.file).join(', ')}: ${(e as Error).message}`);
  }
}

/** Writes one file atomically (see {@link writeFilesAtomic}). */
export function writeAtomic(file: string, data: string | Uint8Array): void {
  writeFilesAtomic([{ file, write: (fd) => writeAll(fd, data) }]);
}

/**
 * Writes a folder whole: `fill` builds it under a temporary name beside `dir`, which is then renamed into
 * place (an existing folder is moved aside first and removed after), so a crash never leaves a half-written
 * folder under the final name. On an error in `fill` the temporary folder is removed.
 */
export function writeFolderAtomic(dir: string, fill: (tmp: string) => void): void {
  mkdirSync(dirname(resolve(dir)), { recursive: true });
  const tmp = tempPath(dir);
  mkdirSync(tmp);
  try {
    fill(tmp);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  const old = tempPath(dir);
  if (existsSync(dir)) renameSync(dir, old);
  renameSync(tmp, dir);
  rmSync(old, { recursive: true, force: true });
}

/** `path` with the symbolic links of its longest existing prefix resolved (a link cannot lead out). */
export function realPath(path: string): string {
  const abs = resolve(path);
  let dir = abs;
  while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
  return join(realpathSync(dir), relative(dir, abs));
}

/**
 * The root of the project whose managed files include `file`, if any: every folder above the file that
 * holds a `monoscope.db` is a project root, and its managed files are the store (with its `-wal`, `-shm`
 * and `-journal`) and everything under `checkpoints/`, `runs/`, `saes/`, `crosscoders/` and `.locks/`.
 */
export function managingProject(file: string): string | undefined {
  const real = realPath(file);
  for (let root = dirname(real); ; root = dirname(root)) {
    if (existsSync(join(root, STORE_FILE))) {
      const first = relative(root, real).split(sep)[0].toLowerCase();
      if (STORE_FILES.includes(first) || (MANAGED_FOLDERS as readonly string[]).includes(first)) return root;
    }
    if (dirname(root) === root) return undefined;
  }
}

/**
 * Refuses a set of user-named outputs before anything is written: a path inside a project's managed files
 * (an export must never replace the store, a checkpoint, a run's state or an SAE), a folder, or one path
 * named twice.
 */
export function checkUserOutputs(files: readonly string[]): void {
  for (const f of files) {
    const project = managingProject(f);
    if (project)
      throw new Error(
        `${resolve(f)} is inside the Monoscope project ${project}, whose store and checkpoints/, runs/, saes/, crosscoders/ only Monoscope writes; choose a path outside them (for example under ${join(project, 'exports')})`,
      );
  }
  checkTargets(files);
}

/** Writes user-named output files atomically, after {@link checkUserOutputs} accepts their paths. */
export function writeUserFiles(files: readonly PendingFile[]): void {
  checkUserOutputs(files.map((f) => f.file));
  writeFilesAtomic(files);
}

/** Writes one user-named output file atomically (see {@link writeUserFiles}). */
export function writeUserFile(file: string, data: string | Uint8Array): void {
  writeUserFiles([{ file, write: (fd) => writeAll(fd, data) }]);
}

/** Writes a whole string or byte array to a file descriptor. */
export function writeAll(fd: number, data: string | Uint8Array): void {
  const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  let off = 0;
  while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
}

/** A CSV field, quoted when it holds a comma, quote or line break (RFC 4180). */
export function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** A float64 as CSV text that pandas parses back exactly (`nan`, `inf`, `-inf` for the specials). */
export function formatNumber(v: number): string {
  if (Number.isNaN(v)) return 'nan';
  if (v === Infinity) return 'inf';
  if (v === -Infinity) return '-inf';
  return String(v);
}

/** The shortest decimal that reads back (as float32) to exactly this float32 value. */
export function formatFloat32(v: number): string {
  if (!Number.isFinite(v)) return formatNumber(v);
  for (let p = 1; p < 9; p++) {
    const s = v.toPrecision(p);
    if (Math.fround(Number(s)) === v) return String(Number(s));
  }
  return String(Number(v.toPrecision(9)));
}
