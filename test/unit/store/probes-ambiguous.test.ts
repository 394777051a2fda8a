import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { probeSetFromText } from '../../../src/core/data/probe.js';
import { Gpt2BpeTokenizer } from '../../../src/core/model/tokenizers.js';
import { openStore } from '../../../src/core/store/store.js';
import { numpyPython, runPython } from './python.js';

const dir = mkdtempSync(join(tmpdir(), 'monoscope-probes-ambiguous-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const bpe = new Gpt2BpeTokenizer();

describe('probe store: ambiguous tokens', () => {
  const corpus = join(dir, 'fruit.txt');
  writeFileSync(corpus, 'An orange dog ate chicken.\n\nThe sky was blue.\n\nA second orange.\n');
  const probe = probeSetFromText(corpus, bpe, { nCtx: 4 });

  it('round-trips the candidate concepts of ambiguous tokens through a SQLite file', () => {
    // Windows of 4: [BOS, An, orange, dog], [BOS, ate, chicken, .], [BOS, The, sky, was], ...
    expect(probe.sequences[0].ambiguous).toEqual([null, null, ['colour', 'food'], null]);
    expect(probe.sequences[1].ambiguous).toEqual([null, null, ['animal', 'food'], null]);
    expect(probe.sequences.filter((s) => s.ambiguous).length).toBe(3);
    const file = join(dir, 'store.db');
    const store = openStore(file);
    const id = store.probes.put(probe);
    store.close();

    const again = openStore(file);
    const got = again.probes.get(probe.hash)!;
    expect({ name: got.name, hash: got.hash, concepts: got.concepts, sequences: got.sequences }).toEqual(
      probe,
    );
    const rows = again.probes.rows(id);
    // Rows: window 0 is rows 0-3, window 1 rows 4-7, ...; "A second orange." ends the probe.
    const flat = probe.sequences.flatMap((s) => s.ambiguous ?? s.ids.map(() => null));
    const orange = flat.length - 3; // [BOS, A, second, orange], [BOS, .]
    expect([...rows.ambiguous]).toEqual([
      [2, ['colour', 'food']],
      [6, ['animal', 'food']],
      [orange, ['colour', 'food']],
    ]);
    expect(flat.flatMap((a, i) => (a ? [[i, a]] : []))).toEqual([...rows.ambiguous]);
    expect(rows.concept[2]).toBe(-1);
    again.close();

    if (numpyPython) {
      // Read the file with Python's sqlite3: one JSON object per sequence, position -> candidates.
      const out = runPython(
        numpyPython,
        'import sqlite3, sys\n' +
          'db = sqlite3.connect(sys.argv[1])\n' +
          'for (a,) in db.execute("SELECT ambiguous FROM probe_sequences ORDER BY seq"): print(a)',
        [file],
      );
      const lines = out.trim().split('\n');
      expect(lines[0]).toBe('{"2":["colour","food"]}');
      expect(lines[1]).toBe('{"2":["animal","food"]}');
      expect(lines[2]).toBe('None');
    }
  });

  it('refuses ambiguous entries that are labelled, single, or the wrong length', () => {
    const store = openStore(join(dir, 'bad.db'));
    const seq = probe.sequences[0];
    const bad = (ambiguous: unknown, concepts = seq.concepts) => ({
      ...probe,
      hash: `bad${JSON.stringify(ambiguous)}`,
      sequences: [{ ids: seq.ids, concepts, ambiguous: ambiguous as (string[] | null)[] }],
    });
    expect(() => store.probes.put(bad([null]))).toThrow(
      'sequences[0].ambiguous must have one entry per token (4)',
    );
    expect(() => store.probes.put(bad([null, null, ['food'], null]))).toThrow(
      'sequences[0].ambiguous[2] must be null or, for an unlabelled token, two or more concept names',
    );
    expect(() =>
      store.probes.put(bad([null, null, ['colour', 'food'], null], [null, null, 'colour', null])),
    ).toThrow('sequences[0].ambiguous[2] must be null');
    store.close();
  });
});
