/**
 * The fault suite for the writers: `kill -9` at random points (several seeds) of `train`, `record`,
 * `analyze sae` and `export`, and two `train` (or `analyze sae`) runs of one name at once. After each, the store passes `PRAGMA
 * integrity_check`, keeps what was committed, and the rerun ends with exactly the uninterrupted result.
 */
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, cliChild } from './cli.js';
import { finished } from '../unit/record/processes.js';
import { dumpRecording } from '../unit/record/compare.js';
import { openStore } from '../../src/core/store/store.js';
import { openProject } from '../../src/core/store/project.js';
import { createService } from '../../src/core/service.js';
import type { MetricRow } from '../../src/core/store/runs.js';
import { learningRate } from '../../src/core/train/optimizer.js';

const root = mkdtempSync(join(tmpdir(), 'monoscope-faults-'));
const project = join(root, 'proj');
const storeFile = join(project, 'monoscope.db');
afterAll(() => rmSync(root, { recursive: true, force: true }));

const SEEDS = [1, 2];
const STEPS = 24;
const trainArgs = (name: string, extra: string[] = []) => [
  'train',
  '--project',
  project,
  '--name',
  name,
  '--stage',
  'pretrain',
  '--steps',
  String(STEPS),
  '--batch-size',
  '8',
  '--checkpoint-every',
  '4',
  '--eval-every',
  '8',
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
  '--backend',
  'wasm',
  ...extra,
];
const exportArgs = (checkpoint: string, out: string) => [
  'export',
  'activations',
  '--project',
  project,
  '--checkpoint',
  checkpoint,
  '--tap',
  'blocks.0.mlp.post',
  '--format',
  'csv',
  '--out',
  out,
];

