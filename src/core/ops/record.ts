/**
 * The `record` operation: resolves a probe set (`builtin`, `english`, a text or JSONL file), stores it, and records a
 * checkpoint's taps over it with {@link recordActivations}, reporting progress, holding the project's
 * `recording` lock of the checkpoint and probe set. Also `ensureRecording`, which analyses use to record a
 * tap on demand (waiting for another writer of the same recording instead of failing).
 */
import { checkpointWeightsHash, openCheckpoint } from '../model/checkpoint.js';
import { fittingBatch } from '../model/memory.js';
import { expandTaps } from '../model/models.js';
import { ENGLISH_PROBE } from '../data/english-probe.js';
import type { LexiconMode } from '../data/lexicons.js';
import { builtinProbeSet, DEFAULT_PROBE, englishProbeSet, probeSetFromText } from '../data/probe.js';
import type { ProbeSet } from '../data/types.js';
import { recordActivations, type RecordResult } from '../record/record.js';
import type { RecordingInfo } from '../store/activations.js';
import type { Project } from '../store/project.js';
import { lockReleased, withLock } from '../store/locks.js';
import { StoreError } from '../store/store.js';
import { initBackend } from '../backend/index.js';
import { parseInput, type OpParsed } from '../api.js';
import { resolveCheckpoint } from './checkpoints.js';
import { CancelledError, type Reporter } from './progress.js';

/** The longest window of a text probe by default: windows are the lesser of this and the model's context. */
export const DEFAULT_PROBE_CONTEXT = 128;

/** How a text probe is read: its labels file, window length and user lexicon (see `RecordInput`). */
export interface TextProbeRequest {
  labels?: string;
  context?: number;
  lexicon?: string;
  lexiconMode?: LexiconMode;
}

/**
 * Resolves a probe reference for a checkpoint: `builtin` (the world's, 20k tokens), `english` (WordNet's
 * example sentences), a stored hash, or a text or JSONL file. Text probes are cut into windows of
 * `context` tokens (default the lesser of 128 and the model's context) and labelled with the built-in
 * lexicon and the user's.
 */
export function resolveProbe(
  project: Project,
  probe: string,
  checkpointDir: string,
  req: TextProbeRequest = {},
): ProbeSet {
  const ck = openCheckpoint(checkpointDir);
  const nCtx = req.context ?? Math.min(DEFAULT_PROBE_CONTEXT, ck.config.nCtx);
  if (nCtx > ck.config.nCtx) {
    throw new Error(`context: ${nCtx} tokens is more than the model's context of ${ck.config.nCtx}`);
  }
  const lexicon = req.lexicon ? { file: req.lexicon, mode: req.lexiconMode ?? 'add' } : undefined;
  if (probe === ENGLISH_PROBE) return englishProbeSet(ck.tokenizer, { nCtx, lexicon });
  const stored = /^[0-9a-f]{16,64}$/.test(probe) ? project.store.probes.get(probe) : undefined;
  const fixed = probe === 'builtin' ? "the built-in probe's" : stored ? "a stored probe's" : undefined;
  if (fixed && (req.context !== undefined || lexicon || req.labels)) {
    throw new Error(
      `--context, --lexicon and --labels shape a text probe (a file or '${ENGLISH_PROBE}'); ${fixed} windows and labels are fixed`,
    );
  }
  if (probe === 'builtin') {
    if (ck.tokenizer.kind !== 'word-level') {
      throw new Error(
        `the built-in probe set is written in the world's vocabulary; ${checkpointDir} uses ${ck.tokenizer.kind}: give --probe ${ENGLISH_PROBE} (real English shipped with Monoscope) or --probe FILE (a text file)`,
      );
    }
    return builtinProbeSet({ ...DEFAULT_PROBE, nCtx: ck.config.nCtx });
  }
  if (stored) return stored;
  return probeSetFromText(probe, ck.tokenizer, { nCtx, labels: req.labels, lexicon });
}

/** The name of the `recording` lock of a checkpoint over a probe set. */
function recordingLock(checkpoint: string, probeHash: string): string {
  return `${checkpoint}+${probeHash}`;
}

/** Records the taps of a checkpoint (resumable, idempotent). */
export async function recordOp(
  project: Project,
  req: OpParsed<'record'>,
  reporter: Reporter,
  signal?: AbortSignal,
): Promise<RecordResult> {
  const { backend } = await initBackend(req.backend ?? 'auto');
  const dir = resolveCheckpoint(project, req.checkpoint).dir;
  const ck = openCheckpoint(dir);
  const probe = resolveProbe(project, req.probe, dir, req);
  // Without --batch-size, as many sequences a batch (up to 32) as fit in memory.
  const longest = Math.max(1, ...probe.sequences.map((s) => s.ids.length));
  const batchSize = req.batchSize ?? fittingBatch(req.checkpoint, ck.config, ck.params, backend, longest, 32);
  return withLock(project.dir, 'recording', recordingLock(req.checkpoint, probe.hash), async () => {
    project.store.probes.put(probe);
    const taps = req.taps.split(',').flatMap((p) => expandTaps(ck.config, p.trim()));
    reporter.message(
      `recording ${req.checkpoint}: ${taps.join(', ')} over probe '${probe.name}' (${probe.sequences.reduce((n, s) => n + s.ids.length, 0)} tokens)`,
    );
    const result = await recordActivations(project.store, {
      checkpointName: req.checkpoint,
      checkpointDir: dir,
      probe,
      taps,
      dtype: req.dtype,
      batchSize,
      signal,
      onProgress: (p) =>
        reporter.progress({
          phase: `record ${req.checkpoint}`,
          done: p.done,
          total: p.total,
          unit: 'token',
          metrics: { tokens_per_s: p.tokensPerS },
        }),
    });
    if (result.cancelled) throw new CancelledError('recording cancelled; run the same command to resume');
    return result;
  });
}

