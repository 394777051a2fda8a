// Migration 008 and the checkpoints repository's new fields: rows stored before it get their architecture
// from their config (the built-in world's GPT-2s have none) and no source; a folder's checkpoint is found by
// its source and hash; registering again without the descriptive fields keeps them.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { loadMigrations, openStore } from '../../../src/core/store/store.js';

const root = mkdtempSync(join(tmpdir(), 'monoscope-ck-sources-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('migration 008 (checkpoint sources)', () => {
  it('gives rows stored before it their architecture and no source, keeping everything else', () => {
    const f = join(root, 'v7.db');
    const db = new Database(f);
    db.pragma('foreign_keys = ON');
    db.function('sha256', (text) => createHash('sha256').update(String(text)).digest('hex')); // as openStore
    for (const m of loadMigrations().filter((m) => m.version < 8))
      db.transaction(() => {
        db.exec(m.sql);
        db.pragma(`user_version = ${m.version}`);
      }).immediate();
    const insert = db.prepare(
      `INSERT INTO checkpoints (name, dir, hash, stage, config, created_at, updated_at)
       VALUES (?, ?, ?, 'base', ?, 't', 't')`,
    );
    insert.run('world', '/p/checkpoints/world', 'h1', JSON.stringify({ nLayer: 2 }));
    insert.run('neox', '/p/checkpoints/neox', 'h2', JSON.stringify({ arch: 'gpt_neox', nLayer: 2 }));
    db.close();

    const s = openStore(f);
    expect(s.schemaVersion).toBeGreaterThanOrEqual(8);
    const rows = s.checkpoints.list();
    expect(rows.map((r) => [r.name, r.arch, r.source, r.copied, r.params, r.dtype, r.bytes])).toEqual([
      ['neox', 'gpt_neox', null, false, null, null, null],
      ['world', 'gpt2', null, false, null, null, null],
    ]);
    expect(rows.find((r) => r.name === 'world')!.config).toEqual({ nLayer: 2 });
    expect(s.integrityCheck()).toEqual(['ok']);
    s.close();
  });

  it('finds a folder by source and hash, and keeps the descriptive fields when they are left out', () => {
    const s = openStore(join(root, 'fresh.db'));
    const base = { dir: '/models/tiny', hash: 'aaa', stage: 'imported', config: { arch: 'gpt2' } };
    const about = {
      source: '/models/tiny',
      copied: false,
      arch: 'gpt2',
      params: 81,
      dtype: 'BF16',
      bytes: 162,
    };
    expect(s.checkpoints.register({ name: 'tiny', ...base, ...about }).status).toBe('created');
    expect(s.checkpoints.bySource('/models/tiny', 'aaa')?.name).toBe('tiny');
    expect(s.checkpoints.bySource('/models/tiny', 'bbb')).toBeUndefined();
    expect(s.checkpoints.bySource('/models/other', 'aaa')).toBeUndefined();

    // A later registration that does not know them (a recording) keeps them.
    expect(s.checkpoints.register({ name: 'tiny', ...base }).status).toBe('unchanged');
    expect(s.checkpoints.get('tiny')).toMatchObject(about);
    // The project's copy: `dir` and `copied` change, the source stays.
    s.checkpoints.register({ name: 'tiny', ...base, dir: '/p/checkpoints/tiny', copied: true });
    expect(s.checkpoints.get('tiny')).toMatchObject({ ...about, dir: '/p/checkpoints/tiny', copied: true });
    // createOnly never takes over a registered name: a second writer that picked the same free name for
    // other weights is told `taken`, and the first one's row and recordings stay as they were.
    expect(s.checkpoints.register({ name: 'tiny', ...base, hash: 'zzz' }, { createOnly: true }).status).toBe(
      'taken',
    );
    expect(s.checkpoints.get('tiny')).toMatchObject({ hash: 'aaa', dir: '/p/checkpoints/tiny' });
    expect(s.checkpoints.register({ name: 'fresh', ...base }, { createOnly: true }).status).toBe('created');
    // A checkpoint the project wrote has no source.
    s.checkpoints.register({ name: 'own', ...base, hash: 'ccc' });
    expect(s.checkpoints.get('own')).toMatchObject({ source: null, copied: false, arch: null });
    s.close();
  });
});
