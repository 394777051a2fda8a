// Checkpoint folders anywhere, through the built CLI: a random-weight Hugging Face GPT-2 folder (written by
// the float64 reference's `make`, with a Llama-style tokenizer.json) is recorded, exported, sampled and
// evaluated by its path; it is registered once, by content hash, and listed by `monoscope checkpoints` with
// its architecture, parameters (counted here from GPT-2's published shapes), dtype and size (and a Qwen2
// folder, BF16 in two shards, likewise); new weights in
// the folder make a new checkpoint and the old name refuses the new weights; `--copy` copies the folder into
// the project; every bad folder is refused naming the file and the tensor, and leaves the store as it was;
// a model over the memory limit is refused with the figure and the limit.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from './cli.js';
import { openProject } from '../../src/core/store/project.js';
import { writeLlamaTokenizer } from '../fixtures/hf-tokenizers.js';
import { numpyPython, runPython } from '../unit/store/python.js';
import { runReference } from '../unit/model/architectures/reference.js';

const PYTHON = '/usr/bin/python3';
const REFERENCE = join(import.meta.dirname, '../python/reference');
const TAP = 'blocks.0.mlp.post';

const root = mkdtempSync(join(tmpdir(), 'monoscope-folders-'));
const project = join(root, 'project');
const probe = join(root, 'probe.txt');
const pairs = join(root, 'pairs.jsonl');
let vocab = 0;

/**
 * Writes a random-weight folder of `modelType` (the reference's tiny config; GPT-2's: 2 blocks, d_model 48)
 * with a tokenizer; `extra` are more arguments of the reference's `make`.
 */
function makeFolder(dir: string, seed: number, extra: string[] = [], modelType = 'gpt2'): string {
  mkdirSync(dir, { recursive: true });
  vocab = writeLlamaTokenizer(dir);
  const args = ['make', '--model-type', modelType, '--out', dir, '--seed', String(seed)];
  args.push('--set', `vocab_size=${vocab}`, '--set', 'bos_token_id=1', '--set', 'eos_token_id=2', ...extra);
  runReference(args);
  return dir;
}

/** Parameters of a tied GPT-2 from its published shapes: wte, wpe, L x (12 D^2 + 13 D), ln_f. */
function gpt2Params(V: number, P: number, D: number, L: number): number {
  return V * D + P * D + L * (12 * D * D + 13 * D) + 2 * D;
}

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** Runs the CLI; fails with its stderr when it does not exit 0; returns the parsed `--json` stdout. */
function ok(args: string[], opts: { cwd?: string } = {}): any {
  const r = cli(args, opts);
  if (r.code !== 0) throw new Error(`monoscope ${args.join(' ')} exited ${r.code}:\n${r.stderr}`);
  return args.includes('--json') ? JSON.parse(r.stdout) : r.stdout;
}

const listed = () => ok(['checkpoints', '--project', project, '--json']) as Record<string, any>[];
/** What the store holds: checkpoints, runs, probe sets (and the project's checkpoints/ folder). */
const storeState = () => ({
  summary: ok(['api', 'project.summary', '--project', project]),
  folders: readdirSync(join(project, 'checkpoints')),
});

