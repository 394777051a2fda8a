-- Migration 005: analyses keyed by content alone. Keys stop naming checkpoints and SAEs: a tap is its
-- checkpoint's weights hash, its tap and its probe hash; an SAE in a match or subspaces key is its weights
-- hash; a comparison is its checkpoints' weights hashes; options are keyed with their defaults applied.
-- An SAE's record is found by its name alone and carries its settings. Each key is the sha256 of the
-- canonical JSON of {inputs, kind} (sorted keys, no spaces; `sha256` is a function of the store's
-- connection), so the rows below are re-keyed exactly as the code now keys them.

CREATE TEMP TABLE rekey (old TEXT PRIMARY KEY, kind TEXT NOT NULL, inputs TEXT NOT NULL);

-- Analyses of one tap, similarities, and matches and subspaces of neurons: the checkpoint names go.
INSERT INTO rekey (old, kind, inputs)
SELECT key, kind, json_remove(inputs, '$.checkpoint')
FROM analyses WHERE kind IN ('correlation', 'monosemanticity', 'sparsity');

INSERT INTO rekey (old, kind, inputs)
SELECT key, kind, json_remove(inputs, '$.a.checkpoint', '$.b.checkpoint')
FROM analyses
WHERE kind = 'similarity'
   OR (kind = 'subspaces' AND inputs -> '$.saeA' IS NULL AND inputs -> '$.saeB' IS NULL);

-- Matches: the options with their defaults (keys in sorted order).
INSERT INTO rekey (old, kind, inputs)
SELECT key, kind, json_set(
  json_remove(inputs, '$.a.checkpoint', '$.b.checkpoint'),
  '$.options',
  json_object(
    'direction', json(coalesce(inputs -> '$.options.direction', '"b-to-a"')),
    'rThreshold', json(coalesce(inputs -> '$.options.rThreshold', '0.1')),
    'rule', json(coalesce(inputs -> '$.options.rule', '"many-to-1"')),
    'sharedToken', json(coalesce(inputs -> '$.options.sharedToken', 'true')),
    'tokenFilters', json(coalesce(inputs -> '$.options.tokenFilters', 'true')),
    'topK', json(coalesce(inputs -> '$.options.topK', '5'))
  ))
FROM analyses
WHERE kind = 'match' AND inputs -> '$.saeA' IS NULL AND inputs -> '$.saeB' IS NULL;

-- SAE records: the tap they were trained on and their settings (defaults applied) move into the record; the
-- key is the name. Of several records under one name (a name reused), the newest is the one on disk.
UPDATE analyses SET result = json_set(
  result,
  '$.source', json_object(
    'checkpointHash', inputs ->> '$.checkpointHash',
    'tap', inputs ->> '$.tap',
    'probeHash', inputs ->> '$.probeHash'
  ),
  '$.settings', json_set(
    json_object(
      'kind', inputs ->> '$.kind',
      'latents', json(inputs -> '$.latents'),
      'steps', json(coalesce(inputs -> '$.steps', '1000')),
      'batchSize', json(coalesce(inputs -> '$.batchSize', '1024')),
      'lr', json(coalesce(inputs -> '$.lr', CASE inputs ->> '$.kind' WHEN 'topk' THEN '0.001' ELSE '0.0005' END)),
      'seed', json(coalesce(inputs -> '$.seed', '0'))
    ),
    CASE inputs ->> '$.kind' WHEN 'topk' THEN '$.k' ELSE '$.l1' END,
    json(CASE inputs ->> '$.kind'
      WHEN 'topk' THEN coalesce(inputs -> '$.k', '32')
      ELSE coalesce(inputs -> '$.l1', '5') END)
  ))
WHERE kind = 'sae';

INSERT INTO rekey (old, kind, inputs)
SELECT key, kind, json_object('name', inputs ->> '$.name')
FROM analyses WHERE kind = 'sae' ORDER BY created_at DESC;

-- Comparisons: the compared names (the base first when it was not among them) become the weights hashes
-- registered for them, when each checkpoint was recorded with those weights (over the comparison's probe)
-- before the comparison was made; otherwise its weights changed since, and the comparison is stale.
WITH c AS (
  SELECT key, inputs, result, created_at,
         coalesce(inputs ->> '$.base', inputs ->> '$.checkpoints[0]') AS base
  FROM analyses WHERE kind = 'compare'
), names AS (
  SELECT c.key, -1 AS pos, c.base AS name FROM c
  WHERE NOT EXISTS (SELECT 1 FROM json_each(c.inputs, '$.checkpoints') e WHERE e.value = c.base)
  UNION ALL
  SELECT c.key, e.key, e.value FROM c, json_each(c.inputs, '$.checkpoints') e
), hashed AS (
  SELECT n.key, json_group_array(ck.hash ORDER BY n.pos) AS hashes, count(*) AS n, count(ck.hash) AS known,
         sum(EXISTS (
           SELECT 1 FROM recordings r JOIN probes p ON p.id = r.probe_id
           WHERE r.checkpoint = n.name AND r.checkpoint_hash = ck.hash AND r.status = 'complete'
             AND p.hash = c.result ->> '$.probeHash' AND r.completed_at <= c.created_at
         )) AS recorded
  FROM names n JOIN c ON c.key = n.key LEFT JOIN checkpoints ck ON ck.name = n.name
  GROUP BY n.key
)
INSERT INTO rekey (old, kind, inputs)
SELECT c.key, 'compare', json_object(
  'base', (SELECT hash FROM checkpoints WHERE name = c.base),
  'checkpoints', json(h.hashes),
  'probeHash', c.result ->> '$.probeHash',
  'taps', coalesce(c.inputs ->> '$.taps', 'blocks.*.mlp.post'),
  'task', coalesce(c.inputs ->> '$.task', 'toxicity')
)
FROM c JOIN hashed h ON h.key = c.key
WHERE h.known = h.n AND h.recorded = h.n;

-- Rows already keyed by content stay as they are.
DELETE FROM rekey WHERE inputs = (SELECT inputs FROM analyses WHERE key = rekey.old);

ALTER TABLE rekey ADD COLUMN new TEXT;
UPDATE rekey SET new = sha256('{"inputs":' || inputs || ',"kind":' || json_quote(kind) || '}');

-- Copy each row under its new key (the first of several that meet under one key wins), move the arrays,
-- then drop the old rows.
INSERT OR IGNORE INTO analyses (key, kind, inputs, result, created_at)
SELECT r.new, r.kind, r.inputs, a.result, a.created_at
FROM rekey r JOIN analyses a ON a.key = r.old
ORDER BY r.rowid;

UPDATE OR IGNORE analysis_blobs SET analysis_key = (SELECT new FROM rekey WHERE old = analysis_key)
WHERE analysis_key IN (SELECT old FROM rekey);

DELETE FROM analyses WHERE key IN (SELECT old FROM rekey);

-- What the new keys cannot express goes: matches and subspaces keyed by SAE names (nothing says which
-- weights they were computed from) and comparisons whose checkpoints changed since.
DELETE FROM analyses
WHERE (kind IN ('match', 'subspaces') AND (inputs -> '$.saeA' IS NOT NULL OR inputs -> '$.saeB' IS NOT NULL))
   OR (kind = 'compare' AND inputs -> '$.probeHash' IS NULL);

DROP TABLE rekey;
