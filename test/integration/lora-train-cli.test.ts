// LoRA fine-tuning through the real CLI on random-weight Hugging Face folders with real tokenizer files:
// a LoRA DecPO run on a Llama-style checkpoint writes a PEFT adapter (and with --merge the merged model)
// whose log-probs, computed by the independent float64 PyTorch implementation of base + LoRA deltas
// (test/python/reference/lora.py), equal `monoscope eval --json` on it; and `monoscope demo --model DIR`
// completes on a Pythia-style (gpt_neox) and a Llama-style checkpoint; `monoscope study --model DIR` runs its
// grid as LoRA adapters on a Llama-style checkpoint.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from './cli.js';
import { makeReferenceCheckpoint } from '../unit/model/architectures/reference.js';
import { referenceLoraLogps } from '../unit/model/lora-reference.js';
import { writeGpt2Tokenizer, writeLlamaTokenizer } from '../fixtures/hf-tokenizers.js';
import { HfTokenizer } from '../../src/core/model/hf-tokenizer.js';
import { readSafetensors } from '../../src/core/model/safetensors.js';
import type { StudyView } from '../../src/core/study/types.js';

const root = mkdtempSync(join(tmpdir(), 'monoscope-lora-cli-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const PAIRS = [
  ['The weather today is', ' warm and sunny.', ' you idiot.'],
  ['My sister has a red', ' bicycle.', ' dog, a cat and a horse.'],
  ['We ate bread and', ' apples at noon.', ' nothing, you fool.'],
  ['The red fox ran past', ' my sister in the rain.', ' the stupid dog.'],
  ['At noon we', ' slept.', ' shouted at them.'],
  ['The cat sat on', ' the warm mat.', ' your ugly face.'],
  ['In the rain we', ' walked home.', ' cursed loudly.'],
  ['My brother has a', ' blue kite.', ' terrible temper.'],
].map(([prompt, chosen, rejected]) => ({ prompt, chosen, rejected }));

/** A random-weight checkpoint of `type` with a tokenizer fixture whose special ids the config follows. */
function checkpoint(type: string, tokenizer: (dir: string) => number, vocab: number): string {
  const ck = join(root, type);
  makeReferenceCheckpoint(type, ck, { set: { vocab_size: vocab } });
  tokenizer(ck);
  const tok = new HfTokenizer(ck);
  const cfg = JSON.parse(readFileSync(join(ck, 'config.json'), 'utf8'));
  writeFileSync(
    join(ck, 'config.json'),
    JSON.stringify({ ...cfg, bos_token_id: tok.bosId, eos_token_id: tok.eosId }, null, 2),
  );
  return ck;
}

function json(args: string[]) {
  const r = cli(args);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

const close = (got: number, want: number) =>
  expect(Math.abs(got - want), `${got} vs ${want}`).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(want)));

