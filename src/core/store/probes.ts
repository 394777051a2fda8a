/**
 * Probe sets: fixed token sequences with a concept label per token (and the candidate concepts of ambiguous
 * tokens), stored once by content hash. Every recording over a probe set has one row per token, in sequence
 * order.
 */
import type { LabelledSequence, ProbeSet } from '../data/types.js';
import { StoreError, nowIso, type StoreContext } from './store.js';

export interface StoredProbe extends ProbeSet {
  id: number;
  nTokens: number;
}

export interface ProbeSummary {
  id: number;
  hash: string;
  name: string;
  concepts: string[];
  nSequences: number;
  nTokens: number;
  createdAt: string;
}

/** A probe set flattened to rows, as recordings see it. */
export interface ProbeRows {
  probeId: number;
  hash: string;
  concepts: string[];
  /** Token id of each row. */
  ids: Int32Array;
  /** Concept index of each row into `concepts`, -1 for none. */
  concept: Int16Array;
  /** Sequence of each row. */
  seqOf: Int32Array;
  /** First row of each sequence, plus the total row count at the end (length nSequences + 1). */
  seqStart: Int32Array;
  /** The candidate concepts of each ambiguous row (unlabelled: its word is under several concepts), sorted. */
  ambiguous: ReadonlyMap<number, readonly string[]>;
}

/** Checks a probe set's shape, naming the sequence and field at fault. */
export function validateProbe(p: ProbeSet): void {
  const where = `probe set '${p?.name}'`;
  if (!p || typeof p.hash !== 'string' || !p.hash)
    throw new StoreError('invalid', `${where}: field 'hash' must be a non-empty string`);
  if (typeof p.name !== 'string' || !p.name)
    throw new StoreError('invalid', `${where}: field 'name' must be a non-empty string`);
  if (!Array.isArray(p.concepts))
    throw new StoreError('invalid', `${where}: field 'concepts' must be an array`);
  if (p.concepts.length > 32767) throw new StoreError('invalid', `${where}: at most 32767 concepts`);
  const known = new Set(p.concepts);
  if (!Array.isArray(p.sequences) || p.sequences.length === 0)
    throw new StoreError('invalid', `${where}: no sequences`);
  p.sequences.forEach((s, i) => {
    if (!Array.isArray(s.ids) || s.ids.length === 0)
      throw new StoreError('invalid', `${where}: sequences[${i}].ids must be a non-empty array`);
    if (!Array.isArray(s.concepts) || s.concepts.length !== s.ids.length) {
      throw new StoreError(
        'invalid',
        `${where}: sequences[${i}].concepts must have one label per token (${s.ids.length})`,
      );
    }
    s.ids.forEach((id, j) => {
      if (!Number.isInteger(id) || id < 0 || id > 0x7fffffff)
        throw new StoreError('invalid', `${where}: sequences[${i}].ids[${j}] = ${id} is not a token id`);
    });
    s.concepts.forEach((c, j) => {
      if (c !== null && !known.has(c))
        throw new StoreError(
          'invalid',
          `${where}: sequences[${i}].concepts[${j}] = ${JSON.stringify(c)} is not in 'concepts'`,
        );
    });
    if (s.ambiguous === undefined) return;
    if (!Array.isArray(s.ambiguous) || s.ambiguous.length !== s.ids.length) {
      throw new StoreError(
        'invalid',
        `${where}: sequences[${i}].ambiguous must have one entry per token (${s.ids.length})`,
      );
    }
    s.ambiguous.forEach((a, j) => {
      const ok =
        a === null ||
        (Array.isArray(a) && a.length >= 2 && a.every((c) => typeof c === 'string' && c.length > 0));
      if (!ok || (a !== null && s.concepts[j] !== null))
        throw new StoreError(
          'invalid',
          `${where}: sequences[${i}].ambiguous[${j}] must be null or, for an unlabelled token, two or more concept names`,
        );
    });
  });
}

/** Probe sets by id or content hash. */
export class ProbesRepo {
  private readonly rowsCache = new Map<number, ProbeRows>();

  constructor(private readonly ctx: StoreContext) {}

  /** Stores a probe set (idempotent by hash) and returns its id. */
  put(probe: ProbeSet): number {
    validateProbe(probe);
    const db = this.ctx.db;
    return this.ctx.write(() => {
      const old = db.prepare('SELECT id FROM probes WHERE hash = ?').get(probe.hash) as
        { id: number } | undefined;
      if (old) return old.id;
      const nTokens = probe.sequences.reduce((s, q) => s + q.ids.length, 0);
      const id = Number(
        db
          .prepare(
            'INSERT INTO probes (hash, name, concepts, n_sequences, n_tokens, created_at) VALUES (?, ?, ?, ?, ?, ?)',
          )
          .run(
            probe.hash,
            probe.name,
            JSON.stringify(probe.concepts),
            probe.sequences.length,
            nTokens,
            nowIso(),
          ).lastInsertRowid,
      );
      const index = new Map(probe.concepts.map((c, i) => [c, i]));
      const ins = db.prepare(
        'INSERT INTO probe_sequences (probe_id, seq, row_start, ids, concepts, ambiguous) VALUES (?, ?, ?, ?, ?, ?)',
      );
      let row = 0;
      probe.sequences.forEach((s, seq) => {
        const ids = Int32Array.from(s.ids);
        const labels = Int16Array.from(s.concepts, (c) => (c === null ? -1 : index.get(c)!));
        const ambiguous = s.ambiguous?.flatMap((a, j) => (a ? [[j, a] as const] : [])) ?? [];
        ins.run(
          id,
          seq,
          row,
          Buffer.from(ids.buffer),
          Buffer.from(labels.buffer),
          ambiguous.length > 0 ? JSON.stringify(Object.fromEntries(ambiguous)) : null,
        );
        row += s.ids.length;
      });
      return id;
    });
  }

