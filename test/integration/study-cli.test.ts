// `monoscope study` on real projects in temp folders (the built CLI as a child process): the tiny grid (3 seeds
// of base, DPO and DecPO on a tiny model, 2 worker threads; the study suites' shared fixture, run by the CLI)
// completed with every cell a run and checkpoint of the store, and `study.get` answers what `--json` printed;
// on a copy of it, a rerun trains and measures nothing; adding a method trains only its cells; Ctrl-C
// mid-grid (a fifth method) stops it cleanly and a rerun completes it; bad input exits 2 naming the field.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, cliChild, type CliResult } from './cli.js';
import { STUDY_LIMIT as LIMIT, TINY_STUDY, copyTinyStudy, tinyStudy } from '../helpers/study-project.js';
import { openProject } from '../../src/core/store/project.js';
import type { StudyView } from '../../src/core/study/types.js';

/** The tiny grid's flags, as `monoscope study` takes them (the shared fixture's spec). */
const GRID = [
  ...['--methods', TINY_STUDY.methods.join(','), '--seeds', String(TINY_STUDY.seeds)],
  ...['--workers', String(TINY_STUDY.workers), '--pretrain-steps', String(TINY_STUDY.pretrainSteps)],
  ...['--pretrain-examples', String(TINY_STUDY.pretrainExamples), '--steps', String(TINY_STUDY.steps)],
  ...['--examples', String(TINY_STUDY.examples), '--probe-tokens', String(TINY_STUDY.probeTokens)],
  ...Object.entries(TINY_STUDY.modelShape).flatMap(([k, v]) => [
    `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`,
    String(v),
  ]),
];

let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'monoscope-study-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Runs `monoscope study ... --json` and returns its view (failing with its stderr when it did not exit 0). */
function study(dir: string, args: string[]): StudyView {
  const r = cli(['study', '--project', dir, ...args, '--json'], { timeout: LIMIT });
  if (r.code !== 0) throw new Error(`monoscope study exited ${r.code}:\n${r.stderr}`);
  return JSON.parse(r.stdout) as StudyView;
}

/** Runs the CLI without blocking this process (another process's view while a study runs). */
function cliAsync(args: string[]): Promise<CliResult> {
  const child = cliChild(args);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((done) => child.on('exit', (code) => done({ code, stdout, stderr })));
}

/** `study.get` through the CLI's generic API command. */
function studyGet(dir: string, input: object = {}): StudyView | null {
  const r = cli(['api', 'study.get', '--project', dir, '--input', JSON.stringify(input)]);
  if (r.code !== 0) throw new Error(`study.get exited ${r.code}:\n${r.stderr}`);
  return JSON.parse(r.stdout) as StudyView | null;
}

/** Every run of a project: id -> updated_at. */
function runTimes(dir: string): Map<string, string> {
  const p = openProject(dir, { readonly: true });
  try {
    return new Map(p.store.runs.list().map((r) => [r.id, r.updatedAt]));
  } finally {
    p.close();
  }
}