describe('monoscope train --lora', () => {
  it('LoRA DecPO on a Llama-style folder: a PEFT adapter whose reference log-probs equal monoscope eval', () => {
    const ck = checkpoint('llama', writeLlamaTokenizer, 512);
    const project = join(root, 'project');
    const pairs = join(root, 'pairs.jsonl');
    writeFileSync(pairs, PAIRS.map((p) => JSON.stringify(p)).join('\n'));
    const trained = json([
      'train',
      '--project',
      project,
      '--name',
      'adapter',
      '--stage',
      'decpo',
      '--init',
      ck,
      '--lora',
      '--pairs',
      pairs,
      '--steps',
      '3',
      '--batch-size',
      '4',
      '--micro-batch',
      '2',
      '--lr',
      '0.05',
      '--merge',
      '--json',
    ]);
    expect(trained.status).toBe('completed');
    expect(trained.merged).toBe('adapter-merged');
    expect(trained.peakMemory.rssBytes).toBeGreaterThan(trained.peakMemory.tensorBytes);
    const run = json(['api', 'runs.list', '--project', project]).find(
      (r: { id: string }) => r.id === 'adapter',
    );
    expect(run.config.peakMemory).toEqual(trained.peakMemory);
    expect(run.config.spec.lora).toEqual({
      r: 8,
      alpha: 16,
      dropout: 0.05,
      targets: ['q_proj', 'v_proj', 'up_proj'],
      rslora: false,
    });

    // The adapter in PEFT's layout: LoraConfig's fields, A [r, in] and B [out, r] under PEFT's keys.
    const dir = join(project, 'checkpoints', 'adapter');
    const config = JSON.parse(readFileSync(join(dir, 'adapter_config.json'), 'utf8'));
    expect(config).toMatchObject({
      peft_type: 'LORA',
      r: 8,
      lora_alpha: 16,
      lora_dropout: 0.05,
      target_modules: ['q_proj', 'v_proj', 'up_proj'],
    });
    const tensors = readSafetensors(join(dir, 'adapter_model.safetensors')).tensors;
    expect(tensors.size).toBe(3 * 3 * 2);
    expect(tensors.get('base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight')!.shape).toEqual([
      8, 64,
    ]);
    const up = tensors.get('base_model.model.model.layers.2.mlp.up_proj.lora_B.weight')!;
    expect(up.shape).toEqual([128, 8]);
    expect(Math.max(...up.data.map(Math.abs))).toBeGreaterThan(1e-4);

    // eval of the adapter (and of the merged model) against the base: the reference's log-probs.
    const scored = json([
      'eval',
      '--project',
      project,
      '--policy',
      'adapter',
      '--ref',
      ck,
      '--pairs',
      pairs,
      '--json',
    ]);
    const merged = json([
      'eval',
      '--project',
      project,
      '--policy',
      'adapter-merged',
      '--ref',
      ck,
      '--pairs',
      pairs,
      '--json',
    ]);
    const ids = scored.pairs.map((p: Record<string, number[]>) => ({
      prompt: p.prompt_ids,
      chosen: p.chosen_ids,
      rejected: p.rejected_ids,
    }));
    const policy = referenceLoraLogps(ck, dir, ids);
    const base = referenceLoraLogps(ck, undefined, ids);
    scored.pairs.forEach((p: Record<string, number>, i: number) => {
      close(p.policy_chosen_logp, policy.chosen[i]);
      close(p.policy_rejected_logp, policy.rejected[i]);
      close(p.ref_chosen_logp, base.chosen[i]);
      close(p.ref_rejected_logp, base.rejected[i]);
      close(merged.pairs[i].policy_chosen_logp, policy.chosen[i]);
      close(merged.pairs[i].policy_rejected_logp, policy.rejected[i]);
    });
    // Training moved the adapter away from the base.
    expect(Math.abs(policy.chosen[0] - base.chosen[0])).toBeGreaterThan(1e-2);
  });

  it('--merge never overwrites a checkpoint of the merged name that is not its own', () => {
    const project = join(root, 'project');
    // A folder of the user's, registered under the name `mine-merged`.
    const theirs = join(root, 'mine-merged');
    cpSync(join(root, 'llama'), theirs, { recursive: true });
    json(['checkpoints', 'add', theirs, '--project', project, '--json']);
    const before = readFileSync(join(theirs, 'model.safetensors'));
    const r = cli(
      ['train', '--project', project, '--name', 'mine', '--stage', 'dpo', '--init', 'llama', '--lora'].concat(
        ['--merge', '--pairs', join(root, 'pairs.jsonl'), '--steps', '1', '--batch-size', '2'],
      ),
    );
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/--merge writes the checkpoint 'mine-merged', but that name is taken/);
    // Nothing was written: no run, the other checkpoint as it was.
    const runs = json(['api', 'runs.list', '--project', project]) as { id: string }[];
    expect(runs.map((x) => x.id)).not.toContain('mine');
    expect(readFileSync(join(theirs, 'model.safetensors')).equals(before)).toBe(true);
  });

  it('refuses LoRA settings without --lora', () => {
    const r = cli([
      'train',
      '--project',
      join(root, 'p2'),
      '--name',
      'x',
      '--stage',
      'dpo',
      '--init',
      join(root, 'llama'),
      '--lora-r',
      '4',
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/loraR only apply with lora \(--lora\)/);
  });
});

