/**
 * Analysis results, keyed by a stable hash of {kind, inputs} so that the same analysis of the same inputs
 * is computed once; and the log of exported figures.
 */
import { createHash } from 'node:crypto';
import { StoreError, nowIso, type StoreContext } from './store.js';

/**
 * JSON with object keys sorted at every level, so equal values give equal text whatever the key order.
 * Refuses values JSON cannot carry exactly (NaN, Infinity, functions, undefined in arrays).
 */
export function canonicalJson(value: unknown, path = 'inputs'): string {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value))
      throw new StoreError('invalid', `${path}: ${value} cannot be part of an analysis key`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((v, i) => canonicalJson(v, `${path}[${i}]`)).join(',')}]`;
  if (typeof value === 'object') {
    const keys = Object.keys(value as object)
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k], `${path}.${k}`)}`).join(',')}}`;
  }
  throw new StoreError('invalid', `${path}: a ${typeof value} cannot be part of an analysis key`);
}

/** The key of an analysis: sha256 (hex) of the canonical JSON of {kind, inputs}. */
export function analysisKey(kind: string, inputs: object): string {
  return createHash('sha256').update(canonicalJson({ kind, inputs })).digest('hex');
}

export interface StoredAnalysis<R = Record<string, unknown>> {
  key: string;
  kind: string;
  inputs: Record<string, unknown>;
  result: R;
  blobs: Record<string, Float32Array>;
  createdAt: string;
}

/** Analysis results, found again by kind and inputs. */
export class AnalysesRepo {
  constructor(private readonly ctx: StoreContext) {}

  /** The stored result of `kind` on exactly these inputs, or undefined. */
  get<R = Record<string, unknown>>(kind: string, inputs: object): StoredAnalysis<R> | undefined {
    const key = analysisKey(kind, inputs);
    const r = this.ctx.db
      .prepare('SELECT kind, inputs, result, created_at FROM analyses WHERE key = ?')
      .get(key) as { kind: string; inputs: string; result: string; created_at: string } | undefined;
    if (!r) return undefined;
    const blobs: Record<string, Float32Array> = {};
    const rows = this.ctx.db
      .prepare('SELECT name, data FROM analysis_blobs WHERE analysis_key = ?')
      .all(key) as { name: string; data: Buffer }[];
    for (const b of rows)
      blobs[b.name] = new Float32Array(
        b.data.buffer.slice(b.data.byteOffset, b.data.byteOffset + b.data.length),
      );
    return {
      key,
      kind: r.kind,
      inputs: JSON.parse(r.inputs),
      result: JSON.parse(r.result),
      blobs,
      createdAt: r.created_at,
    };
  }

  /** Stores (or replaces) the result of `kind` on these inputs, with optional float32 arrays; returns the key. */
  put(kind: string, inputs: object, result: object, blobs: Record<string, Float32Array> = {}): string {
    if (typeof kind !== 'string' || !kind)
      throw new StoreError('invalid', `analysis: 'kind' must be a non-empty string`);
    const key = analysisKey(kind, inputs);
    const resultJson = JSON.stringify(result);
    for (const [name, a] of Object.entries(blobs)) {
      if (!(a instanceof Float32Array))
        throw new StoreError('invalid', `analysis ${kind}: blob '${name}' must be a Float32Array`);
    }
    this.ctx.write(() => {
      this.ctx.db.prepare('DELETE FROM analyses WHERE key = ?').run(key);
      this.ctx.db
        .prepare('INSERT INTO analyses (key, kind, inputs, result, created_at) VALUES (?, ?, ?, ?, ?)')
        .run(key, kind, canonicalJson(inputs), resultJson, nowIso());
      const ins = this.ctx.db.prepare(
        'INSERT INTO analysis_blobs (analysis_key, name, data) VALUES (?, ?, ?)',
      );
      for (const [name, a] of Object.entries(blobs))
        ins.run(key, name, Buffer.from(a.buffer, a.byteOffset, a.byteLength));
    });
    return key;
  }

  /** Deletes a stored result and its arrays; returns how many results were deleted (0 or 1). */
  remove(key: string): number {
    return this.ctx.write(() => this.ctx.db.prepare('DELETE FROM analyses WHERE key = ?').run(key).changes);
  }

  /** Keys and kinds of the stored results, newest first. */
  list(kind?: string): { key: string; kind: string; inputs: Record<string, unknown>; createdAt: string }[] {
    const rows = (
      kind
        ? this.ctx.db
            .prepare(
              'SELECT key, kind, inputs, created_at FROM analyses WHERE kind = ? ORDER BY created_at DESC',
            )
            .all(kind)
        : this.ctx.db
            .prepare('SELECT key, kind, inputs, created_at FROM analyses ORDER BY created_at DESC')
            .all()
    ) as { key: string; kind: string; inputs: string; created_at: string }[];
    return rows.map((r) => ({
      key: r.key,
      kind: r.kind,
      inputs: JSON.parse(r.inputs),
      createdAt: r.created_at,
    }));
  }
}

export interface FigureExport {
  figure: string;
  format: string;
  file: string;
  options: object;
}

export interface FigureRecord extends FigureExport {
  id: number;
  createdAt: string;
}

/** The log of exported figures. */
export class FiguresRepo {
  constructor(private readonly ctx: StoreContext) {}

  /** Logs one exported figure file; returns its id. */
  record(f: FigureExport): number {
    for (const k of ['figure', 'format', 'file'] as const) {
      if (typeof f[k] !== 'string' || !f[k])
        throw new StoreError('invalid', `figure export: field '${k}' must be a non-empty string`);
    }
    return this.ctx.write(() =>
      Number(
        this.ctx.db
          .prepare('INSERT INTO figures (figure, format, file, options, created_at) VALUES (?, ?, ?, ?, ?)')
          .run(f.figure, f.format, f.file, JSON.stringify(f.options ?? {}), nowIso()).lastInsertRowid,
      ),
    );
  }

  /** Every exported figure, oldest first. */
  list(): FigureRecord[] {
    const rows = this.ctx.db.prepare('SELECT * FROM figures ORDER BY id').all() as {
      id: number;
      figure: string;
      format: string;
      file: string;
      options: string;
      created_at: string;
    }[];
    return rows.map((r) => ({
      id: r.id,
      figure: r.figure,
      format: r.format,
      file: r.file,
      options: JSON.parse(r.options),
      createdAt: r.created_at,
    }));
  }
}
