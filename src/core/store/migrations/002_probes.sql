-- Migration 002: probe sets, the fixed token sequences every checkpoint is recorded on.

-- A probe set, known by the content hash of its ids and labels. Its tokens, sequence after sequence, are
-- the rows of every recording over it.
CREATE TABLE probes (
  id INTEGER PRIMARY KEY,
  hash TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,              -- `builtin` or the source file's name
  concepts TEXT NOT NULL,          -- JSON array of concept names, sorted; token labels index into it
  n_sequences INTEGER NOT NULL,
  n_tokens INTEGER NOT NULL,
  created_at TEXT NOT NULL
) STRICT;

-- One sequence of a probe set. `row_start` is the row of its first token in every recording.
CREATE TABLE probe_sequences (
  probe_id INTEGER NOT NULL REFERENCES probes (id) ON DELETE CASCADE,
  seq INTEGER NOT NULL,
  row_start INTEGER NOT NULL,
  ids BLOB NOT NULL,               -- int32 little-endian token ids
  concepts BLOB NOT NULL,          -- int16 little-endian per token: index into probes.concepts, -1 = none
  PRIMARY KEY (probe_id, seq)
) STRICT;