describe.each([
  { type: 'gpt_neox', tokenizer: writeGpt2Tokenizer, vocab: 50304 },
  { type: 'llama', tokenizer: writeLlamaTokenizer, vocab: 512 },
])('monoscope demo --model on a $type folder', ({ type, tokenizer, vocab }) => {
  it('runs LoRA DPO and DecPO on toxicity with its tokenizer and ends with the comparison', () => {
    const src = checkpoint(type, tokenizer, vocab);
    // The folder's name is the base checkpoint's name in the project.
    const project = join(root, `demo-${type}`, 'project');
    // A short probe keeps the comparison's recordings small (the default is the shipped English text).
    const probe = join(root, 'probe.txt');
    writeFileSync(probe, 'The red fox ran past my sister in the rain.\n\nWe ate bread and apples at noon.\n');
    const r = cli(['demo', '--project', project, '--model', src, '--quick', '--probe', probe, '--json'], {
      timeout: 600_000,
    });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(Object.keys(out.checkpoints)).toEqual([type, 'dpo', 'decpo']);
    const rows = out.comparison.rows.filter((x: { layer: number }) => x.layer === 0);
    expect(rows.map((x: { checkpoint: string }) => x.checkpoint)).toEqual([type, 'dpo', 'decpo']);
    expect(rows[0].svccaToBase).toBe(1);
    // The held-out reward and judge table, as the default demo ends with: the base scores against itself.
    const scores = out.comparison.scores as {
      checkpoint: string;
      rewardAccuracy: number;
      judgeMetric: string;
      judgeValue: number;
    }[];
    expect(scores.map((x) => x.checkpoint)).toEqual([type, 'dpo', 'decpo']);
    expect(scores[0].rewardAccuracy).toBe(0);
    for (const x of scores) {
      expect(x.judgeMetric).toBe('toxicity_rate');
      expect(x.judgeValue).toBeGreaterThanOrEqual(0);
      expect(x.judgeValue).toBeLessThanOrEqual(1);
      expect(x.rewardAccuracy).toBeGreaterThanOrEqual(0);
      expect(x.rewardAccuracy).toBeLessThanOrEqual(1);
    }
    for (const name of ['dpo', 'decpo']) {
      const cfg = JSON.parse(readFileSync(join(project, 'checkpoints', name, 'adapter_config.json'), 'utf8'));
      expect(cfg.r).toBe(8);
    }
  }, 600_000);
});

describe('monoscope study --model', () => {
  it('trains every method as a LoRA adapter on the given folder, measured on its probe at its tap', () => {
    const src = checkpoint('llama', writeLlamaTokenizer, 512);
    const project = join(root, 'study-model');
    // A short probe of its own keeps the measurements small (the default is the shipped English text).
    const probe = join(root, 'study-probe.txt');
    writeFileSync(probe, 'The red fox ran past my sister in the rain.\n\nWe ate bread and apples at noon.\n');
    const r = cli(
      [
        ...['study', '--project', project, '--model', src, '--methods', 'base,dpo', '--seeds', '3'],
        ...['--steps', '2', '--examples', '32', '--probe', probe, '--workers', '2', '--json'],
      ],
      { timeout: 900_000 },
    );
    expect(r.code, r.stderr).toBe(0);
    const view = JSON.parse(r.stdout) as StudyView;
    // A Llama MLP is gated: the proxies (and DecPO) read the up projection's output (the paper's z).
    expect(view.spec).toMatchObject({ model: 'llama', tap: 'mlp.pre_linear', probe });
    expect(view.cells).toHaveLength(6);
    for (const c of view.cells) {
      expect(c.status).toBe('done');
      // The given model is every seed's base; the methods are PEFT adapters on it, one per seed.
      expect(c.base).toBe('llama');
      const values = c.metrics!.values;
      expect(values.toxicity_rate).toBeGreaterThanOrEqual(0);
      expect(values['fd@0']).toBeTypeOf('number');
      if (c.method === 'base') {
        expect(c.checkpoint).toBe('llama');
        expect(values.reward_accuracy).toBeUndefined();
        continue;
      }
      expect(c.train).toMatchObject({ lora: true, init: 'llama', seed: c.seed });
      const cfg = JSON.parse(
        readFileSync(join(project, 'checkpoints', c.checkpoint, 'adapter_config.json'), 'utf8'),
      );
      expect(cfg.r).toBe(8);
      expect(values.reward_accuracy).toBeGreaterThanOrEqual(0);
      expect(values.reward_accuracy).toBeLessThanOrEqual(1);
      // The proxies over training: the base at step 0, the adapter's snapshot (every ceil(2 / 4) = 1 step),
      // its last step.
      expect(c.metrics!.trajectory.map((t) => t.step)).toEqual([0, 1, 2]);
    }
    // Three seeds of the same adapter differ (initialization, dropout and data order follow the seed).
    const dpo = view.cells.filter((c) => c.method === 'dpo').map((c) => c.metrics!.values.reward_margin);
    expect(new Set(dpo).size).toBe(3);
  }, 900_000);
});
