import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openProject, type Project } from '../../../src/core/store/project.js';
import { writeAtomic, writeFilesAtomic, writeAll } from '../../../src/core/store/files.js';
import { exportActivations } from '../../../src/core/store/export.js';
import { writeMatrixNpy, writeRecordsCsv } from '../../../src/core/analysis/export.js';

const root = mkdtempSync(join(tmpdir(), 'monoscope-files-'));
const dir = join(root, 'proj');
let project: Project;
let runId: string;

beforeAll(() => {
  project = openProject(dir, { create: true });
  runId = project.store.runs.create({ id: 'dpo', stage: 'dpo', config: {}, backend: {}, seed: 0 });
  project.store.runs.appendMetrics(runId, 1, { loss: 0.5 });
  mkdirSync(join(dir, 'checkpoints', 'base'), { recursive: true });
  mkdirSync(join(dir, 'runs', 'dpo'), { recursive: true });
  mkdirSync(join(dir, 'saes', 'sae-1'), { recursive: true });
  mkdirSync(join(dir, '.locks'), { recursive: true });
});
afterAll(() => {
  project.close();
  rmSync(root, { recursive: true, force: true });
});

/** The files of a folder that a writer left under a temporary name. */
function temps(folder: string): string[] {
  return readdirSync(folder).filter((n) => /tmp/.test(n));
}

describe('user outputs never land in a project', () => {
  const managed = () => [
    'monoscope.db',
    'monoscope.db-wal',
    'monoscope.db-shm',
    'monoscope.db-journal',
    'checkpoints/base/model.safetensors',
    'checkpoints/new-name/config.json',
    'runs/dpo/spec.json',
    'saes/sae-1/cfg.json',
    '.locks/run.dpo.lock',
  ];

  it('refuses every exporter aimed at any managed file, leaving it as it was', () => {
    for (const rel of managed()) {
      const target = join(dir, rel);
      const before = existsSync(target) ? readFileSync(target) : undefined;
      const writers: [string, () => unknown][] = [
        ['runs.exportMetricsCsv', () => project.store.runs.exportMetricsCsv(runId, target)],
        ['writeMatrixNpy', () => writeMatrixNpy(target, { data: new Float32Array(1), rows: 1, cols: 1 })],
        ['writeRecordsCsv', () => writeRecordsCsv(target, [{ a: 1 }])],
        [
          'exportActivations',
          () =>
            exportActivations(project.store, {
              checkpoint: 'base',
              tap: 'blocks.0.mlp.post',
              format: 'csv',
              out: target,
            }),
        ],
      ];
      for (const [name, write] of writers) {
        expect(write, `${name} -> ${rel}`).toThrow(/inside the Monoscope project/);
        expect(existsSync(target) ? readFileSync(target) : undefined, `${name} -> ${rel}`).toEqual(before);
      }
    }
    expect(project.store.integrityCheck()).toEqual(['ok']);
    expect(project.store.runs.metrics(runId)).toEqual([{ step: 1, name: 'loss', value: 0.5 }]);
  });

  it('sees through a symbolic link to a managed folder, and names the path in its refusal', () => {
    const link = join(root, 'link-to-checkpoints');
    symlinkSync(join(dir, 'checkpoints'), link);
    const target = join(link, 'base', 'model.safetensors');
    expect(() => project.store.runs.exportMetricsCsv(runId, target)).toThrow(target);
  });

  it('writes exports under exports/ and outside the project', () => {
    for (const out of [join(dir, 'exports', 'm.csv'), join(dir, 'metrics.csv'), join(root, 'm.csv')]) {
      project.store.runs.exportMetricsCsv(runId, out);
      expect(readFileSync(out, 'utf8')).toBe('step,loss\n1,0.5\n');
    }
  });
});

describe('temporary files', () => {
  it('never follow a symbolic link planted at a predictable temporary name', () => {
    const folder = mkdtempSync(join(root, 'plant-'));
    const victim = join(root, 'victim.txt');
    writeFileSync(victim, 'precious');
    const out = join(folder, 'out.csv');
    for (const planted of [`${out}.tmp-${process.pid}`, `${out}.tmp`]) symlinkSync(victim, planted);
    writeAtomic(out, 'data\n');
    expect(readFileSync(victim, 'utf8')).toBe('precious');
    expect(readFileSync(out, 'utf8')).toBe('data\n');
  });

  it('refuses a folder as the target before writing, and leaves no temporary', () => {
    const folder = mkdtempSync(join(root, 'outdir-'));
    mkdirSync(join(folder, 'out.csv'));
    expect(() => writeAtomic(join(folder, 'out.csv'), 'x')).toThrow(/is a folder/);
    expect(readdirSync(folder)).toEqual(['out.csv']);
  });

  it('refuses one path named twice before writing anything', () => {
    const folder = mkdtempSync(join(root, 'twice-'));
    const out = join(folder, 'fig.svg');
    const file = { file: out, write: (fd: number) => writeAll(fd, 'x') };
    expect(() => writeFilesAtomic([file, { ...file, file: join(folder, '.', 'fig.svg') }])).toThrow(
      /named twice/,
    );
    expect(readdirSync(folder)).toEqual([]);
  });

  it('removes every temporary of a failed write', () => {
    const folder = mkdtempSync(join(root, 'fail-'));
    const files = [
      { file: join(folder, 'a'), write: (fd: number) => writeAll(fd, 'a') },
      {
        file: join(folder, 'b'),
        write: () => {
          throw new Error('disk on fire');
        },
      },
    ];
    expect(() => writeFilesAtomic(files)).toThrow(/disk on fire/);
    expect(readdirSync(folder)).toEqual([]);
  });

  it("sweeps the temporaries of dead writers from the target folder, and keeps a live writer's", () => {
    const folder = mkdtempSync(join(root, 'sweep-'));
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
      encoding: 'utf8',
    });
    const deadTemp = join(folder, `big.csv.monoscope-tmp-${dead.stdout}-0123456789abcdef`);
    const liveTemp = join(folder, `big.csv.monoscope-tmp-${process.pid}-0123456789abcdef`);
    writeFileSync(deadTemp, 'half a CSV');
    writeFileSync(liveTemp, 'being written');
    writeAtomic(join(folder, 'other.csv'), 'x');
    expect(readdirSync(folder).sort()).toEqual([
      'big.csv.monoscope-tmp-' + process.pid + '-0123456789abcdef',
      'other.csv',
    ]);
    expect(temps(folder)).toHaveLength(1);
  });
});
