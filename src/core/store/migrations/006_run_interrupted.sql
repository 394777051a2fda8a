-- Migration 006: a run can be `interrupted`: its writer was killed (its lock was found stale), so it
-- neither finished nor failed, and running it again resumes it. SQLite cannot change a CHECK constraint in
-- place, so `runs` is rebuilt with the same columns and rows, and `metrics` with it: a table is dropped only
-- once no other table refers to it, so no ON DELETE CASCADE fires, and renaming `runs_new` to `runs`
-- points `metrics_new`'s reference at the new name.

-- One training run (from the CLI or the app): its whole config, the backend it ran on, its seed, and where
-- it stands. `status` moves running -> completed | failed | cancelled | interrupted; `message` says why it
-- stopped.
CREATE TABLE runs_new (
  id TEXT PRIMARY KEY,
  stage TEXT NOT NULL,             -- base, sft, dpo, decpo, simpo, l1, ...
  task TEXT,                       -- the preference task or corpus, free text
  config TEXT NOT NULL,            -- JSON: every training setting
  backend TEXT NOT NULL,           -- JSON: the TF.js backend, device and versions
  seed INTEGER NOT NULL,
  parent_checkpoint TEXT,          -- name of the checkpoint the run started from
  status TEXT NOT NULL DEFAULT 'running'
    CHECK (status IN ('running', 'completed', 'failed', 'cancelled', 'interrupted')),
  message TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
) STRICT;
INSERT INTO runs_new SELECT * FROM runs;

-- Training metrics, one value per (run, name, step), under TRL's names (`loss`, `rewards/margins`, ...)
-- plus `decorr/*`. Writing the same (run, name, step) again replaces the value, so a resumed run can re-log
-- a step. A NULL value is a NaN.
CREATE TABLE metrics_new (
  run_id TEXT NOT NULL REFERENCES runs_new (id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  step INTEGER NOT NULL,
  value REAL,
  PRIMARY KEY (run_id, name, step)
) STRICT, WITHOUT ROWID;
INSERT INTO metrics_new SELECT run_id, name, step, value FROM metrics;

DROP TABLE metrics;
DROP TABLE runs;
ALTER TABLE runs_new RENAME TO runs;
ALTER TABLE metrics_new RENAME TO metrics;
