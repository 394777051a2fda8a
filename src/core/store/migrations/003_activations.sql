-- Migration 003: recorded activations and the per-neuron statistics computed while recording.

-- One tap of one checkpoint over one probe set. Rows are the probe's tokens in order (sequence by
-- sequence), columns its neurons. It is written batch by batch: batch b covers sequences
-- [b * batch_size, (b + 1) * batch_size), and `batches_done` counts the committed ones, so an interrupted
-- recording resumes at batch `batches_done`. Statistics exist once `status` is `complete`.
CREATE TABLE recordings (
  id INTEGER PRIMARY KEY,
  checkpoint TEXT NOT NULL REFERENCES checkpoints (name) ON DELETE CASCADE,
  checkpoint_hash TEXT NOT NULL,   -- the weights recorded; a new hash under the name drops the recording
  probe_id INTEGER NOT NULL REFERENCES probes (id),
  tap TEXT NOT NULL,               -- blocks.{i}.mlp.post, blocks.{i}.mlp.pre, blocks.{i}.resid_post
  dtype TEXT NOT NULL CHECK (dtype IN ('float16', 'float32')),
  n_rows INTEGER NOT NULL,
  n_neurons INTEGER NOT NULL,
  batch_size INTEGER NOT NULL,     -- sequences per batch
  n_batches INTEGER NOT NULL,
  batches_done INTEGER NOT NULL DEFAULT 0,
  status TEXT NOT NULL DEFAULT 'recording' CHECK (status IN ('recording', 'complete')),
  settings TEXT NOT NULL,          -- JSON: topK, context, activeThreshold, histogramBins, quantile groups, ...
  backend TEXT,                    -- JSON: the TF.js backend that ran the forward pass
  created_at TEXT NOT NULL,
  completed_at TEXT,
  UNIQUE (checkpoint, probe_id, tap)
) STRICT;

-- The activations, as tiles: one neuron's values over the rows of one batch, contiguous. A neuron's vector
-- is its tiles in batch order (one short index range); a whole tap is every tile of the recording.
CREATE TABLE activation_tiles (
  recording_id INTEGER NOT NULL REFERENCES recordings (id) ON DELETE CASCADE,
  neuron INTEGER NOT NULL,
  batch INTEGER NOT NULL,
  row_start INTEGER NOT NULL,      -- the tile covers rows [row_start, row_start + length)
  data BLOB NOT NULL,              -- little-endian float16 (2 bytes a value) or float32 (4), per recordings.dtype
  PRIMARY KEY (recording_id, neuron, batch)
) STRICT;

-- Per-neuron statistics over all rows: population mean and std (Welford/Chan), extremes, the fraction of
-- rows above the active threshold, and a histogram of `bins` equal bins over [hist_lo, hist_hi] = [min, max].
-- mean and std are NULL when the neuron produced a NaN; NaNs are left out of extremes and the histogram.
CREATE TABLE neuron_stats (
  recording_id INTEGER NOT NULL REFERENCES recordings (id) ON DELETE CASCADE,
  neuron INTEGER NOT NULL,
  mean REAL,
  std REAL,
  min REAL NOT NULL,
  max REAL NOT NULL,
  density REAL NOT NULL,
  hist_lo REAL NOT NULL,
  hist_hi REAL NOT NULL,
  histogram BLOB NOT NULL,         -- uint32 little-endian counts, one per bin
  PRIMARY KEY (recording_id, neuron)
) STRICT;

-- The k rows where a neuron is largest (special tokens excluded by default), rank 0 first.
CREATE TABLE top_examples (
  recording_id INTEGER NOT NULL REFERENCES recordings (id) ON DELETE CASCADE,
  neuron INTEGER NOT NULL,
  rank INTEGER NOT NULL,
  row INTEGER NOT NULL,
  value REAL NOT NULL,
  PRIMARY KEY (recording_id, neuron, rank)
) STRICT, WITHOUT ROWID;

-- Samples from the quantile groups of a neuron's active values (above the threshold): group g holds
-- quantiles [g / G, (g + 1) / G] of a fixed-size random sample of its active rows, with that group's value
-- range [group_lo, group_hi].
CREATE TABLE quantile_samples (
  recording_id INTEGER NOT NULL REFERENCES recordings (id) ON DELETE CASCADE,
  neuron INTEGER NOT NULL,
  grp INTEGER NOT NULL,
  sample INTEGER NOT NULL,
  row INTEGER NOT NULL,
  value REAL NOT NULL,
  group_lo REAL NOT NULL,
  group_hi REAL NOT NULL,
  PRIMARY KEY (recording_id, neuron, grp, sample)
) STRICT, WITHOUT ROWID;

-- A neuron's mean activation over the tokens labelled with each concept of the probe set (concepts with
-- no token are left out; NULL = NaN).
CREATE TABLE concept_means (
  recording_id INTEGER NOT NULL REFERENCES recordings (id) ON DELETE CASCADE,
  neuron INTEGER NOT NULL,
  concept TEXT NOT NULL,
  mean REAL,
  PRIMARY KEY (recording_id, neuron, concept)
) STRICT, WITHOUT ROWID;
