import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
  copyFileSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import {
  APPLICATION_ID,
  latestSchemaVersion,
  loadMigrations,
  openStore,
  StoreError,
} from '../../../src/core/store/store.js';
import { openProject } from '../../../src/core/store/project.js';

const root = mkdtempSync(join(tmpdir(), 'monoscope-store-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const fresh = (): string => join(root, `s${n++}.db`);
const sha = (f: string): string => createHash('sha256').update(readFileSync(f)).digest('hex');

function refused(file: string, code: string, pattern: RegExp, opts = {}): void {
  try {
    openStore(file, opts).close();
  } catch (e) {
    expect(e).toBeInstanceOf(StoreError);
    expect((e as StoreError).code).toBe(code);
    expect((e as Error).message).toContain(file);
    expect((e as Error).message).toMatch(pattern);
    return;
  }
  expect.fail(`${file} was opened`);
}

describe('openStore', () => {
  it('creates a WAL-mode store at the latest schema, marked as Monoscope', () => {
    const f = fresh();
    const s = openStore(f);
    expect(s.schemaVersion).toBe(latestSchemaVersion());
    expect(latestSchemaVersion()).toBeGreaterThanOrEqual(4);
    expect(s.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect((s.db.pragma('application_id', { simple: true }) as number) >>> 0).toBe(APPLICATION_ID);
    const tables = s.db
      .prepare(`SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name`)
      .pluck()
      .all();
    expect(tables).toEqual(
      expect.arrayContaining([
        'runs',
        'metrics',
        'checkpoints',
        'probes',
        'probe_sequences',
        'recordings',
        'activation_tiles',
        'neuron_stats',
        'neuron_examples',

        'concept_means',
        'analyses',
        'analysis_blobs',
        'figures',
      ]),
    );
    expect(s.integrityCheck()).toEqual(['ok']);
    s.close();
    // Reopening applies nothing and keeps the data.
    const again = openStore(f);
    expect(again.db.prepare(`SELECT value FROM store_info WHERE key = 'format'`).pluck().get()).toBe(
      'monoscope-store',
    );
    again.close();
  });

  it('initialises an empty file and an empty SQLite database', () => {
    const empty = fresh();
    writeFileSync(empty, '');
    openStore(empty).close();
    const blank = fresh();
    new Database(blank).close();
    const s = openStore(blank);
    expect(s.schemaVersion).toBe(latestSchemaVersion());
    s.close();
  });

  it('migrates an older store step by step', () => {
    const f = fresh();
    const db = new Database(f);
    db.exec(
      readFileSync(new URL('../../../src/core/store/migrations/001_runs.sql', import.meta.url), 'utf8'),
    );
    db.pragma('user_version = 1');
    db.prepare(
      `INSERT INTO runs (id, stage, config, backend, seed, created_at, updated_at) VALUES ('r1', 'dpo', '{}', '{}', 1, 'x', 'x')`,
    ).run();
    db.close();
    refused(f, 'needs-migration', /needs upgrading/, { readonly: true });
    const s = openStore(f);
    expect(s.schemaVersion).toBe(latestSchemaVersion());
    expect(s.runs.get('r1')?.stage).toBe('dpo');
    s.close();
  });

  it('refuses a file of random bytes', () => {
    const f = fresh();
    writeFileSync(f, Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7919) % 251)));
    refused(f, 'not-sqlite', /not a Monoscope store \(not a SQLite database/);
  });

  it('refuses a truncated store', () => {
    const f = fresh();
    const s = openStore(f);
    s.runs.create({ id: 'r', stage: 'base', config: { big: 'x'.repeat(50_000) }, backend: {}, seed: 0 });
    s.checkpointWal();
    s.close();
    const size = statSync(f).size;
    truncateSync(f, Math.floor(size / 2));
    refused(f, 'truncated', /truncated/);
  });

  it("waits for another connection's checkpoint that grows a file shorter than its header", () => {
    const f = fresh();
    const s = openStore(f);
    s.runs.create({ id: 'r', stage: 'base', config: { big: 'x'.repeat(50_000) }, backend: {}, seed: 0 });
    s.checkpointWal();
    s.close();
    const full = readFileSync(f);
    // Mid-checkpoint as another process leaves it: page 1 already says the new size, the file is still
    // short, and the log holds frames. A second process finishes "its checkpoint" 1.5 s later (longer than any fixed wait would allow).
    truncateSync(f, Math.floor(full.length / 2));
    writeFileSync(`${f}-wal`, Buffer.alloc(4096, 1));
    const finisher = spawn(process.execPath, [
      '-e',
      `const fs = require('fs'); setTimeout(() => { fs.writeFileSync(${JSON.stringify(f)}, fs.readFileSync(${JSON.stringify(`${f}.full`)})); fs.rmSync(${JSON.stringify(`${f}-wal`)}); }, 1500);`,
    ]);
    writeFileSync(`${f}.full`, full);
    const t0 = Date.now();
    const reopened = openStore(f);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1400);
    expect(reopened.runs.get('r')?.id).toBe('r');
    reopened.close();
    finisher.kill();
  });

  it('refuses a store whose pages are garbage', () => {
    const f = fresh();
    const s = openStore(f);
    s.checkpointWal();
    s.close();
    const buf = readFileSync(f);
    for (let i = 100; i < buf.length; i++) buf[i] = (i * 31) & 0xff; // keep the header, wreck every page
    writeFileSync(f, buf);
    refused(f, 'corrupt', /corrupt/);
  });

  it('refuses a foreign SQLite file and leaves it as it was', () => {
    const f = fresh();
    const db = new Database(f);
    db.exec(`CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO users VALUES (1, 'ann');`);
    db.close();
    const before = sha(f);
    refused(f, 'foreign', /not a Monoscope store.*tables: users/);
    expect(sha(f)).toBe(before);
  });

  it('refuses a store from a newer Monoscope and leaves it byte for byte unmodified', () => {
    const f = fresh();
    openStore(f).close();
    const db = new Database(f);
    db.pragma('journal_mode = DELETE');
    db.pragma(`user_version = ${latestSchemaVersion() + 1}`);
    db.close();
    const before = sha(f);
    refused(f, 'newer-schema', new RegExp(`schema version ${latestSchemaVersion() + 1}.*newer Monoscope`));
    refused(f, 'newer-schema', /upgrade/, { readonly: true });
    expect(sha(f)).toBe(before);
    expect(existsSync(`${f}-wal`)).toBe(false);
  });

  it('opens read-only without writing, and refuses writes there', () => {
    const f = fresh();
    openStore(f).close();
    const s = openStore(f, { readonly: true });
    expect(() => s.runs.create({ stage: 'base', config: {}, backend: {}, seed: 0 })).toThrow(/read-only/);
    s.close();
    refused(join(root, 'missing.db'), 'not-found', /no such store/, { readonly: true });
  });

  it('opens a project folder with its sub-folders', () => {
    const dir = join(root, 'proj');
    const p = openProject(dir, { create: true });
    for (const sub of ['checkpoints', 'runs', 'saes', 'exports'])
      expect(existsSync(join(dir, sub))).toBe(true);
    expect(p.checkpointDir('dpo-1')).toBe(join(dir, 'checkpoints', 'dpo-1'));
    expect(() => p.checkpointDir('../evil')).toThrow(/checkpoint name/);
    expect(existsSync(join(dir, 'monoscope.db'))).toBe(true);
    p.close();
    const copy = join(root, 'copy.db');
    copyFileSync(join(dir, 'monoscope.db'), copy);
    openStore(copy, { readonly: true }).close();
  });
});

