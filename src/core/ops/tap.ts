/**
 * What every analysis of a recorded tap shares: reading the tap (recording it first if needed), the rows
 * analyses use, and the store cache that answers a repeated request. Results are keyed by content: the
 * checkpoint's weights hash, the tap, the probe tokens' hash and the normalised options, never by names.
 */
import { initBackend } from '../backend/index.js';
import { loadCheckpoint } from '../model/checkpoint.js';
import type { Tokenizer } from '../model/tokenizer.js';
import { Rng } from '../model/rng.js';
import type { Matrix } from '../analysis/index.js';
import type { TapRef } from '../api.js';
import type { RecordingInfo } from '../store/activations.js';
import type { Project } from '../store/project.js';
import { ensureRecording, findRecording } from './record.js';
import { resolveCheckpoint } from './checkpoints.js';
import { silentReporter, throwIfCancelled, type Reporter } from './progress.js';

export type { TapRef };

/** A loaded tap with everything analyses need about its rows. */
export interface TapData {
  ref: TapRef;
  rec: RecordingInfo;
  x: Matrix;
  /** Token id, concept label and sequence of each row. */
  ids: Int32Array;
  concepts: (string | null)[];
  seqOf: Int32Array;
  tokenizer: Tokenizer;
  specialIds: number[];
}

/** Parses `NAME:TAP` (the CLI's form) into a {@link TapRef}. */
export function parseTapRef(s: string, probe = 'builtin'): TapRef {
  const i = s.indexOf(':');
  if (i <= 0 || i === s.length - 1)
    throw new Error(`expected CHECKPOINT:TAP (e.g. dpo:blocks.1.mlp.post), got '${s}'`);
  return { checkpoint: s.slice(0, i), tap: s.slice(i + 1), probe };
}

/** Reads a tap's matrix and row labels (recording it first if it is missing or its checkpoint changed). */
export async function loadTap(
  project: Project,
  ref: TapRef,
  reporter: Reporter = silentReporter,
  signal?: AbortSignal,
): Promise<TapData> {
  await initBackend('auto');
  return readTap(project, ref, await ensureRecording(project, ref, reporter, signal));
}

function readTap(project: Project, ref: TapRef, rec: RecordingInfo): TapData {
  const m = project.store.activations.tapMatrix(rec.id);
  const rows = project.store.probes.rows(rec.probeId);
  const ck = loadCheckpoint(resolveCheckpoint(project, ref.checkpoint).dir);
  return {
    ref,
    rec,
    x: { data: m.data, rows: m.rows, cols: m.cols },
    ids: rows.ids,
    concepts: Array.from(rows.concept, (c) => (c < 0 ? null : rows.concepts[c])),
    seqOf: rows.seqOf,
    tokenizer: ck.tokenizer,
    specialIds: [...ck.tokenizer.specialIds],
  };
}

/** The content that identifies a recorded tap in an analysis key: weights hash, tap and probe hash. */
export interface TapKey {
  checkpointHash: string;
  tap: string;
  probeHash: string;
}

/** The {@link TapKey} of a recording. */
export function tapKey(rec: RecordingInfo): TapKey {
  return { checkpointHash: rec.checkpointHash, tap: rec.tap, probeHash: rec.probeHash };
}

/** The key of a tap that is recorded from its checkpoint's current weights, found from the store; else undefined. */
export function recordedTapKey(project: Project, ref: TapRef): TapKey | undefined {
  const rec = findRecording(project, ref);
  return rec && tapKey(rec);
}

type Computed<R> = { result: R; blobs?: Record<string, Float32Array> };
export interface Cached<R> {
  result: R;
  blobs: Record<string, Float32Array>;
  /** Whether the result came from the store. */
  reused: boolean;
}

/** Returns the stored result of `kind` on `inputs`, or computes, stores and returns it. */
export async function cached<R extends object>(
  project: Project,
  kind: string,
  inputs: object,
  compute: () => Promise<Computed<R>> | Computed<R>,
): Promise<Cached<R>> {
  const hit = project.store.analyses.get<R>(kind, inputs);
  if (hit) return { result: hit.result, blobs: hit.blobs, reused: true };
  const { result, blobs = {} } = await compute();
  project.store.analyses.put(kind, inputs, result, blobs);
  return { result, blobs, reused: false };
}

/**
 * An analysis of one tap: answered from the store without reading the tap when the recording and the
 * result exist; otherwise the tap is recorded (if needed) and read, and `compute` runs.
 */
export async function cachedTap<R extends object>(
  project: Project,
  ref: TapRef,
  kind: string,
  options: object,
  compute: (t: TapData) => Promise<Computed<R>> | Computed<R>,
  reporter: Reporter = silentReporter,
  signal?: AbortSignal,
): Promise<Cached<R>> {
  const fast = findRecording(project, ref);
  if (fast) {
    const hit = project.store.analyses.get<R>(kind, { ...tapKey(fast), ...options });
    if (hit) return { result: hit.result, blobs: hit.blobs, reused: true };
  }
  await initBackend('auto');
  const rec = fast ?? (await ensureRecording(project, ref, reporter, signal));
  const t = readTap(project, ref, rec);
  return cached<R>(project, kind, { ...tapKey(rec), ...options }, () => compute(t));
}

/** Runs `work`; when `signal` was aborted meanwhile, fails with the CancelledError the CLI and jobs expect. */
export async function cancellable<T>(signal: AbortSignal | undefined, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (e) {
    throwIfCancelled(signal);
    throw e;
  }
}

/** Row indices without special tokens (BOS/EOS/PAD), optionally a seeded subsample of at most `max`. */
export function usableRows(
  t: Pick<TapData, 'ids' | 'specialIds'> & { x: { rows: number } },
  max?: number,
  seed = 0,
): Int32Array {
  const special = new Set(t.specialIds);
  const rows: number[] = [];
  for (let r = 0; r < t.x.rows; r++) if (!special.has(t.ids[r])) rows.push(r);
  if (max !== undefined && rows.length > max) {
    const pick = new Rng(seed).shuffle(rows).slice(0, max);
    pick.sort((a, b) => a - b);
    return Int32Array.from(pick);
  }
  return Int32Array.from(rows);
}
