import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, cliChild } from './cli.js';
import { openStore } from '../../src/core/store/store.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'monoscope-cli-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const tiny = [
  '--n-layer',
  '1',
  '--n-embd',
  '32',
  '--n-head',
  '2',
  '--n-inner',
  '64',
  '--n-ctx',
  '64',
  '--examples',
  '400',
];

describe('monoscope CLI', () => {
  it('lists backends with the reason for each', () => {
    const r = cli(['backends', '--json']);
    expect(r.code).toBe(0);
    const list = JSON.parse(r.stdout) as { name: string; usable: boolean; reason: string }[];
    expect(list.map((b) => b.name)).toEqual(['tensorflow', 'webgpu', 'wasm', 'cpu']);
    expect(list.find((b) => b.name === 'wasm')!.usable).toBe(true);
    for (const b of list) expect(b.reason.length).toBeGreaterThan(5);
  });

  it('refuses an unknown option and a bad value with exit code 2 and a clear message', () => {
    const a = cli(['train', '--project', dir, '--name', 'x', '--stage', 'dpo', '--frobnicate']);
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/unknown option '--frobnicate'/);
    const b = cli(['train', '--project', dir, '--name', 'x', '--stage', 'dpo', '--lambda', 'lots']);
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/--lambda must be a number, got 'lots'/);
    const c = cli(['train', '--project', dir, '--name', 'x', '--stage', 'flying']);
    expect(c.code).toBe(2);
    expect(c.stderr).toMatch(/Allowed choices are pretrain, sft, dpo, decpo, simpo, l1/);
  });

  it('pretrains, then a bad JSONL line stops DPO before anything is trained', () => {
    const base = cli([
      'train',
      '--project',
      dir,
      '--name',
      'base',
      '--stage',
      'pretrain',
      '--steps',
      '6',
      '--batch-size',
      '8',
      ...tiny,
    ]);
    expect(base.stderr).toBe('');
    expect(base.code).toBe(0);
    expect(existsSync(join(dir, 'checkpoints', 'base', 'model.safetensors'))).toBe(true);
    // Not a TTY: progress comes as JSON lines.
    const lines = base.stdout.split('\n').filter((l) => l.startsWith('{'));
    expect(lines.some((l) => JSON.parse(l).event === 'progress')).toBe(true);

    const bad = join(dir, 'bad.jsonl');
    writeFileSync(bad, '{"prompt":"a","chosen":"b","rejected":"c"}\n\n{"prompt":"a","chosen":"b"}\n');
    const r = cli([
      'train',
      '--project',
      dir,
      '--name',
      'dpo-bad',
      '--stage',
      'dpo',
      '--init',
      'base',
      '--pairs',
      bad,
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${bad}:3:`);
    expect(r.stderr).toMatch(/rejected/);
    expect(existsSync(join(dir, 'checkpoints', 'dpo-bad'))).toBe(false);
    const store = openStore(join(dir, 'monoscope.db'), { readonly: true });
    expect(store.runs.get('dpo-bad')).toBeUndefined();
    expect(store.runs.get('base')!.status).toBe('completed');
    expect(store.runs.metrics('base', ['loss']).length).toBe(6);
    store.close();
  });

  it('--max-length and --max-prompt-length truncate a pairs file as TRL does; the run counts the cut pairs', () => {
    const pairs = join(dir, 'long-pairs.jsonl');
    const long = {
      prompt: 'the cat is red . my mother said',
      chosen: ' thank you .',
      rejected: ' shut up .',
    };
    writeFileSync(
      pairs,
      [
        long, // 8 + 3 > 8: the prompt keeps its last 3 tokens, then fits
        { prompt: 'the cat is', chosen: ' thank you . thank you . thank you .', rejected: ' shut up .' }, // 3 + 9 > 8: responses cut to 5
        { prompt: 'my mother said', chosen: ' red .', rejected: ' shut up .' }, // fits
        long,
      ]
        .map((p) => JSON.stringify(p))
        .join('\n'),
    );
    const args = ['train', '--project', dir, '--stage', 'dpo', '--init', 'base', '--pairs', pairs];
    const run = ['--steps', '1', '--batch-size', '2', '--eval-every', '0', '--backend', 'wasm'];
    const r = cli([...args, '--name', 'dpo-cut', ...run, '--max-length', '8', '--max-prompt-length', '3']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(
      "truncation as TRL's (max length 8, max prompt length 3): 2 prompts cut from the left, 1 pair with responses cut from the right",
    );
    const over = cli([...args, '--name', 'dpo-over', ...run, '--max-length', '65']);
    expect(over.code).toBe(1);
    expect(over.stderr).toContain("max length 65 (--max-length) is above the model's context of 64 tokens");
    const store = openStore(join(dir, 'monoscope.db'), { readonly: true });
    expect(store.runs.get('dpo-cut')!.config.truncation).toEqual({
      maxLength: 8,
      maxPrompt: 3,
      truncatedPrompts: 2,
      truncatedResponses: 1,
    });
    expect(store.runs.get('dpo-over')).toBeUndefined();
    store.close();
  });

  it('--snapshot-every writes and registers the checkpoint NAME-stepN along the run, not at its last step', () => {
    const args = ['train', '--project', dir, '--name', 'dpo-snap', '--stage', 'dpo', '--init', 'base'];
    const run = ['--steps', '3', '--batch-size', '2', '--examples', '16', '--eval-every', '0'];
    const r = cli([...args, ...run, '--snapshot-every', '2', '--backend', 'wasm']);
    expect(r.code, r.stderr).toBe(0);
    const store = openStore(join(dir, 'monoscope.db'), { readonly: true });
    expect(store.checkpoints.get('dpo-snap-step2')).toMatchObject({
      stage: 'dpo',
      runId: 'dpo-snap',
      parent: 'base',
    });
    expect(existsSync(join(store.checkpoints.get('dpo-snap-step2')!.dir, 'model.safetensors'))).toBe(true);
    expect(store.checkpoints.get('dpo-snap-step3')).toBeUndefined();
    store.close();
    const bad = cli([...args, ...run, '--snapshot-every', 'often']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--snapshot-every must be an integer, got 'often'/);
  });

  it('a bad checkpoint folder gives a clear error', () => {
    const r = cli([
      'train',
      '--project',
      dir,
      '--name',
      'd',
      '--stage',
      'dpo',
      '--init',
      join(dir, 'nowhere'),
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/checkpoint folder not found: .*nowhere/);
  });

  it('eval prints per-pair log-probs and TRL reward metrics as JSON', () => {
    const pairs = join(dir, 'pairs.jsonl');
    writeFileSync(
      pairs,
      [
        { prompt: 'the cat is', chosen: ' red .', rejected: ' you idiot .' },
        { prompt: 'my mother said', chosen: ' thank you .', rejected: ' shut up .' },
      ]
        .map((p) => JSON.stringify(p))
        .join('\n'),
    );
    const ck = join(dir, 'checkpoints', 'base');
    const r = cli(['eval', '--project', dir, '--policy', ck, '--ref', ck, '--pairs', pairs, '--json']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.pairs).toHaveLength(2);
    const p0 = out.pairs[0];
    expect(p0.prompt_ids.length).toBeGreaterThan(0);
    expect(p0.policy_chosen_logp).toBeLessThan(0);
    expect(p0.policy_chosen_logp).toBeCloseTo(p0.ref_chosen_logp, 5); // same model
    expect(out.summary['rewards/margins']).toBeCloseTo(0, 5);
    expect(out.summary.loss).toBeCloseTo(Math.log(2), 5);
  });

  it('Ctrl-C stops a run cleanly with exit 130, and the same command resumes it', async () => {
    const args = [
      'train',
      '--project',
      dir,
      '--name',
      'sft1',
      '--stage',
      'sft',
      '--init',
      'base',
      '--steps',
      '3000',
      '--batch-size',
      '4',
      '--checkpoint-every',
      '5000',
      '--eval-every',
      '0',
    ];
    const child = cliChild(args);
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('"phase":"sft"') && !child.killed) child.kill('SIGINT');
    });
    const code = await new Promise<number | null>((ok) => child.on('exit', ok));
    expect(code).toBe(130);
    expect(readdirSync(join(dir, 'runs', 'sft1', 'state'))).toContain('model.safetensors');
    const store = openStore(join(dir, 'monoscope.db'), { readonly: true });
    const run = store.runs.get('sft1')!;
    expect(run.status).toBe('cancelled');
    const done = store.runs.metrics('sft1', ['loss']).length;
    store.close();
    const again = cli([...args.slice(0, 9), '--steps', String(done + 2), ...args.slice(11)]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/different settings/); // a changed spec is refused, the state is kept
    const resumed = cliChild(args);
    let out2 = '';
    resumed.stdout.on('data', (d) => {
      out2 += d;
      if (out2.includes('"phase":"sft"') && !resumed.killed) resumed.kill('SIGINT');
    });
    expect(await new Promise<number | null>((ok) => resumed.on('exit', ok))).toBe(130);
    expect(out2, out2).toContain(`resuming from step ${done}`);
  }, 300_000);
});