describe('migration 006 (runs can be interrupted)', () => {
  it('rebuilds runs and metrics keeping every row, the cascade, and nothing else', () => {
    const f = join(root, 'v5.db');
    const db = new Database(f);
    db.pragma('foreign_keys = ON');
    db.function('sha256', (text) => createHash('sha256').update(String(text)).digest('hex')); // as openStore
    for (const m of loadMigrations().slice(0, 5))
      db.transaction(() => {
        db.exec(m.sql);
        db.pragma(`user_version = ${m.version}`);
      }).immediate();
    db.prepare(
      `INSERT INTO runs (id, stage, config, backend, seed, status, created_at, updated_at)
       VALUES ('dpo', 'dpo', '{}', '{}', 0, 'running', 't', 't')`,
    ).run();
    db.prepare(`INSERT INTO metrics VALUES ('dpo', 'loss', 1, 0.5), ('dpo', 'loss', 2, NULL)`).run();
    db.close();

    const s = openStore(f);
    expect(s.schemaVersion).toBeGreaterThanOrEqual(6);
    expect(s.runs.metrics('dpo')).toEqual([
      { step: 1, name: 'loss', value: 0.5 },
      { step: 2, name: 'loss', value: NaN },
    ]);
    expect(s.db.pragma('foreign_key_check')).toEqual([]);
    expect(s.integrityCheck()).toEqual(['ok']);
    expect(s.runs.markInterrupted('dpo', 'killed')).toBe(true);
    expect(s.runs.get('dpo')).toMatchObject({ status: 'interrupted', message: 'killed' });
    expect(s.runs.markInterrupted('dpo', 'again')).toBe(false); // only a running run
    s.runs.remove('dpo');
    expect(s.db.prepare('SELECT count(*) FROM metrics').pluck().get()).toBe(0);
    expect(
      s.db.prepare(`SELECT name FROM sqlite_schema WHERE name LIKE '%_new' OR name LIKE '%before%'`).all(),
    ).toEqual([]);
    s.close();
  });
});
