// Checkpoints, taps and recordings as the pickers see them: which taps a model has, and which of them have
// a usable recording (complete, and made from the checkpoint's current weights).
import type { OpResult } from '../../../core/api.js';

export type CheckpointInfo = OpResult<'checkpoints.list'>[number];
export type RecordingInfo = OpResult<'recordings.list'>[number];

/** The activation taps of a block, in the order the pickers list them. */
export const TAP_KINDS = ['mlp.post', 'mlp.pre', 'resid_post'] as const;

/** Every tap of a model with `nLayer` blocks: `blocks.{i}.mlp.post`, `.mlp.pre`, `.resid_post`. */
export function tapsOf(nLayer: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < nLayer; i++) for (const k of TAP_KINDS) out.push(`blocks.${i}.${k}`);
  return out;
}

/** Every layer's tap of a kind, as the record op's pattern spells it: `blocks.*.mlp.post`. */
export function layerPattern(kind: string): string {
  return `blocks.*.${kind}`;
}

/** Whether `tap` names every layer of a tap kind (`blocks.*.mlp.post`) rather than one tap. */
export function isLayerPattern(tap: string): boolean {
  return /^blocks\.\*\.[^*]+$/.test(tap);
}

/** Whether `tap` is one of the taps `pattern` names (`blocks.*.mlp.post` matches `blocks.3.mlp.post`). */
export function matchesPattern(pattern: string, tap: string): boolean {
  const kind = pattern.slice('blocks.*.'.length);
  return new RegExp(`^blocks\\.\\d+\\.${kind.replace(/\./g, '\\.')}$`).test(tap);
}

/** Number of blocks in a checkpoint's config (0 when the config says nothing). */
export function layersOf(ck: CheckpointInfo | undefined): number {
  const n = (ck?.config as { nLayer?: unknown } | undefined)?.nLayer;
  return typeof n === 'number' && Number.isInteger(n) && n > 0 ? n : 0;
}

/** Width of a tap: d_mlp for the MLP taps, d_model for the residual stream. */
export function tapWidth(ck: CheckpointInfo | undefined, tap: string): number | undefined {
  const cfg = ck?.config as { nInner?: number; nEmbd?: number } | undefined;
  if (!cfg) return undefined;
  return tap.endsWith('resid_post') ? cfg.nEmbd : (cfg.nInner ?? (cfg.nEmbd ? 4 * cfg.nEmbd : undefined));
}

/** The complete recordings of `checkpoint`'s `tap` made from its current weights, newest first. */
export function usableRecordings(
  recordings: RecordingInfo[] | undefined,
  checkpoints: CheckpointInfo[] | undefined,
  checkpoint: string,
  tap: string,
): RecordingInfo[] {
  const ck = checkpoints?.find((c) => c.name === checkpoint);
  if (!ck || !recordings) return [];
  return recordings
    .filter(
      (r) =>
        r.checkpoint === checkpoint &&
        r.tap === tap &&
        r.status === 'complete' &&
        r.checkpointHash === ck.hash,
    )
    .sort((a, b) => b.id - a.id);
}

/** The first checkpoint and tap that have a usable recording, for views opened without a selection. */
export function firstRecorded(
  recordings: RecordingInfo[] | undefined,
  checkpoints: CheckpointInfo[] | undefined,
): { checkpoint: string; tap: string } | undefined {
  for (const ck of checkpoints ?? []) {
    for (const tap of tapsOf(layersOf(ck))) {
      if (usableRecordings(recordings, checkpoints, ck.name, tap).length > 0)
        return { checkpoint: ck.name, tap };
    }
  }
  return undefined;
}
