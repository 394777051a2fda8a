-- Migration 008: checkpoints from anywhere. A folder outside the project (a Hugging Face download, another
-- project's checkpoint) is registered on first use by its weights' content hash, its architecture and its
-- source path, without copying its weights unless asked; a folder whose content changed is registered again
-- as a new checkpoint. Each checkpoint also keeps what `monoscope checkpoints` lists: architecture,
-- parameters, dtype and size.

-- The folder a checkpoint was registered from, when the project did not write it (NULL: written by the
-- project, in checkpoints/NAME). `dir` is where its weights are read: the source itself, or the project's
-- copy when `copied` is 1.
ALTER TABLE checkpoints ADD COLUMN source TEXT;
ALTER TABLE checkpoints ADD COLUMN copied INTEGER NOT NULL DEFAULT 0 CHECK (copied IN (0, 1));
-- Hugging Face `model_type` (gpt2, gpt_neox, llama, ...).
ALTER TABLE checkpoints ADD COLUMN arch TEXT;
-- Number of parameters, the dtype the weights are stored in (F32, F16, BF16, F64 or mixed), and the bytes
-- of the weight files. NULL for checkpoints registered before this migration until they are registered
-- again.
ALTER TABLE checkpoints ADD COLUMN n_params INTEGER;
ALTER TABLE checkpoints ADD COLUMN dtype TEXT;
ALTER TABLE checkpoints ADD COLUMN bytes INTEGER;

-- Configs stored before architectures had names are the built-in world's GPT-2s.
UPDATE checkpoints SET arch = coalesce(json_extract(config, '$.arch'), 'gpt2');

-- A source folder's content is found by its path and hash.
CREATE INDEX checkpoints_by_source ON checkpoints (source, hash);
