/**
 * Exports a recorded tap so any tool can take over: `OUT` (npy float32 [rows, neurons], or CSV with one
 * column per neuron), `OUT.tokens.json` (the probe's sequences as token ids, in row order) and
 * `OUT.concepts.json` (the concept label of each row, null for none) and `OUT.ambiguous.json` (per row, the
 * candidate concepts of an ambiguous word, which has no label, or null). All four are written atomically,
 * never inside a project's managed files.
 *
 *   x = numpy.load(OUT); seqs = json.load(open(OUT + '.tokens.json')); labels = json.load(open(OUT + '.concepts.json'))
 */
import { checkUserOutputs, writeAll, writeUserFiles, formatFloat32 } from './files.js';
import { StoreError, type Store } from './store.js';

export interface ExportActivationsOptions {
  checkpoint: string;
  tap: string;
  /** Probe set hash; may be left out when the tap was recorded over one probe set only. */
  probe?: string;
  format: 'npy' | 'csv';
  out: string;
}

/**
 * The header of a version 1.0 `.npy` file for a C-ordered little-endian float32 array (NumPy's format
 * spec: magic, version, header length, a Python dict literal padded with spaces to a 64-byte boundary).
 */
export function npyHeader(shape: readonly number[]): Buffer {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let dict = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const total = 10 + dict.length + 1;
  dict += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(dict.length, 8);
  return Buffer.concat([head, Buffer.from(dict, 'latin1')]);
}

/** Writes one recorded tap and its token, concept and ambiguity files; returns the paths written. */
export function exportActivations(
  store: Store,
  o: ExportActivationsOptions,
): { files: string[]; rows: number; cols: number } {
  if (o.format !== 'npy' && o.format !== 'csv')
    throw new StoreError('invalid', `export: format must be npy or csv, got ${JSON.stringify(o.format)}`);
  const files = [o.out, `${o.out}.tokens.json`, `${o.out}.concepts.json`, `${o.out}.ambiguous.json`];
  checkUserOutputs(files); // before the tap is read
  const rec = store.activations.find({ checkpoint: o.checkpoint, tap: o.tap, probeHash: o.probe });
  if (!rec) {
    const probe = o.probe ? ` over probe set ${o.probe}` : '';
    throw new StoreError(
      'invalid',
      `${store.file}: no recording of ${o.checkpoint} ${o.tap}${probe}; run \`monoscope record\` first`,
    );
  }
  const { rows, cols, data } = store.activations.tapMatrix(rec.id);
  const probe = store.probes.get(rec.probeId)!;
  const tokens = JSON.stringify(probe.sequences.map((s) => s.ids));
  const concepts = JSON.stringify(probe.sequences.flatMap((s) => s.concepts));
  const ambiguous = JSON.stringify(probe.sequences.flatMap((s) => s.ambiguous ?? s.ids.map(() => null)));
  const main =
    o.format === 'npy'
      ? (fd: number) => {
          writeAll(fd, npyHeader([rows, cols]));
          writeAll(fd, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
        }
      : (fd: number) => writeCsv(fd, data, rows, cols);
  writeUserFiles([
    { file: files[0], write: main },
    { file: files[1], write: (fd) => writeAll(fd, tokens) },
    { file: files[2], write: (fd) => writeAll(fd, concepts) },
    { file: files[3], write: (fd) => writeAll(fd, ambiguous) },
  ]);
  return { files, rows, cols };
}

/** CSV with a header `neuron_0,...` and one line per row; each value the shortest text of its float32. */
function writeCsv(fd: number, data: Float32Array, rows: number, cols: number): void {
  const header = Array.from({ length: cols }, (_, i) => `neuron_${i}`).join(',');
  writeAll(fd, header + '\n');
  const cache = new Map<number, string>(); // float16 recordings have few distinct values
  let chunk: string[] = [];
  for (let r = 0; r < rows; r++) {
    const line = new Array<string>(cols);
    for (let c = 0; c < cols; c++) {
      const v = data[r * cols + c];
      let s = cache.get(v);
      if (s === undefined) {
        s = formatFloat32(v);
        if (cache.size < 200_000) cache.set(v, s);
      }
      line[c] = s;
    }
    chunk.push(line.join(','));
    if (chunk.length >= 256) {
      writeAll(fd, chunk.join('\n') + '\n');
      chunk = [];
    }
  }
  if (chunk.length) writeAll(fd, chunk.join('\n') + '\n');
}
