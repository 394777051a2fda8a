/**
 * Exports of analysis results: matrices as `.npy` (float32, C order; the store's header writer) and
 * per-neuron / per-pair tables as CSV (RFC 4180, numbers that read back exactly). Both written atomically,
 * never inside a project's managed files.
 *
 *   C = numpy.load('corr.npy'); table = pandas.read_csv('neurons.csv')
 */
import { csvField, formatNumber, writeUserFile } from '../store/files.js';
import { npyHeader } from '../store/export.js';
import type { Matrix } from './matrix.js';

/** The bytes of a version 1.0 `.npy` file holding `m` as float32 [rows, cols]. */
export function matrixNpy(m: Matrix): Buffer {
  if (m.data.length !== m.rows * m.cols)
    throw new Error(`matrixNpy: expected ${m.rows} x ${m.cols} values, got ${m.data.length}`);
  return Buffer.concat([
    npyHeader([m.rows, m.cols]),
    Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength),
  ]);
}

/** Writes `m` to `file` as `.npy`. */
export function writeMatrixNpy(file: string, m: Matrix): void {
  writeUserFile(file, matrixNpy(m));
}

type Cell = string | number | boolean | null | undefined;

/**
 * A CSV table of flat records (e.g. `monosemanticity(...).neurons`, `matchBy...(...).pairs`): one column
 * per key of the first record unless `columns` is given; null/undefined as empty fields.
 */
export function recordsCsv(records: readonly Record<string, Cell>[], columns?: readonly string[]): string {
  const cols = columns ?? (records.length ? Object.keys(records[0]) : []);
  const cell = (v: Cell): string =>
    v === null || v === undefined ? '' : typeof v === 'number' ? formatNumber(v) : csvField(String(v));
  const lines = [cols.map((c) => csvField(c)).join(',')];
  for (const r of records) lines.push(cols.map((c) => cell(r[c])).join(','));
  return lines.join('\n') + '\n';
}

/** Writes {@link recordsCsv} to `file`. */
export function writeRecordsCsv(
  file: string,
  records: readonly Record<string, Cell>[],
  columns?: readonly string[],
): void {
  writeUserFile(file, recordsCsv(records, columns));
}
