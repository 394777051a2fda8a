import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { openProject } from '../../../src/core/store/project.js';
import { StoreError } from '../../../src/core/store/store.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'monoscope-project-'));
afterAll(() => {
  chmodAll(root, 0o755, 0o644);
  rmSync(root, { recursive: true, force: true });
});

/** Sets the mode of every folder and file under `dir` (the folder itself included). */
function chmodAll(dir: string, dirMode: number, fileMode: number): void {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) chmodAll(p, dirMode, fileMode);
    else chmodSync(p, fileMode);
  }
  chmodSync(dir, dirMode);
}

/** The error `fn` throws. */
function thrown(fn: () => unknown): StoreError {
  try {
    fn();
  } catch (e) {
    return e as StoreError;
  }
  throw new Error('expected an error');
}

/** A project with one run and one metric, closed. */
function makeProject(dir: string): void {
  const p = openProject(dir, { create: true });
  p.store.runs.create({ id: 'dpo', stage: 'dpo', config: {}, backend: {}, seed: 0 });
  p.store.runs.appendMetrics('dpo', 1, { loss: 0.5 });
  p.close();
}

describe('missing projects', () => {
  it('refuses a folder without a store, naming it, and creates nothing', () => {
    const typo = join(root, 'typo', 'proj');
    const e = thrown(() => openProject(typo));
    expect(e.code).toBe('not-found');
    expect(e.message).toContain(`${typo}: no Monoscope project here (no monoscope.db)`);
    expect(existsSync(join(root, 'typo'))).toBe(false);

    const empty = join(root, 'empty');
    mkdirSync(empty);
    expect(thrown(() => openProject(empty)).code).toBe('not-found');
    expect(readdirSync(empty)).toEqual([]);
  });

  it('creates a project only when asked to', () => {
    const dir = join(root, 'new');
    openProject(dir, { create: true }).close();
    expect(readdirSync(dir).sort()).toEqual(['checkpoints', 'exports', 'monoscope.db', 'runs', 'saes']);
    openProject(dir).close();
  });

  it('creates no folder beside a store it refuses', () => {
    const dir = join(root, 'foreign');
    mkdirSync(dir);
    const db = new Database(join(dir, 'monoscope.db'));
    db.exec('CREATE TABLE other (x)');
    db.close();
    expect(thrown(() => openProject(dir, { create: true })).code).toBe('foreign');
    expect(readdirSync(dir)).toEqual(['monoscope.db']);
  });

  it('names the file of a corrupt store when a read finds a damaged page', () => {
    const dir = join(root, 'corrupt');
    const p = openProject(dir, { create: true });
    for (let i = 0; i < 40; i++)
      p.store.runs.create({
        id: `r${i}`,
        stage: 'dpo',
        config: { pad: 'x'.repeat(2000) },
        backend: {},
        seed: 0,
      });
    p.close();
    const file = join(dir, 'monoscope.db');
    const db = new Database(file);
    const pages = db.pragma('page_count', { simple: true }) as number;
    db.close();
    expect(pages).toBeGreaterThan(10);
    const bytes = Buffer.alloc(4096 * 4, 0x55);
    const fd = openSync(file, 'r+');
    writeSync(fd, bytes, 0, bytes.length, 4096 * 3);
    closeSync(fd);
    const q = openProject(dir);
    const e = thrown(() => q.store.runs.list());
    q.close();
    expect(e.code).toBe('corrupt');
    expect(e.message).toContain(file);
  });
});

describe('opening a writable project', () => {
  it("sweeps the temporary files and folders that killed writers left, and keeps a live writer's", () => {
    const dir = join(root, 'sweep');
    makeProject(dir);
    const dead = Number(
      spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout,
    );
    const left = [
      `checkpoints/dpo.monoscope-tmp-${dead}-0123456789abcdef/model.safetensors`,
      `runs/dpo/state.monoscope-tmp-${dead}-0123456789abcdef/state.json`,
      `exports/big.csv.monoscope-tmp-${dead}-0123456789abcdef`,
      `saes/s1/cfg.json.monoscope-tmp-${dead}-0123456789abcdef`,
    ];
    const live = `exports/other.csv.monoscope-tmp-${process.pid}-0123456789abcdef`;
    for (const rel of [...left, live]) {
      mkdirSync(dirname(join(dir, rel)), { recursive: true });
      writeFileSync(join(dir, rel), 'partial');
    }
    openProject(dir).close();
    expect(readdirSync(join(dir, 'checkpoints'))).toEqual([]);
    expect(readdirSync(join(dir, 'runs', 'dpo'))).toEqual([]);
    expect(readdirSync(join(dir, 'saes', 's1'))).toEqual([]);
    expect(readdirSync(join(dir, 'exports'))).toEqual([basename(live)]);
  });
});

describe('read-only projects', () => {
  it('opens a read-only store for reading, and refuses writes saying so', () => {
    const dir = join(root, 'ro-option');
    makeProject(dir);
    const p = openProject(dir, { readonly: true });
    expect(p.store.runs.metrics('dpo')).toEqual([{ step: 1, name: 'loss', value: 0.5 }]);
    const e = thrown(() => p.store.runs.appendMetrics('dpo', 2, { loss: 0.1 }));
    p.close();
    expect(e.code).toBe('read-only');
    expect(e.message).toMatch(
      /monoscope\.db: cannot write: the store is open read-only; nothing was written/,
    );
  });

  // Root may write anything, so the process that meets the read-only files is another user's (root can
  // start one); run by another user, the test meets them itself.
  it('reads a project whose folder and files may not be written, and says why a write is refused', () => {
    const dir = join(root, 'ro-files');
    makeProject(dir);
    chmodAll(root, 0o755, 0o644);
    chmodAll(dir, 0o555, 0o444);
    const asOther = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'test/unit/store/readonly-child.ts', dir], {
      cwd: repo,
      encoding: 'utf8',
      ...asOther,
    });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({
      readonly: true,
      runs: ['dpo'],
      metrics: [{ step: 1, name: 'loss', value: 0.5 }],
      writeError: { code: 'read-only' },
    });
    expect(out.writeError.message).toContain(`cannot write: ${dir} is read-only`);
    expect(readdirSync(dir).sort()).toEqual(['checkpoints', 'exports', 'monoscope.db', 'runs', 'saes']);
  });
});
