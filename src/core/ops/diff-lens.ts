/**
 * `diff.lens`: the activation-difference lens (diff/lens.ts) of checkpoints A and B on every tap that
 * matches the pattern in both, read through B's final norm and unembedding. Missing taps are recorded over
 * the probe first (all of a checkpoint's at once); the result is stored under the recordings' content
 * (weights hashes, taps, probe hash) and `topK`, so a repeated request is answered from the store.
 */
import { ApiError, parseInput, type OpParsed } from '../api.js';
import { initBackend } from '../backend/index.js';
import { loadCheckpoint, openCheckpoint, type LoadedCheckpoint } from '../model/checkpoint.js';
import type { ModelConfig } from '../model/architecture.js';
import { expandTaps, logitLens, tapWidth } from '../model/models.js';
import { lensLayer, meanDifference } from '../diff/lens.js';
import type { DiffLensResult } from '../diff/types.js';
import type { RecordingInfo } from '../store/activations.js';
import type { Project } from '../store/project.js';
import { resolveCheckpoint } from './checkpoints.js';
import { ensureRecording, findRecording, recordOrWait } from './record.js';
import { cached, tapKey, usableRows } from './tap.js';
import { throwIfCancelled, type Reporter } from './progress.js';

/**
 * The taps of the lens: those the pattern names in both models, in A's order. Both must read the same
 * tokens into the same width (B's head reads A's activations' difference), and each tap must be a
 * residual-stream vector (d_model wide) for the unembedding to read it.
 */
function lensTaps(req: OpParsed<'diff.lens'>, a: ModelConfig, b: ModelConfig): string[] {
  if (a.vocabSize !== b.vocabSize)
    throw new ApiError(
      'invalid-input',
      `${req.a} has a vocabulary of ${a.vocabSize} tokens and ${req.b} of ${b.vocabSize}: the lens compares two checkpoints of one tokenizer`,
    );
  if (a.nEmbd !== b.nEmbd)
    throw new ApiError(
      'invalid-input',
      `${req.a} is ${a.nEmbd} wide (d_model) and ${req.b} is ${b.nEmbd}: the lens subtracts activations of the same width`,
    );
  const inB = new Set(expandTaps(b, req.taps));
  const taps = expandTaps(a, req.taps).filter((t) => inB.has(t));
  if (taps.length === 0)
    throw new ApiError('invalid-input', `no tap matching '${req.taps}' exists in both ${req.a} and ${req.b}`);
  for (const t of taps)
    if (tapWidth(a, t) !== a.nEmbd)
      throw new ApiError(
        'invalid-input',
        `${t} is ${tapWidth(a, t)} wide, not d_model (${a.nEmbd}): the lens reads the residual stream (resid_pre, resid_mid, resid_post, attn_out, mlp_out)`,
      );
  return taps;
}

/** The complete recordings of a checkpoint's taps over the probe, recording the missing ones in one pass. */
async function recordings(
  project: Project,
  checkpoint: string,
  taps: string[],
  probe: string,
  reporter: Reporter,
  signal?: AbortSignal,
): Promise<RecordingInfo[]> {
  const missing = taps.filter((tap) => !findRecording(project, { checkpoint, tap, probe }));
  if (missing.length)
    await recordOrWait(
      project,
      parseInput('record', { checkpoint, probe, taps: missing.join(',') }),
      reporter,
      signal,
    );
  const recs: RecordingInfo[] = [];
  for (const tap of taps)
    recs.push(await ensureRecording(project, { checkpoint, tap, probe }, reporter, signal));
  return recs;
}

/** The lens of every tap, from the recordings of A and B and B's weights and tokenizer. */
function computeLens(
  project: Project,
  req: OpParsed<'diff.lens'>,
  recsA: RecordingInfo[],
  recsB: RecordingInfo[],
  b: LoadedCheckpoint,
  reporter: Reporter,
  signal?: AbortSignal,
): DiffLensResult {
  const ids = project.store.probes.rows(recsA[0].probeId).ids;
  const rows = usableRows({ ids, specialIds: [...b.tokenizer.specialIds], x: { rows: ids.length } });
  const diffs = recsA.map((recA, i) => {
    throwIfCancelled(signal);
    reporter.progress({ phase: 'lens', done: i, total: recsA.length, unit: 'tap' });
    const { activations } = project.store;
    return meanDifference(activations.tapMatrix(recA.id), activations.tapMatrix(recsB[i].id), rows);
  });
  const D = b.config.nEmbd;
  const V = b.config.vocabSize;
  const stacked = new Float32Array(diffs.length * D);
  diffs.forEach((d, i) => stacked.set(d.diff, i * D));
  const logits = logitLens(b.config, b.arrays, stacked);
  return {
    a: req.a,
    b: req.b,
    probe: req.probe,
    tokens: rows.length,
    layers: recsA.map((rec, i) =>
      lensLayer(rec.tap, diffs[i], logits.subarray(i * V, (i + 1) * V), req.topK, (id) =>
        b.tokenizer.tokenString(id),
      ),
    ),
  };
}

/** The activation-difference lens of A and B per matching tap (see the module comment). */
export async function diffLensOp(
  project: Project,
  req: OpParsed<'diff.lens'>,
  reporter: Reporter,
  signal?: AbortSignal,
): Promise<DiffLensResult> {
  await initBackend('auto');
  const dirA = resolveCheckpoint(project, req.a).dir;
  const dirB = resolveCheckpoint(project, req.b).dir;
  const taps = lensTaps(req, openCheckpoint(dirA).config, openCheckpoint(dirB).config);
  const recsA = await recordings(project, req.a, taps, req.probe, reporter, signal);
  const recsB = await recordings(project, req.b, taps, req.probe, reporter, signal);
  if (recsA[0].probeHash !== recsB[0].probeHash)
    throw new ApiError(
      'invalid-input',
      `${req.a} and ${req.b} read the probe '${req.probe}' as different tokens (another tokenizer or context length): the lens needs the same tokens`,
    );
  const key = { a: recsA.map(tapKey), b: recsB.map(tapKey), topK: req.topK, rows: 'non-special' };
  const { result } = await cached<DiffLensResult>(project, 'diff-lens', key, () => ({
    result: computeLens(project, req, recsA, recsB, loadCheckpoint(dirB), reporter, signal),
  }));
  // Stored by content: the names and probe are the request's.
  return { ...result, a: req.a, b: req.b, probe: req.probe };
}