/**
 * Records as {@link recordOp} does, but while another writer holds the recording's lock (another job or
 * worker recording the same checkpoint over the same probe set) waits for it and then records what is
 * still missing, instead of failing. `probeHash`: the probe's hash, when the caller has resolved it.
 */
export async function recordOrWait(
  project: Project,
  req: OpParsed<'record'>,
  reporter: Reporter,
  signal?: AbortSignal,
  probeHash?: string,
): Promise<void> {
  for (;;) {
    try {
      await recordOp(project, req, reporter, signal);
      return;
    } catch (e) {
      if (!(e instanceof StoreError && e.code === 'locked')) throw e;
      reporter.message(`waiting for another recording of ${req.checkpoint} over this probe set to finish`);
      const hash =
        probeHash ??
        resolveProbe(project, req.probe, resolveCheckpoint(project, req.checkpoint).dir, req).hash;
      await lockReleased(project.dir, 'recording', recordingLock(req.checkpoint, hash), signal);
    }
  }
}

const builtinHashes = new Map<number, string>();
/** The hash of the built-in probe set for a context length (generated once per process). */
function builtinProbeHash(nCtx: number): string {
  let h = builtinHashes.get(nCtx);
  if (!h) {
    h = builtinProbeSet({ ...DEFAULT_PROBE, nCtx }).hash;
    builtinHashes.set(nCtx, h);
  }
  return h;
}

/**
 * The hash of a probe set for a checkpoint: the built-in probe's hash for its context length, a stored
 * probe's hash as given, or (`resolveFiles`) the hash of a text or JSONL file read with its tokenizer.
 * Undefined when the checkpoint is not registered, or the probe is a file and `resolveFiles` is off.
 */
export function probeHashOf(
  project: Project,
  probe: string,
  checkpoint: string,
  resolveFiles = false,
): string | undefined {
  if (/^[0-9a-f]{16,64}$/.test(probe)) return probe;
  if (probe === 'builtin') {
    const nCtx = (project.store.checkpoints.get(checkpoint)?.config as { nCtx?: number } | undefined)?.nCtx;
    return nCtx ? builtinProbeHash(nCtx) : undefined;
  }
  return resolveFiles
    ? resolveProbe(project, probe, resolveCheckpoint(project, checkpoint).dir).hash
    : undefined;
}

/**
 * The complete recording of a tap from the checkpoint's current weights, found from the store and the
 * weights' content hash (re-read only when the file changed). Undefined when it is not recorded yet, the
 * weights changed since, or the probe is a file (then {@link ensureRecording} resolves it).
 */
export function findRecording(
  project: Project,
  ref: { checkpoint: string; tap: string; probe?: string },
): RecordingInfo | undefined {
  const ck = project.store.checkpoints.get(ref.checkpoint);
  const probeHash = probeHashOf(project, ref.probe ?? 'builtin', ref.checkpoint);
  if (!ck || !probeHash) return undefined;
  const rec = project.store.activations.find({ checkpoint: ref.checkpoint, tap: ref.tap, probeHash });
  if (!rec || rec.status !== 'complete') return undefined;
  return rec.checkpointHash === checkpointWeightsHash(ck.dir) ? rec : undefined;
}

/** The complete recording of a checkpoint's tap over a probe (recording it first if needed). */
export async function ensureRecording(
  project: Project,
  ref: { checkpoint: string; tap: string; probe?: string },
  reporter: Reporter,
  signal?: AbortSignal,
): Promise<RecordingInfo> {
  const fast = findRecording(project, ref);
  if (fast) return fast;
  const dir = resolveCheckpoint(project, ref.checkpoint).dir;
  const ck = openCheckpoint(dir);
  const probe = resolveProbe(project, ref.probe ?? 'builtin', dir);
  const rec = project.store.activations.find({
    checkpoint: ref.checkpoint,
    tap: ref.tap,
    probeHash: probe.hash,
  });
  if (rec && rec.status === 'complete' && rec.checkpointHash === ck.hash) return rec;
  await recordOrWait(
    project,
    parseInput('record', { checkpoint: ref.checkpoint, probe: ref.probe, taps: ref.tap }),
    reporter,
    signal,
    probe.hash,
  );
  const done = project.store.activations.find({
    checkpoint: ref.checkpoint,
    tap: ref.tap,
    probeHash: probe.hash,
  });
  if (!done || done.status !== 'complete')
    throw new Error(`recording of ${ref.checkpoint} ${ref.tap} did not complete`);
  return done;
}
