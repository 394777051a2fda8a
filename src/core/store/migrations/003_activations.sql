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

-- Per-neuron statistics over all rows: population mean and std (Welford/Chan), extremes, and the fraction
-- of rows above the active threshold. mean, std, min and max are NULL when the neuron produced a NaN.
-- (The histogram is binned from the neuron's vector when read: 50 bins over [min, max] cost 0.05 ms for
-- 20,000 tokens, and recording saves a second pass over every value.)
CREATE TABLE neuron_stats (
  recording_id INTEGER NOT NULL REFERENCES recordings (id) ON DELETE CASCADE,
  neuron INTEGER NOT NULL,
  mean REAL,
  std REAL,
  min REAL,
  max REAL,
  density REAL NOT NULL,
  PRIMARY KEY (recording_id, neuron)
) STRICT, WITHOUT ROWID;

-- A neuron's examples, as arrays (one row per neuron, so the neuron page reads them at once):
-- the top-k rows by activation, best first (special tokens excluded by default), and S samples from each of
-- G quantile groups of its active values (above the threshold): group g holds quantiles [g / G, (g + 1) / G]
-- of a fixed-size random sample of the active rows, with that group's value range. Row -1 = no sample.
CREATE TABLE neuron_examples (
  recording_id INTEGER NOT NULL REFERENCES recordings (id) ON DELETE CASCADE,
  neuron INTEGER NOT NULL,
  top_rows BLOB NOT NULL,          -- int32 little-endian [k]
  top_values BLOB NOT NULL,        -- float32 little-endian [k]
  quantile_rows BLOB NOT NULL,     -- int32 [G * S], group by group
  quantile_values BLOB NOT NULL,   -- float32 [G * S]
  quantile_ranges BLOB NOT NULL,   -- float32 [G * 2]: lowest and highest value of each group (NaN if empty)
  PRIMARY KEY (recording_id, neuron)
) STRICT;

-- A neuron's mean activation over the tokens labelled with each concept of the probe set (concepts with
-- no token are left out; NULL = NaN).
CREATE TABLE concept_means (
  recording_id INTEGER NOT NULL REFERENCES recordings (id) ON DELETE CASCADE,
  neuron INTEGER NOT NULL,
  concept TEXT NOT NULL,
  mean REAL,
  PRIMARY KEY (recording_id, neuron, concept)
) STRICT, WITHOUT ROWID;
