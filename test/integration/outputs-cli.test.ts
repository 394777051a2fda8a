/**
 * The CLI's user-named outputs on real files: never inside a project's managed files, never half-written,
 * and a read command never creates a project.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from './cli.js';
import { openProject } from '../../src/core/store/project.js';
import { openStore } from '../../src/core/store/store.js';

const root = mkdtempSync(join(tmpdir(), 'monoscope-outputs-'));
const project = join(root, 'proj');
const storeFile = join(project, 'monoscope.db');
afterAll(() => rmSync(root, { recursive: true, force: true }));

beforeAll(() => {
  const p = openProject(project, { create: true });
  p.store.runs.create({ id: 'dpo', stage: 'dpo', config: {}, backend: {}, seed: 0 });
  for (let step = 1; step <= 3; step++) p.store.runs.appendMetrics('dpo', step, { loss: 1 / step });
  p.close();
  for (const sub of ['checkpoints/base', 'runs/dpo', 'saes/s1'])
    mkdirSync(join(project, sub), { recursive: true });
});

/** The store still opens, is sound and holds the run's metrics. */
function storeIntact(): void {
  const s = openStore(storeFile, { readonly: true });
  expect(s.integrityCheck()).toEqual(['ok']);
  expect(s.runs.metrics('dpo', ['loss'])).toHaveLength(3);
  s.close();
}

describe('exports aimed at the project', () => {
  it('refuses export metrics into the store and every managed folder, and the store survives', () => {
    for (const rel of [
      'monoscope.db',
      'monoscope.db-wal',
      'checkpoints/base/model.safetensors',
      'runs/dpo/spec.json',
      'saes/s1/cfg.json',
    ]) {
      const out = join(project, rel);
      const r = cli(['export', 'metrics', '--project', project, '--run', 'dpo', '--out', out]);
      expect(r.code, rel).not.toBe(0);
      expect(r.stderr).toContain(`${out} is inside the Monoscope project ${project}`);
      storeIntact();
    }
    expect(readdirSync(join(project, 'runs', 'dpo'))).toEqual([]);
  });

  it('refuses export figure into the store before computing anything', () => {
    const r = cli([
      'export',
      'figure',
      '--project',
      project,
      '--figure',
      'training-curves',
      '--run',
      'dpo',
      '--out',
      storeFile,
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('is inside the Monoscope project');
    storeIntact();
  });
});

describe('export outputs', () => {
  it('refuses the same path for --out and --png without writing a file', () => {
    const out = join(root, 'fig.svg');
    const r = cli([
      'export',
      'figure',
      '--project',
      project,
      '--figure',
      'training-curves',
      '--run',
      'dpo',
      '--out',
      out,
      '--png',
      out,
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/named twice/);
    expect(existsSync(out)).toBe(false);
  });

  it('refuses a folder as --out and leaves no temporary beside it', () => {
    const folder = mkdtempSync(join(root, 'outdir-'));
    mkdirSync(join(folder, 'metrics.csv'));
    const r = cli([
      'export',
      'metrics',
      '--project',
      project,
      '--run',
      'dpo',
      '--out',
      join(folder, 'metrics.csv'),
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/is a folder/);
    expect(readdirSync(folder)).toEqual(['metrics.csv']);
  });

  it("writes an export under the project's exports/", () => {
    const out = join(project, 'exports', 'metrics.csv');
    const r = cli(['export', 'metrics', '--project', project, '--run', 'dpo', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe('step,loss\n1,1\n2,0.5\n3,0.3333333333333333\n');
  });
});

describe('a mistyped --project', () => {
  it('is refused by read commands, which create nothing', () => {
    const typo = join(root, 'porj');
    for (const args of [
      ['generate', '--project', typo, '--checkpoint', 'base', '--prompt', 'hello'],
      ['analyze', 'weights', '--project', typo, '--checkpoint', 'base'],
    ]) {
      const r = cli(args);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.stderr).toContain(`${typo}: no Monoscope project here (no monoscope.db)`);
      expect(existsSync(typo)).toBe(false);
    }
  });
});
