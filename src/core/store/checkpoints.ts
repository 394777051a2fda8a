/**
 * The project's checkpoints, known by name. Registering is idempotent for the same name and weights hash;
 * a new hash under a known name is an update, and it drops the recordings of the old weights (their
 * activations, statistics and examples), which no longer describe the checkpoint. A checkpoint registered
 * from a folder outside the project keeps its `source` (see migration 008), and is found by it.
 */
import { StoreError, nowIso, type StoreContext } from './store.js';

export interface CheckpointInput {
  name: string;
  dir: string;
  /** sha256 of model.safetensors. */
  hash: string;
  stage: string;
  runId?: string;
  parent?: string;
  config: object;
  /** The folder it was registered from, when the project did not write it (kept when left out). */
  source?: string;
  /** Whether `dir` is the project's copy of `source` (kept when left out). */
  copied?: boolean;
  /** What it is (kept when left out): `model_type`, parameters, stored dtype, bytes of the weight files. */
  arch?: string;
  params?: number;
  dtype?: string;
  bytes?: number;
}

export interface CheckpointRecord {
  name: string;
  dir: string;
  hash: string;
  stage: string;
  runId: string | null;
  parent: string | null;
  config: Record<string, unknown>;
  source: string | null;
  copied: boolean;
  arch: string | null;
  params: number | null;
  dtype: string | null;
  bytes: number | null;
  createdAt: string;
  updatedAt: string;
}

export interface RegisterResult {
  /**
   * `created`: a new name; `unchanged`: same name and hash; `updated`: same name, new weights; `taken`: the
   * name was already registered and `createOnly` left it as it was.
   */
  status: 'created' | 'unchanged' | 'updated' | 'taken';
  /** Recordings of the old weights that were deleted (only for `updated`). */
  droppedRecordings: number;
}

interface CheckpointRow {
  name: string;
  dir: string;
  hash: string;
  stage: string;
  run_id: string | null;
  parent: string | null;
  config: string;
  source: string | null;
  copied: number;
  arch: string | null;
  n_params: number | null;
  dtype: string | null;
  bytes: number | null;
  created_at: string;
  updated_at: string;
}

/** Checkpoint names are folder names: letters, digits, '.', '_', '-'. */
export function checkName(name: string): void {
  if (typeof name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name) || name.length > 200) {
    throw new StoreError(
      'invalid',
      `checkpoint name ${JSON.stringify(name)}: use letters, digits, '.', '_' and '-' (it is a folder name)`,
    );
  }
}

/** The project's checkpoints by name. */
export class CheckpointsRepo {
  constructor(private readonly ctx: StoreContext) {}

  /**
   * Adds or updates a checkpoint (see the module comment for what an update drops). With `createOnly` a
   * name that is already registered is left untouched (`taken`), in the same transaction that looked: two
   * writers picking the same free name never overwrite each other.
   */
  register(c: CheckpointInput, opts: { createOnly?: boolean } = {}): RegisterResult {
    checkName(c.name);
    for (const k of ['dir', 'hash', 'stage'] as const) {
      if (typeof c[k] !== 'string' || !c[k])
        throw new StoreError('invalid', `checkpoint '${c.name}': field '${k}' must be a non-empty string`);
    }
    const db = this.ctx.db;
    return this.ctx.write(() => {
      const old = db.prepare('SELECT hash FROM checkpoints WHERE name = ?').get(c.name) as
        { hash: string } | undefined;
      if (old && opts.createOnly) return { status: 'taken', droppedRecordings: 0 };
      const now = nowIso();
      const fields = [c.dir, c.hash, c.stage, c.runId ?? null, c.parent ?? null, JSON.stringify(c.config)];
      const about = [
        c.source ?? null,
        c.copied === undefined ? null : Number(c.copied),
        c.arch ?? null,
        c.params ?? null,
        c.dtype ?? null,
        c.bytes ?? null,
      ];
      if (!old) {
        db.prepare(
          `INSERT INTO checkpoints (name, dir, hash, stage, run_id, parent, config, source, copied, arch, n_params,
             dtype, bytes, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, coalesce(?, 0), ?, ?, ?, ?, ?, ?)`,
        ).run(c.name, ...fields, ...about, now, now);
        return { status: 'created', droppedRecordings: 0 };
      }
      db.prepare(
        `UPDATE checkpoints SET dir = ?, hash = ?, stage = ?, run_id = ?, parent = ?, config = ?,
           source = coalesce(?, source), copied = coalesce(?, copied), arch = coalesce(?, arch),
           n_params = coalesce(?, n_params), dtype = coalesce(?, dtype), bytes = coalesce(?, bytes),
           updated_at = ?
         WHERE name = ?`,
      ).run(...fields, ...about, now, c.name);
      if (old.hash === c.hash) return { status: 'unchanged', droppedRecordings: 0 };
      const dropped = db
        .prepare('DELETE FROM recordings WHERE checkpoint = ? AND checkpoint_hash <> ?')
        .run(c.name, c.hash).changes;
      return { status: 'updated', droppedRecordings: dropped };
    });
  }

  /** Records that run `runId` wrote checkpoint `name` (a run brought in with its checkpoint). */
  linkRun(name: string, runId: string): void {
    this.ctx.write(() => {
      const changed = this.ctx.db
        .prepare('UPDATE checkpoints SET run_id = ?, updated_at = ? WHERE name = ?')
        .run(runId, nowIso(), name).changes;
      if (!changed) throw new StoreError('invalid', `${this.ctx.file}: no checkpoint '${name}'`);
    });
  }

  /** Forgets a checkpoint (its recordings go with it); returns whether it was registered. */
  remove(name: string): boolean {
    return this.ctx.write(
      () => this.ctx.db.prepare('DELETE FROM checkpoints WHERE name = ?').run(name).changes > 0,
    );
  }

  /** A checkpoint by name. */
  get(name: string): CheckpointRecord | undefined {
    const r = this.ctx.db.prepare('SELECT * FROM checkpoints WHERE name = ?').get(name) as
      CheckpointRow | undefined;
    return r && toRecord(r);
  }

  /** The checkpoint registered from folder `source` with weights `hash`, if any. */
  bySource(source: string, hash: string): CheckpointRecord | undefined {
    const r = this.ctx.db
      .prepare('SELECT * FROM checkpoints WHERE source = ? AND hash = ? ORDER BY created_at LIMIT 1')
      .get(source, hash) as CheckpointRow | undefined;
    return r && toRecord(r);
  }

  /** All checkpoints, oldest first. */
  list(): CheckpointRecord[] {
    return (
      this.ctx.db.prepare('SELECT * FROM checkpoints ORDER BY created_at, name').all() as CheckpointRow[]
    ).map(toRecord);
  }
}

function toRecord(r: CheckpointRow): CheckpointRecord {
  return {
    name: r.name,
    dir: r.dir,
    hash: r.hash,
    stage: r.stage,
    runId: r.run_id,
    parent: r.parent,
    config: JSON.parse(r.config),
    source: r.source,
    copied: r.copied === 1,
    arch: r.arch,
    params: r.n_params,
    dtype: r.dtype,
    bytes: r.bytes,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}
