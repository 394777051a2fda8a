/**
 * Small helpers for the files the store writes next to itself (exports): atomic writes and number formats
 * that numpy and pandas read back exactly.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

export interface PendingFile {
  file: string;
  /** Writes the whole content to the open file descriptor. */
  write(fd: number): void;
}

/**
 * Writes every file under a temporary name beside it, flushes them to disk, then renames them into place,
 * so a crash never leaves a half-written file under a final name. On error the temporaries are removed.
 */
export function writeFilesAtomic(files: readonly PendingFile[]): void {
  const tmps: string[] = [];
  try {
    for (const f of files) {
      mkdirSync(dirname(f.file), { recursive: true });
      const tmp = `${f.file}.tmp-${process.pid}`;
      tmps.push(tmp);
      const fd = openSync(tmp, 'w');
      try {
        f.write(fd);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
  } catch (e) {
    for (const t of tmps) rmSync(t, { force: true });
    throw new Error(`cannot write ${files.map((f) => f.file).join(', ')}: ${(e as Error).message}`);
  }
  files.forEach((f, i) => renameSync(tmps[i], f.file));
}

/** Writes one file atomically (see {@link writeFilesAtomic}). */
export function writeAtomic(file: string, data: string | Uint8Array): void {
  writeFilesAtomic([{ file, write: (fd) => writeAll(fd, data) }]);
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