beforeAll(() => {
  writeFileSync(
    probe,
    'The cat sat on the mat near the door.\n\nA red fox ran home quickly to its family in the woods.\n',
  );
  writeFileSync(
    pairs,
    `${JSON.stringify({ prompt: 'the cat', chosen: ' sat down', rejected: ' ran off' })}\n`,
  );
  openProject(project, { create: true }).close();
  makeFolder(join(root, 'models', 'tiny'), 0);
  makeFolder(join(root, 'models', 'other'), 3);
}, 120_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('checkpoint folders', () => {
  const tiny = join(root, 'models', 'tiny');
  const other = join(root, 'models', 'other');

  it('record, export, generate and eval take a folder path; it is registered once and listed with arch, params, dtype and size', () => {
    ok(['record', '--project', project, '--checkpoint', tiny, '--probe', probe, '--taps', TAP, '--json']);
    const [entry] = listed();
    expect(entry).toMatchObject({
      name: 'tiny',
      arch: 'gpt2',
      params: gpt2Params(vocab, 64, 48, 2),
      dtype: 'F32',
      bytes: statSync(join(tiny, 'model.safetensors')).size,
      source: realpathSync(tiny),
      copied: false,
      dir: realpathSync(tiny),
      hash: sha256(join(tiny, 'model.safetensors')),
      stage: 'imported',
    });
    expect(existsSync(join(project, 'checkpoints', 'tiny'))).toBe(false); // not copied

    const table = ok(['checkpoints', '--project', project]);
    expect(table).toMatch(/tiny\s+gpt2\s+81\.0K\s+F32/);

    // The same folder again, by an absolute and by a relative path: the same checkpoint, nothing new.
    const again = ok(
      [
        'record',
        '--project',
        project,
        '--checkpoint',
        './models/tiny',
        '--probe',
        probe,
        '--taps',
        TAP,
        '--json',
      ],
      { cwd: root },
    );
    expect(again.skipped).toEqual([TAP]);
    const gen = ok([
      'generate',
      '--project',
      project,
      '--checkpoint',
      tiny,
      '--prompt',
      'the cat',
      '--max-new-tokens',
      '3',
      '--json',
    ]);
    expect(gen.checkpoint).toBe('tiny');
    expect(gen.generations).toHaveLength(1);

    const out = join(root, 'tiny.npy');
    ok(['export', 'activations', '--project', project, '--checkpoint', tiny, '--tap', TAP, '--out', out]);
    const tokens = JSON.parse(readFileSync(`${out}.tokens.json`, 'utf8')) as number[][];
    const rows = tokens.reduce((n, s) => n + s.length, 0);
    if (numpyPython) {
      const shape = runPython(numpyPython, 'import numpy, sys; print(list(numpy.load(sys.argv[1]).shape))', [
        out,
      ]);
      expect(JSON.parse(shape)).toEqual([rows, 4 * 48]);
    }

    const ev = ok([
      'eval',
      '--project',
      project,
      '--policy',
      tiny,
      '--ref',
      other,
      '--pairs',
      pairs,
      '--json',
    ]);
    expect(ev.pairs).toHaveLength(1);
    expect(ev.pairs[0].policy_chosen_logp).not.toBe(ev.pairs[0].ref_chosen_logp);
    expect(listed().map((c) => c.name)).toEqual(['tiny', 'other']);
  });

  it('a Qwen2 folder in BF16, in two shards, records by its path and is listed as such', () => {
    const folder = makeFolder(join(root, 'models', 'qwen'), 0, ['--dtype', 'BF16', '--shards', '2'], 'qwen2');
    ok([
      'record',
      '--project',
      project,
      '--checkpoint',
      folder,
      '--probe',
      probe,
      '--taps',
      'blocks.*.mlp.pre_linear',
      '--json',
    ]);
    const shards = readdirSync(folder).filter((f) => f.endsWith('.safetensors'));
    expect(shards).toHaveLength(2);
    // Qwen2's tiny config: d_model 64, 4 heads of 16, 2 key/value heads, d_mlp 128, 3 blocks, tied head.
    const D = 64;
    const block = D * D + D + 2 * (32 * D + 32) + D * D + 3 * 128 * D + 2 * D;
    expect(listed().find((c) => c.name === 'qwen')).toMatchObject({
      arch: 'qwen2',
      params: vocab * D + 3 * block + D,
      dtype: 'BF16',
      bytes: shards.reduce((n, f) => n + statSync(join(folder, f)).size, 0),
      source: realpathSync(folder),
    });
  });

  it('new weights in the folder are a new checkpoint; the old name refuses them', () => {
    const folder = makeFolder(join(root, 'models', 'changing'), 0);
    ok(['record', '--project', project, '--checkpoint', folder, '--probe', probe, '--taps', TAP, '--json']);
    makeFolder(folder, 1);
    const hash = sha256(join(folder, 'model.safetensors'));
    ok(['record', '--project', project, '--checkpoint', folder, '--probe', probe, '--taps', TAP, '--json']);
    const byName = new Map(listed().map((c) => [c.name, c]));
    expect(byName.get(`changing-${hash.slice(0, 8)}`)).toMatchObject({ hash, source: realpathSync(folder) });
    expect(byName.get('changing')!.hash).not.toBe(hash);

    const stale = cli(['generate', '--project', project, '--checkpoint', 'changing', '--prompt', 'the']);
    expect(stale.code).toBe(1);
    expect(stale.stderr).toMatch(
      /checkpoint 'changing' was registered from .*changing, whose weights have changed since/,
    );
  });

  it('--copy copies the folder into the project, which then reads the copy', () => {
    const folder = makeFolder(join(root, 'models', 'copied'), 7);
    const r = ok(['checkpoints', 'add', folder, '--copy', '--project', project, '--json']);
    const copy = join(project, 'checkpoints', 'copied');
    expect(r).toMatchObject({ name: 'copied', copied: true, source: realpathSync(folder), dir: copy });
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json'])
      expect(sha256(join(copy, f))).toBe(sha256(join(folder, f)));
    rmSync(folder, { recursive: true });
    const gen = ok(['generate', '--project', project, '--checkpoint', 'copied', '--prompt', 'the', '--json']);
    expect(gen.checkpoint).toBe('copied');
  });

  describe('bad folders are refused naming the file and the tensor, and register nothing', () => {
    const bad = (name: string, spoil: (dir: string) => void, message: RegExp) =>
      it(name, () => {
        const dir = join(root, 'bad', name.replace(/\W+/g, '-'));
        cpSync(tiny, dir, { recursive: true });
        spoil(dir);
        const before = storeState();
        const r = cli(['record', '--project', project, '--checkpoint', dir, '--probe', probe, '--taps', TAP]);
        expect(r.code, r.stderr).toBe(1);
        expect(r.stderr).toMatch(message);
        expect(storeState()).toEqual(before);
      });
    /** Rewrites model.safetensors with Python (the reference's writer): `edit` changes the dict `w`. */
    const editTensors = (edit: string) => (dir: string) => {
      const file = join(dir, 'model.safetensors');
      const code = `import sys; sys.path.insert(0, sys.argv[2]); from hf_io import read_safetensors, write_safetensors\nimport numpy as np\nw = read_safetensors(sys.argv[1])\n${edit}\nwrite_safetensors(sys.argv[1], w, "F32")`;
      runPython(PYTHON, code, [file, REFERENCE]);
    };
    const editConfig = (patch: Record<string, unknown>) => (dir: string) => {
      const file = join(dir, 'config.json');
      writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), ...patch }));
    };

    bad(
      'no config.json',
      (d) => rmSync(join(d, 'config.json')),
      /no-config-json: not a checkpoint folder \(no config\.json\)/,
    );
    bad(
      'unknown model_type',
      editConfig({ model_type: 'bert' }),
      /config\.json: field 'model_type': model_type "bert" is not supported; Monoscope opens .*gpt2/,
    );
    bad(
      'pytorch_model.bin only',
      (d) => {
        rmSync(join(d, 'model.safetensors'));
        writeFileSync(join(d, 'pytorch_model.bin'), 'PK\x03\x04 not unpickled');
      },
      /no model\.safetensors .*found pytorch_model\.bin: Monoscope does not unpickle; convert with .*save_pretrained\(dir, safe_serialization=True\)/,
    );
    bad(
      'a missing tensor',
      editTensors("del w['transformer.h.1.mlp.c_proj.weight']"),
      /model\.safetensors: tensor 'h\.1\.mlp\.c_proj\.weight' is missing/,
    );
    bad(
      'an unexpected tensor',
      editTensors("w['transformer.h.0.attn.extra'] = np.zeros((3,))"),
      /model\.safetensors: unexpected tensor 'transformer\.h\.0\.attn\.extra'/,
    );
    bad(
      'a shape that disagrees with config.json',
      editConfig({ n_positions: 32 }),
      /model\.safetensors: tensor 'transformer\.wpe\.weight' has shape \[64,48\] but config\.json implies \[32,48\]/,
    );
    bad(
      'a broken index',
      (d) => {
        rmSync(join(d, 'model.safetensors'));
        writeFileSync(
          join(d, 'model.safetensors.index.json'),
          '{"weight_map": {"wte.weight": "model-00001-of-00002.safetensors"',
        );
      },
      /model\.safetensors\.index\.json: invalid JSON/,
    );
    bad(
      'an index naming a missing shard',
      (d) => {
        rmSync(join(d, 'model.safetensors'));
        const weight_map = { 'wte.weight': 'model-00001-of-00002.safetensors' };
        writeFileSync(join(d, 'model.safetensors.index.json'), JSON.stringify({ weight_map }));
      },
      /model\.safetensors\.index\.json: shard .*model-00001-of-00002\.safetensors is missing/,
    );
  });

  it('a model over the memory limit is refused with the figure and the limit', () => {
    const before = storeState();
    const r = cli(
      ['generate', '--project', project, '--checkpoint', 'tiny', '--prompt', 'the', '--backend', 'cpu'],
      {
        env: { MONOSCOPE_MEMORY_LIMIT: '64K' },
      },
    );
    expect(r.code, r.stderr).toBe(1);
    const host = ((4 * gpt2Params(vocab, 64, 48, 2)) / 2 ** 20).toFixed(1);
    expect(r.stderr).toMatch(
      new RegExp(
        `${gpt2Params(vocab, 64, 48, 2).toLocaleString('en-US')} parameters needs about [\\d.]+ MiB on the cpu backend \\(${host} MiB of float32 weights on the host \\+ [\\d.]+ MiB of activations\\), more than the limit of 0\\.1 MiB \\(MONOSCOPE_MEMORY_LIMIT=64K\\)`,
      ),
    );
    expect(storeState()).toEqual(before);
  });
});
