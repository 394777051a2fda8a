// A PEFT LoRA adapter folder is a checkpoint everywhere, through the built CLI: an adapter the float64
// reference (test/python/reference/lora.py) wrote for a random Llama-style base is recorded, opened as a
// neuron page, sampled and evaluated by its path (`eval --policy ADAPTER --ref BASE` gives the reference's
// response log-probs of base + adapter and of the base); it is registered with its base as parent and
// listed with its rank and targets; an adapter whose base is a Hub id is refused with how to give the base,
// and registered with `checkpoints add ADAPTER --base DIR`, after which it is used by name.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from './cli.js';
import { openProject } from '../../src/core/store/project.js';
import { writeLlamaTokenizer } from '../fixtures/hf-tokenizers.js';
import { makeReferenceCheckpoint } from '../unit/model/architectures/reference.js';
import { makeReferenceAdapter, referenceLoraLogps } from '../unit/model/lora-reference.js';

const TAP = 'blocks.0.mlp.post';
const root = mkdtempSync(join(tmpdir(), 'monoscope-adapters-'));
const project = join(root, 'project');
const probe = join(root, 'probe.txt');
const pairs = join(root, 'pairs.jsonl');
const base = join(root, 'models', 'base');
const adapter = join(root, 'models', 'peft');

/** Runs the CLI; fails with its stderr when it does not exit 0; returns the parsed `--json` stdout. */
function ok(args: string[]): any {
  const r = cli(args);
  if (r.code !== 0) throw new Error(`monoscope ${args.join(' ')} exited ${r.code}:\n${r.stderr}`);
  return args.includes('--json') ? JSON.parse(r.stdout) : r.stdout;
}

const listed = () => ok(['checkpoints', '--project', project, '--json']) as Record<string, any>[];

beforeAll(() => {
  writeFileSync(probe, 'The cat sat on the mat near the door.\n\nA red fox ran home to its den.\n');
  const lines = [
    { prompt: 'the cat', chosen: ' sat down', rejected: ' ran off' },
    { prompt: 'a red fox', chosen: ' ran home', rejected: ' sat' },
  ];
  writeFileSync(pairs, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  openProject(project, { create: true }).close();
  mkdirSync(base, { recursive: true });
  const vocab = writeLlamaTokenizer(base);
  makeReferenceCheckpoint('llama', base, { set: { vocab_size: vocab, bos_token_id: 1, eos_token_id: 2 } });
  makeReferenceAdapter(base, adapter, {
    targets: ['q_proj', 'v_proj', 'up_proj'],
    seed: 5,
    baseName: '../base',
  });
}, 120_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('adapter checkpoints through the CLI', () => {
  it("record, neuron page, generate and eval take an adapter folder; eval's log-probs are the reference's", () => {
    const rec = ok([
      'record',
      '--project',
      project,
      '--checkpoint',
      adapter,
      '--probe',
      probe,
      '--taps',
      TAP,
      '--json',
    ]);
    expect(rec.recordings.map((r: any) => [r.checkpoint, r.tap])).toEqual([['peft', TAP]]);
    const [a, b] = [listed().find((c) => c.name === 'peft')!, listed().find((c) => c.name === 'base')!];
    expect(a).toMatchObject({ arch: 'llama', parent: 'base', source: realpathSync(adapter), copied: false });
    expect(a.config.lora).toEqual({
      r: 4,
      alpha: 8,
      dropout: 0,
      rslora: false,
      targets: ['q_proj', 'v_proj', 'up_proj'],
    });
    expect(a.hash).not.toBe(b.hash);
    expect(a.params).toBeGreaterThan(b.params);
    expect(ok(['checkpoints', '--project', project])).toMatch(
      /peft\s+llama\s.*\sr=4 q_proj,v_proj,up_proj on base\s*$/m,
    );

    const page = JSON.parse(
      ok([
        'api',
        'neurons.page',
        '--project',
        project,
        '--input',
        JSON.stringify({ ref: { checkpoint: 'peft', tap: TAP, probe }, neuron: 3 }),
      ]),
    );
    expect(page).toMatchObject({ checkpoint: 'peft', tap: TAP, neuron: 3 });
    const gen = ok([
      'generate',
      '--project',
      project,
      '--checkpoint',
      adapter,
      '--prompt',
      'the cat',
      '--max-new-tokens',
      '3',
      '--json',
    ]);
    expect(gen.checkpoint).toBe('peft');

    const ev = ok([
      'eval',
      '--project',
      project,
      '--policy',
      adapter,
      '--ref',
      base,
      '--pairs',
      pairs,
      '--json',
    ]);
    const ids = ev.pairs.map((p: any) => ({
      prompt: p.prompt_ids,
      chosen: p.chosen_ids,
      rejected: p.rejected_ids,
    }));
    const pol = referenceLoraLogps(base, adapter, ids);
    const ref = referenceLoraLogps(base, undefined, ids);
    const close = (ours: number, want: number) =>
      expect(Math.abs(ours - want)).toBeLessThan(1e-3 * Math.max(1, Math.abs(want)));
    ev.pairs.forEach((p: any, i: number) => {
      close(p.policy_chosen_logp, pol.chosen[i]);
      close(p.policy_rejected_logp, pol.rejected[i]);
      close(p.ref_chosen_logp, ref.chosen[i]);
      close(p.ref_rejected_logp, ref.rejected[i]);
    });
    expect(Math.abs(pol.chosen[0] - ref.chosen[0])).toBeGreaterThan(1e-2);
  });

  it('an adapter on a Hub id is refused with how to give its base; with --base it is copied in and used by name', () => {
    const hub = makeReferenceAdapter(base, join(root, 'models', 'hub-peft'), {
      targets: ['v_proj'],
      seed: 9,
      baseName: 'meta-llama/Llama-3.2-1B',
    });
    const refused = cli([
      'record',
      '--project',
      project,
      '--checkpoint',
      hub,
      '--probe',
      probe,
      '--taps',
      TAP,
    ]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(
      /hub-peft: the adapter's base model 'meta-llama\/Llama-3\.2-1B' \(base_model_name_or_path\) is not a checkpoint folder here; register the adapter with its base: `monoscope checkpoints add .*hub-peft --base DIR`/,
    );
    expect(listed().map((c) => c.name)).not.toContain('hub-peft');

    const added = ok(['checkpoints', 'add', hub, '--base', base, '--project', project, '--json']);
    expect(added).toMatchObject({
      name: 'hub-peft',
      parent: 'base',
      copied: true,
      source: realpathSync(hub),
    });
    expect(added.config.lora.targets).toEqual(['v_proj']);
    const copy = join(project, 'checkpoints', 'hub-peft');
    expect(existsSync(join(copy, 'adapter_model.safetensors'))).toBe(true);
    expect(JSON.parse(readFileSync(join(copy, 'monoscope.json'), 'utf8')).base.dir).toBe(realpathSync(base));
    ok([
      'record',
      '--project',
      project,
      '--checkpoint',
      'hub-peft',
      '--probe',
      probe,
      '--taps',
      TAP,
      '--json',
    ]);
    // The same adapter and base again: the same checkpoint.
    expect(ok(['checkpoints', 'add', hub, '--base', base, '--project', project, '--json']).name).toBe(
      'hub-peft',
    );
  });
});