/** A seeded uniform generator on [0, 1) (mulberry32). */
function uniform(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Runs the CLI and sends it SIGKILL once `when` (called with its output so far, and on a timer) says so. */
async function killWhen(args: string[], when: (out: string) => boolean) {
  const child = cliChild(args);
  const ended = finished(child);
  let out = '';
  const check = () => {
    if (!child.killed && when(out)) child.kill('SIGKILL');
  };
  for (const stream of [child.stdout, child.stderr])
    stream.on('data', (d: Buffer) => {
      out += d;
      check();
    });
  const timer = setInterval(check, 2);
  try {
    return await ended;
  } finally {
    clearInterval(timer);
  }
}

/** The highest `done` of the progress lines of `phase` printed so far. */
function lastDone(out: string, phase: string): number {
  let done = -1;
  for (const m of out.matchAll(/"phase":"([^"]+)","done":(\d+)/g)) if (m[1] === phase) done = Number(m[2]);
  return done;
}

/** A run's status and metrics, read without writing (so without the sweep of a writable open). */
function readRun(name: string): { status?: string; metrics: MetricRow[]; integrity: string[] } {
  const s = openStore(storeFile, { readonly: true });
  try {
    const run = s.runs.get(name);
    return { status: run?.status, metrics: run ? s.runs.metrics(name) : [], integrity: s.integrityCheck() };
  } finally {
    s.close();
  }
}

/** The files under `dir` that a writer left under a temporary name. */
function temps(dir: string): string[] {
  return readdirSync(dir).filter((n) => /\.tmp|monoscope-tmp/.test(n));
}

const SAE_STEPS = 200;
const saeArgs = (name: string, extra: string[] = []) => [
  'analyze',
  'sae',
  '--project',
  project,
  '--checkpoint',
  'ref',
  '--tap',
  'blocks.0.mlp.post',
  '--name',
  name,
  '--latents',
  '128',
  '--k',
  '8',
  '--steps',
  String(SAE_STEPS),
  '--batch-size',
  '256',
  ...extra,
];

/** The SAE records of the store, by name, and its integrity (read without writing). */
function readSaes(): {
  byName: Map<string, { weightsHash?: string; settings?: { k?: number } }>;
  integrity: string[];
} {
  const s = openStore(storeFile, { readonly: true });
  try {
    const byName = new Map(
      s.analyses
        .list('sae')
        .map(
          (a) =>
            s.analyses.get<{ name: string; weightsHash?: string; settings?: { k?: number } }>(
              'sae',
              a.inputs,
            )!.result,
        )
        .map((r) => [r.name, r] as const),
    );
    return { byName, integrity: s.integrityCheck() };
  } finally {
    s.close();
  }
}

let refMetrics: MetricRow[];
let refHash: string;
let refSaeHash: string;

beforeAll(() => {
  const r = cli(trainArgs('ref', ['--json']));
  expect(r.code, r.stderr).toBe(0);
  refHash = JSON.parse(r.stdout).finalHash;
  refMetrics = readRun('ref').metrics;
  expect(refMetrics.some((m) => m.step === STEPS)).toBe(true);
  const rec = cli(['record', '--project', project, '--checkpoint', 'ref', '--batch-size', '2']);
  expect(rec.code, rec.stderr).toBe(0);
  expect(cli(exportArgs('ref', join(root, 'ref.csv'))).code).toBe(0);
  const sae = cli(saeArgs('sae-ref', ['--json']));
  expect(sae.code, sae.stderr).toBe(0);
  refSaeHash = JSON.parse(sae.stdout).weightsHash;
  expect(refSaeHash).toMatch(/^[0-9a-f]{64}$/);
}, 180_000);

describe('kill -9', () => {
  it.each(SEEDS)(
    'of train at a random step (seed %i): committed steps survive, the run shows interrupted, the rerun ends as if never killed',
    async (seed) => {
      const name = `train-${seed}`;
      const at = 5 + Math.floor(uniform(seed)() * (STEPS - 8));
      const r = await killWhen(trainArgs(name), (out) => lastDone(out, 'pretrain') >= at);
      expect(r.signal, r.stderr).toBe('SIGKILL');

      const killed = readRun(name);
      expect(killed.integrity).toEqual(['ok']);
      expect(killed.status).toBe('running');
      expect(killed.metrics.length).toBeGreaterThan(0);
      expect(refMetrics).toEqual(expect.arrayContaining(killed.metrics)); // each committed step as uninterrupted

      const service = createService(openProject(project)); // as `serve` or the app opens it: finds the stale lock
      const listed = await service.call('runs.list', {});
      service.close();
      expect(listed.find((x) => x.id === name)).toMatchObject({
        status: 'interrupted',
        message: expect.stringMatching(/ended without finishing/),
      });

      const again = cli(trainArgs(name, ['--json']));
      expect(again.code, again.stderr).toBe(0);
      expect(JSON.parse(again.stdout).finalHash).toBe(refHash);
      const resumed = readRun(name);
      expect(resumed.status).toBe('completed');
      expect(resumed.metrics).toEqual(refMetrics);
      expect(readdirSync(join(project, '.locks'))).toEqual([]);
    },
    120_000,
  );

  it.each(SEEDS)(
    'of record at a random moment (seed %i): the rerun stores exactly the uninterrupted recording',
    async (seed) => {
      const name = `record-${seed}`; // the same weights under another name
      cpSync(join(project, 'checkpoints', 'ref'), join(project, 'checkpoints', name), { recursive: true });
      const args = ['record', '--project', project, '--checkpoint', name, '--batch-size', '2'];
      const delay = uniform(seed)() * 300;
      let started = 0;
      const r = await killWhen(args, (out) => {
        if (!out.includes('"phase"')) return false;
        started ||= Date.now();
        return Date.now() - started >= delay;
      });
      expect(r.signal, r.stderr).toBe('SIGKILL');
      const s = openStore(storeFile, { readonly: true });
      expect(s.integrityCheck()).toEqual(['ok']);
      s.close();

      const again = cli(args);
      expect(again.code, again.stderr).toBe(0);
      const t = openStore(storeFile, { readonly: true });
      const [ref] = t.activations.list({ checkpoint: 'ref' });
      const [rerun] = t.activations.list({ checkpoint: name });
      expect(dumpRecording(t, rerun.id)).toEqual(dumpRecording(t, ref.id));
      t.close();
    },
    120_000,
  );

  it.each(SEEDS)(
    'of analyze sae at a random step (seed %i): no record and no temporary of it survive, the rerun trains the same SAE',
    async (seed) => {
      const name = `sae-${seed}`;
      const at = 20 + Math.floor(uniform(seed)() * (SAE_STEPS - 40));
      const r = await killWhen(saeArgs(name), (out) => lastDone(out, `sae ${name}`) >= at);
      expect(r.signal, r.stderr).toBe('SIGKILL');
      const killed = readSaes();
      expect(killed.integrity).toEqual(['ok']);
      expect(killed.byName.has(name)).toBe(false); // the record is written only once the weights are saved
      expect(killed.byName.get('sae-ref')?.weightsHash).toBe(refSaeHash);

      const again = cli(saeArgs(name, ['--json']));
      expect(again.code, again.stderr).toBe(0);
      expect(JSON.parse(again.stdout).weightsHash).toBe(refSaeHash);
      expect(readSaes().byName.get(name)?.weightsHash).toBe(refSaeHash);
      expect(temps(join(project, 'saes'))).toEqual([]);
      expect(temps(join(project, 'saes', name))).toEqual([]);
      expect(readdirSync(join(project, '.locks'))).toEqual([]);
    },
    120_000,
  );

  it.each(SEEDS)(
    'of a big CSV export while it writes (seed %i): no temporary is left after the rerun, which writes the whole file',
    async (seed) => {
      const folder = join(project, 'exports');
      const out = join(folder, `killed-${seed}.csv`);
      const delay = uniform(seed)() * 80;
      let seen = 0;
      const r = await killWhen(exportArgs('ref', out), () => {
        if (!seen && temps(folder).length) seen = Date.now();
        return seen > 0 && Date.now() - seen >= delay;
      });
      expect(r.signal, r.stderr).toBe('SIGKILL');
      expect(existsSync(out)).toBe(false);

      const again = cli(exportArgs('ref', out));
      expect(again.code, again.stderr).toBe(0);
      expect(temps(folder)).toEqual([]);
      expect(readFileSync(out).equals(readFileSync(join(root, 'ref.csv')))).toBe(true);
    },
    60_000,
  );
});

/** Resolves once the child has printed a progress line of `phase` (so it holds its lock), at least `ms` after it started. */
async function working(child: ReturnType<typeof cliChild>, phase: string, ms: number): Promise<void> {
  const started = Date.now();
  await new Promise<void>((ok) => {
    let out = '';
    for (const stream of [child.stdout, child.stderr])
      stream.on('data', (d: Buffer) => {
        out += d;
        if (lastDone(out, phase) >= 0) ok();
      });
  });
  await new Promise((ok) => setTimeout(ok, Math.max(0, ms - (Date.now() - started))));
}

describe('two train runs of one name started 0.3 s apart', () => {
  // The second starts while the first trains (0.3 s after it started, or once its first step is out, if
  // later): long enough runs that the first still holds the run's lock when the second asks for it.
  const longRun = ['--checkpoint-every', '50', '--eval-every', '0'];
  it('refuses the second with the lock holder, and leaves the first run consistent', async () => {
    const firstChild = cliChild(trainArgs('race', ['--lr', '0.002', '--steps', '400', ...longRun]));
    const first = finished(firstChild);
    await working(firstChild, 'pretrain', 300);
    const second = finished(cliChild(trainArgs('race', ['--lr', '0.004', '--steps', '420', ...longRun])));
    const results = await Promise.all([first, second]);
    const winner = results.findIndex((x) => x.code === 0);
    const loser = results[1 - winner];
    expect(winner, results.map((x) => x.stderr).join('\n')).toBeGreaterThanOrEqual(0);
    expect(loser.code).not.toBe(0);
    expect(loser.stderr).toMatch(/run 'race' is being written by process \d+ on /);

    const [lr, steps] = winner === 0 ? [0.002, 400] : [0.004, 420];
    const spec = JSON.parse(readFileSync(join(project, 'runs', 'race', 'spec.json'), 'utf8')).spec;
    expect(spec).toMatchObject({ lr, steps });
    const s = openStore(storeFile, { readonly: true });
    const run = s.runs.get('race')!;
    expect(run.status).toBe('completed');
    expect(run.config).toMatchObject({ spec: { lr, steps } });
    const loss = s.runs.metrics('race', ['loss']);
    expect(loss.map((m) => m.step)).toEqual(Array.from({ length: steps }, (_, i) => i + 1));
    const lrs = s.runs.metrics('race', ['learning_rate']).map((m) => m.value);
    const schedule = { lr, warmup: spec.warmup, total: steps, schedule: spec.schedule };
    expect(lrs).toEqual(Array.from({ length: steps }, (_, i) => learningRate(i, schedule)));
    const weights = readFileSync(join(project, 'checkpoints', 'race', 'model.safetensors'));
    expect(s.checkpoints.get('race')!.hash).toBe(createHash('sha256').update(weights).digest('hex'));
    s.close();
  }, 120_000);
});

describe('two analyze sae runs of one name at once', () => {
  it('refuses the second with the lock holder, and stores the first one whole', async () => {
    const firstChild = cliChild(saeArgs('sae-race'));
    const first = finished(firstChild);
    await working(firstChild, 'sae sae-race', 300);
    const second = finished(cliChild(saeArgs('sae-race', ['--k', '4'])));
    const results = await Promise.all([first, second]);
    const winner = results.findIndex((x) => x.code === 0);
    expect(winner, results.map((x) => x.stderr).join('\n')).toBeGreaterThanOrEqual(0);
    const loser = results[1 - winner];
    expect(loser.code).not.toBe(0);
    // Refused by the lock while the first trains, or (if the first had already finished) as a name in use.
    expect(loser.stderr).toMatch(
      /sae 'sae-race' is being written by process \d+ on |an SAE named 'sae-race' exists, trained with other settings/,
    );
    const { byName, integrity } = readSaes();
    expect(integrity).toEqual(['ok']);
    // The files and the record are the winner's, both of them.
    const cfg = JSON.parse(readFileSync(join(project, 'saes', 'sae-race', 'cfg.json'), 'utf8'));
    expect(cfg.k).toBe(winner === 0 ? 8 : 4);
    const record = byName.get('sae-race')!;
    expect(record.settings?.k).toBe(cfg.k);
    if (winner === 0) expect(record.weightsHash).toBe(refSaeHash);
  }, 120_000);
});