describe('monoscope study', () => {
  let dir: string;
  let first: StudyView;

  it(
    'the tiny grid completes: every cell a completed run and checkpoint, measured; study.get agrees',
    () => {
      first = tinyStudy().printed;
      dir = copyTinyStudy(join(root, 'grid'));
      expect(first.name).toBe('study');
      expect(first.running).toBe(false);
      expect(first.cells).toHaveLength(9);
      expect(first.cells.map((c) => `${c.method}/${c.seed}`).sort()).toEqual(
        ['base', 'dpo', 'decpo'].flatMap((m) => [0, 1, 2].map((s) => `${m}/${s}`)).sort(),
      );
      const p = openProject(dir, { readonly: true });
      try {
        for (const c of first.cells) {
          expect(c.status).toBe('done');
          expect(c.metrics).toBeDefined();
          const run = p.store.runs.get(c.checkpoint)!;
          expect(run.status).toBe('completed');
          expect(run.seed).toBe(c.seed);
          expect(run.stage).toBe(c.method === 'base' ? 'pretrain' : c.method);
          const ck = p.store.checkpoints.get(c.checkpoint)!;
          expect(existsSync(join(ck.dir, 'model.safetensors'))).toBe(true);
          // The methods fine-tune their seed's own base.
          if (c.method !== 'base') expect(ck.parent).toBe(c.base);
        }
        expect(new Set(first.cells.map((c) => c.base)).size).toBe(3);
        // --probe-tokens: every cell is measured on the stored cut of the built-in probe, 2,048 tokens long.
        const probe = p.store.probes.summary(first.spec.probe as string)!;
        expect(probe.nTokens).toBe(2048);
        for (const c of first.cells) expect(c.metrics!.hashes.probe).toBe(probe.hash);
      } finally {
        p.close();
      }
      expect(first.versions).toMatchObject({ 'tfjs-core': expect.any(String), node: process.versions.node });
      const got = studyGet(dir)!;
      expect(got.cells).toEqual(first.cells);
      expect(studyGet(dir, { name: 'study' })!.cells).toEqual(first.cells);
      expect(studyGet(dir, { name: 'other' })).toBeNull();
    },
    LIMIT,
  );

  it(
    'a rerun (the same grid from a --spec file, a flag overriding it) trains and measures nothing new',
    () => {
      const before = runTimes(dir);
      const spec = join(root, 'grid.json');
      writeFileSync(spec, JSON.stringify(TINY_STUDY));
      const again = study(dir, ['--spec', spec, '--workers', '1']);
      expect(again.spec.workers).toBe(1);
      expect(runTimes(dir)).toEqual(before);
      expect(again.cells).toEqual(first.cells);
      expect(again.createdAt).toBe(first.createdAt);
    },
    LIMIT,
  );

  it(
    'adding a method trains only its cells; study.get shows the grid live while it runs',
    async () => {
      const before = runTimes(dir);
      const child = cliChild([
        'study',
        '--project',
        dir,
        ...GRID.slice(2),
        '--methods',
        'base,dpo,decpo,simpo',
      ]);
      let out = '';
      let live: Promise<CliResult> | undefined;
      child.stdout.on('data', (d) => {
        out += d;
        // A SimPO cell is training: ask for the study from another process (its measurement outlasts the call).
        if (!live && /st-toxicity-simpo-\S+ simpo [1-6]\/6"/.test(out))
          live = cliAsync(['api', 'study.get', '--project', dir]);
      });
      expect(await new Promise((done) => child.on('exit', done)), out).toBe(0);
      const during = JSON.parse((await live!).stdout) as StudyView;
      expect(during.running).toBe(true);
      for (const c of during.cells)
        if (c.method === 'simpo') expect(['pending', 'training', 'measuring']).toContain(c.status);
        else expect(c.status).toBe('done');
      const training = during.cells.filter((c) => c.status === 'training');
      for (const c of training) expect(c).toMatchObject({ step: expect.any(Number), steps: 6 });
      expect(training.length + during.cells.filter((c) => c.status === 'measuring').length).toBeGreaterThan(
        0,
      );

      const grown = studyGet(dir)!;
      expect(grown.running).toBe(false);
      const after = runTimes(dir);
      const simpo = grown.cells.filter((c) => c.method === 'simpo');
      expect(simpo).toHaveLength(3);
      expect([...after.keys()].filter((id) => !before.has(id)).sort()).toEqual(
        simpo.map((c) => c.checkpoint).sort(),
      );
      for (const [id, t] of before) expect(after.get(id)).toBe(t);
      for (const c of grown.cells) expect(c.status).toBe('done');
    },
    LIMIT,
  );

  it(
    'Ctrl-C mid-grid stops every worker cleanly; the same command then completes the grid',
    async () => {
      const args = ['study', '--project', dir, ...GRID.slice(2), '--methods', 'base,dpo,decpo,simpo,l1'];
      const child = cliChild(args);
      let out = '';
      const code = await new Promise<number | null>((done) => {
        child.stdout.on('data', (d) => {
          out += d;
          // Once an L1 cell is training (past its first saved state), press Ctrl-C.
          if (/st-toxicity-l1-\S+ l1 [3-5]\/6"/.test(out) && !child.killed) child.kill('SIGINT');
        });
        child.on('exit', done);
      });
      expect(code, out).toBe(130);
      const stopped = studyGet(dir)!;
      expect(stopped.running).toBe(false);
      const l1 = stopped.cells.filter((c) => c.method === 'l1');
      expect(l1.map((c) => c.status)).toContain('cancelled');
      for (const c of l1) expect(['done', 'cancelled', 'pending']).toContain(c.status);
      for (const c of stopped.cells.filter((c) => c.method !== 'l1')) expect(c.status).toBe('done');
      const p = openProject(dir, { readonly: true });
      const cancelled = l1.filter((c) => p.store.runs.get(c.checkpoint)?.status === 'cancelled');
      p.close();
      expect(cancelled.length).toBeGreaterThan(0);
      const r = cli(args, { timeout: LIMIT });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/resuming from step \d+/);
      for (const c of studyGet(dir)!.cells) expect(c.status).toBe('done');
    },
    LIMIT,
  );

  it('an unknown --spec field and a bad flag exit 2 naming the field, and create nothing', () => {
    const spec = join(root, 'spec.json');
    writeFileSync(spec, JSON.stringify({ seeds: 3, methods: ['dpo'], colour: 'red' }));
    const none = join(root, 'none');
    const unknown = cli(['study', '--project', none, '--spec', spec]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/colour/);
    const bad = cli(['study', '--project', none, '--methods', 'dpo,ppo']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/methods/);
    const few = cli(['study', '--project', none, '--seeds', '2']);
    expect(few.code).toBe(2);
    expect(few.stderr).toMatch(/seeds/);
    expect(existsSync(none)).toBe(false);
  });
});
