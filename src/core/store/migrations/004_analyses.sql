-- Migration 004: analysis results (reused when their inputs match) and figure exports.

-- An analysis result, keyed by the sha256 of the canonical JSON of {kind, inputs}. Inputs name checkpoint
-- hashes and settings, so a result is reused only for exactly the same inputs.
CREATE TABLE analyses (
  key TEXT PRIMARY KEY,
  kind TEXT NOT NULL,              -- svcca, correlation, mono-score, sae, ...
  inputs TEXT NOT NULL,            -- JSON
  result TEXT NOT NULL,            -- JSON
  created_at TEXT NOT NULL
) STRICT;

-- Large numeric parts of an analysis result (matrices, vectors), stored as float32 little-endian.
CREATE TABLE analysis_blobs (
  analysis_key TEXT NOT NULL REFERENCES analyses (key) ON DELETE CASCADE,
  name TEXT NOT NULL,
  data BLOB NOT NULL,
  PRIMARY KEY (analysis_key, name)
) STRICT;

-- Every figure exported (app or CLI): which figure, the format and file written, and its options.
CREATE TABLE figures (
  id INTEGER PRIMARY KEY,
  figure TEXT NOT NULL,
  format TEXT NOT NULL,            -- svg, png, csv, json
  file TEXT NOT NULL,
  options TEXT NOT NULL,           -- JSON
  created_at TEXT NOT NULL
) STRICT;