  /** A stored probe set by id or hash. */
  get(idOrHash: number | string): StoredProbe | undefined {
    const p = this.summary(idOrHash);
    if (!p) return undefined;
    const rows = this.rows(p.id);
    const sequences = [];
    for (let s = 0; s < p.nSequences; s++) {
      const a = rows.seqStart[s];
      const b = rows.seqStart[s + 1];
      const seq: LabelledSequence = {
        ids: Array.from(rows.ids.subarray(a, b)),
        concepts: Array.from(rows.concept.subarray(a, b), (c) => (c < 0 ? null : p.concepts[c])),
      };
      if (Array.from({ length: b - a }, (_, j) => rows.ambiguous.has(a + j)).some(Boolean)) {
        seq.ambiguous = Array.from({ length: b - a }, (_, j) => {
          const c = rows.ambiguous.get(a + j);
          return c ? [...c] : null;
        });
      }
      sequences.push(seq);
    }
    return { id: p.id, name: p.name, hash: p.hash, concepts: p.concepts, nTokens: p.nTokens, sequences };
  }

  /** Id, name and sizes of a probe set, without its tokens. */
  summary(idOrHash: number | string): ProbeSummary | undefined {
    const sql =
      typeof idOrHash === 'number'
        ? 'SELECT * FROM probes WHERE id = ?'
        : 'SELECT * FROM probes WHERE hash = ?';
    const r = this.ctx.db.prepare(sql).get(idOrHash) as ProbeRow | undefined;
    return r && toSummary(r);
  }

  /** All probe sets, oldest first. */
  list(): ProbeSummary[] {
    return (this.ctx.db.prepare('SELECT * FROM probes ORDER BY id').all() as ProbeRow[]).map(toSummary);
  }

  /** The probe set as rows (token id, concept and sequence of each row). Cached: probe sets never change. */
  rows(probeId: number): ProbeRows {
    const cached = this.rowsCache.get(probeId);
    if (cached) return cached;
    const p = this.summary(probeId);
    if (!p) throw new StoreError('invalid', `${this.ctx.file}: no probe set with id ${probeId}`);
    const ids = new Int32Array(p.nTokens);
    const concept = new Int16Array(p.nTokens);
    const seqOf = new Int32Array(p.nTokens);
    const seqStart = new Int32Array(p.nSequences + 1);
    const seqs = this.ctx.db
      .prepare(
        'SELECT seq, row_start, ids, concepts, ambiguous FROM probe_sequences WHERE probe_id = ? ORDER BY seq',
      )
      .all(probeId) as {
      seq: number;
      row_start: number;
      ids: Buffer;
      concepts: Buffer;
      ambiguous: string | null;
    }[];
    const ambiguous = new Map<number, string[]>();
    if (seqs.length !== p.nSequences)
      throw new StoreError(
        'corrupt',
        `${this.ctx.file}: probe set ${probeId} has ${seqs.length} of ${p.nSequences} sequences`,
      );
    for (const s of seqs) {
      const n = s.ids.length / 4;
      ids.set(
        new Int32Array(s.ids.buffer.slice(s.ids.byteOffset, s.ids.byteOffset + s.ids.length)),
        s.row_start,
      );
      concept.set(
        new Int16Array(
          s.concepts.buffer.slice(s.concepts.byteOffset, s.concepts.byteOffset + s.concepts.length),
        ),
        s.row_start,
      );
      seqOf.fill(s.seq, s.row_start, s.row_start + n);
      seqStart[s.seq] = s.row_start;
      const amb = s.ambiguous ? (JSON.parse(s.ambiguous) as Record<string, string[]>) : {};
      for (const [j, c] of Object.entries(amb)) ambiguous.set(s.row_start + Number(j), c);
    }
    seqStart[p.nSequences] = p.nTokens;
    const rows: ProbeRows = {
      probeId,
      hash: p.hash,
      concepts: p.concepts,
      ids,
      concept,
      seqOf,
      seqStart,
      ambiguous,
    };
    this.rowsCache.set(probeId, rows);
    return rows;
  }
}

interface ProbeRow {
  id: number;
  hash: string;
  name: string;
  concepts: string;
  n_sequences: number;
  n_tokens: number;
  created_at: string;
}

function toSummary(r: ProbeRow): ProbeSummary {
  return {
    id: r.id,
    hash: r.hash,
    name: r.name,
    concepts: JSON.parse(r.concepts),
    nSequences: r.n_sequences,
    nTokens: r.n_tokens,
    createdAt: r.created_at,
  };
}
