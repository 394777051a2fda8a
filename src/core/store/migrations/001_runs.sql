-- Migration 001: the file's identity, training runs with their metrics, and checkpoints.
-- Every migration runs inside one transaction, and the store then sets PRAGMA user_version to its number.

-- 'MONO' in ASCII: marks the file as a Monoscope store (a foreign SQLite file has another application_id).
PRAGMA application_id = 1297043023;

-- Facts about the file itself (format name, creation time), for people who open it with other tools.
CREATE TABLE store_info (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
) STRICT;

INSERT INTO store_info (key, value) VALUES
  ('format', 'monoscope-store'),
  ('created_at', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));

-- One training run (from the CLI or the app): its whole config, the backend it ran on, its seed, and where
-- it stands. `status` moves running -> completed | failed | cancelled; `message` says why it stopped.
CREATE TABLE runs (
  id TEXT PRIMARY KEY,
  stage TEXT NOT NULL,             -- base, sft, dpo, decpo, simpo, l1, ...
  task TEXT,                       -- the preference task or corpus, free text
  config TEXT NOT NULL,            -- JSON: every training setting
  backend TEXT NOT NULL,           -- JSON: the TF.js backend, device and versions
  seed INTEGER NOT NULL,
  parent_checkpoint TEXT,          -- name of the checkpoint the run started from
  status TEXT NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'completed', 'failed', 'cancelled')),
  message TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
) STRICT;

-- Training metrics, one value per (run, name, step), under TRL's names (`loss`, `rewards/margins`, ...)
-- plus `decorr/*`. Writing the same (run, name, step) again replaces the value, so a resumed run can re-log
-- a step. A NULL value is a NaN.
CREATE TABLE metrics (
  run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  step INTEGER NOT NULL,
  value REAL,
  PRIMARY KEY (run_id, name, step)
) STRICT, WITHOUT ROWID;

-- A checkpoint folder of the project (safetensors + config.json, see src/core/model/checkpoint.ts), known by
-- name. `hash` is the sha256 of model.safetensors: recordings and analyses are tied to it.
CREATE TABLE checkpoints (
  name TEXT PRIMARY KEY,
  dir TEXT NOT NULL,
  hash TEXT NOT NULL,
  stage TEXT NOT NULL,             -- base, sft, dpo, decpo, ..., or imported
  run_id TEXT,                     -- the run that wrote it, if any
  parent TEXT,                     -- the checkpoint it was trained from, if any
  config TEXT NOT NULL,            -- JSON: the model config (GPTConfig)
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
) STRICT;
