// `monoscope record` on text probes through the built CLI: the shipped `english` probe, --context windows,
// --lexicon / --lexicon-mode, and their errors. Needs `npm run build:node` (the CLI and the derived assets).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/core/store/store.js';
import { makeCheckpoint } from '../unit/record/fixtures.js';
import { cli } from './cli.js';

const root = mkdtempSync(join(tmpdir(), 'monoscope-text-probe-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const project = join(root, 'proj');
const checkpoint = 'ck';
// A word-level model (red, blue, cat, dog, one, happy, the, a, ...) with a context of 16 tokens.
makeCheckpoint(join(project, 'checkpoints', checkpoint), { nCtx: 16 });
const lexicon = join(root, 'articles.json');
writeFileSync(lexicon, JSON.stringify({ article: ['the', 'a'], pet: ['dog'] }));
const text = join(root, 'notes.txt');
writeFileSync(
  text,
  `${Array.from({ length: 20 }, () => 'the red dog and the blue cat').join(' ')}\n\na happy bird\n`,
);

const record = (...args: string[]) =>
  cli([
    'record',
    '--project',
    project,
    '--checkpoint',
    checkpoint,
    '--taps',
    'blocks.0.mlp.post',
    '--json',
    ...args,
  ]);

/** The stored probe sets, with their windows' lengths. */
function probes() {
  const store = openStore(join(project, 'monoscope.db'), { readonly: true });
  try {
    return store.probes
      .list()
      .map((p) => ({ ...p, lengths: store.probes.get(p.id)!.sequences.map((s) => s.ids.length) }));
  } finally {
    store.close();
  }
}

describe('record --probe english / FILE with --context and --lexicon', () => {
  it('records the shipped English probe and a text file in windows of --context tokens', () => {
    const e = record('--probe', 'english', '--context', '8');
    expect(e.stderr).not.toMatch(/error/i);
    expect(e.code).toBe(0);
    const t = record('--probe', text);
    expect(t.code).toBe(0);
    const [english, notes] = probes();
    expect(english.name).toBe('english');
    expect(Math.max(...english.lengths)).toBe(8);
    expect(english.nTokens).toBeGreaterThan(15_000);
    // The default window is the lesser of 128 and the model's context (16).
    expect(notes.name).toBe('notes.txt');
    expect(Math.max(...notes.lengths)).toBe(16);
    expect(notes.concepts).toEqual(['animal', 'colour', 'emotion']);
  });

  it('labels with a user lexicon added to the built-in one or replacing it, each its own probe', () => {
    expect(record('--probe', text, '--lexicon', lexicon).code).toBe(0);
    expect(record('--probe', text, '--lexicon', lexicon, '--lexicon-mode', 'replace').code).toBe(0);
    const notes = probes().filter((p) => p.name === 'notes.txt');
    expect(notes.map((p) => p.concepts)).toEqual([
      ['animal', 'colour', 'emotion'],
      ['animal', 'article', 'colour', 'emotion'], // `dog` is animal and pet: ambiguous, unlabelled
      ['article', 'pet'],
    ]);
    expect(new Set(notes.map((p) => p.hash)).size).toBe(3);

    // The neuron page shows the candidates of the ambiguous `dog` on its tokens.
    const ref = { checkpoint, tap: 'blocks.0.mlp.post', probe: notes[1].hash };
    const page = cli([
      'api',
      'neurons.page',
      '--project',
      project,
      '--input',
      JSON.stringify({ ref, neuron: 0 }),
    ]);
    expect(page.code).toBe(0);
    const { topExamples } = JSON.parse(page.stdout) as {
      topExamples: { text: string[]; concepts: (string | null)[]; ambiguous: (string[] | null)[] }[];
    };
    const tokens = topExamples.flatMap((e) => e.text.map((t, i) => [t, e.concepts[i], e.ambiguous[i]]));
    expect(tokens.filter(([t]) => t === ' dog').length).toBeGreaterThan(0);
    for (const [t, c, a] of tokens) {
      expect([t, c, a]).toEqual(t === ' dog' ? [' dog', null, ['animal', 'pet']] : [t, c, null]);
    }

    // The export writes them per row, beside the token ids and labels.
    const out = join(root, 'acts.npy');
    const e = cli([
      'export',
      'activations',
      '--project',
      project,
      '--checkpoint',
      checkpoint,
      '--tap',
      ref.tap,
      '--probe',
      ref.probe,
      '--out',
      out,
    ]);
    expect(e.code).toBe(0);
    const ids = (JSON.parse(readFileSync(`${out}.tokens.json`, 'utf8')) as number[][]).flat();
    const labels = JSON.parse(readFileSync(`${out}.concepts.json`, 'utf8')) as (string | null)[];
    const ambiguous = JSON.parse(readFileSync(`${out}.ambiguous.json`, 'utf8')) as (string[] | null)[];
    expect(ambiguous).toHaveLength(ids.length);
    const dog = ids[ambiguous.findIndex((a) => a !== null)];
    expect(ids.map((id, i) => [id === dog, labels[i], ambiguous[i]]).filter(([isDog]) => isDog)).toEqual(
      ids.filter((id) => id === dog).map(() => [true, null, ['animal', 'pet']]),
    );
    expect(ambiguous.filter((a) => a !== null)).toHaveLength(ids.filter((id) => id === dog).length);
    expect(ids.filter((id) => id === dog)).toHaveLength(20);
  });

  it('refuses a context longer than the model, a bad lexicon, and options the built-in probe ignores', () => {
    const long = record('--probe', text, '--context', '32');
    expect(long.code).not.toBe(0);
    expect(long.stderr).toContain("context: 32 tokens is more than the model's context of 16");
    const bad = join(root, 'bad.json');
    writeFileSync(bad, JSON.stringify({ article: 'the' }));
    const b = record('--probe', text, '--lexicon', bad);
    expect(b.code).not.toBe(0);
    expect(b.stderr).toContain(`${bad}: article: expected an array of words`);
    const mode = record('--probe', text, '--lexicon', lexicon, '--lexicon-mode', 'merge');
    expect(mode.code).not.toBe(0);
    expect(mode.stderr).toContain("'merge' is invalid");
    const builtin = record('--lexicon', lexicon);
    expect(builtin.code).not.toBe(0);
    expect(builtin.stderr).toContain("the built-in probe's windows and labels are fixed");
    expect(readFileSync(lexicon, 'utf8')).toBe('{"article":["the","a"],"pet":["dog"]}');
  });
});
