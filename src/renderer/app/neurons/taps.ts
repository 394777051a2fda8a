// Checkpoints, taps and recordings as the pickers see them: which taps a model has, and which of them have
// a usable recording (complete, and made from the checkpoint's current weights).
import type { OpResult } from '../../../core/api.js';

export type CheckpointInfo = OpResult<'checkpoints.list'>[number];
export type RecordingInfo = OpResult<'recordings.list'>[number];

/**
 * The order the pickers list a block's tap kinds in: the neurons first, then the MLP's other taps, then the
 * residual stream and what the sublayers write into it (TransformerLens's names).
 */
const PICKER_ORDER = [
  'mlp.post',
  'mlp.pre',
  'mlp.pre_linear',
  'resid_post',
  'resid_pre',
  'resid_mid',
  'attn_out',
  'mlp_out',
];

/** The tap kinds a checkpoint's blocks have (as `checkpoints.list` says), in picker order. */
export function tapKindsOf(ck: CheckpointInfo | undefined): string[] {
  const kinds = ck?.tapKinds ?? [];
  return PICKER_ORDER.filter((k) => kinds.includes(k));
}

/** Every tap of a checkpoint, block by block: `blocks.{i}.mlp.post`, `.mlp.pre`, ... */
export function tapsOf(ck: CheckpointInfo | undefined): string[] {
  const kinds = tapKindsOf(ck);
  const out: string[] = [];
  for (let i = 0; i < layersOf(ck); i++) for (const k of kinds) out.push(`blocks.${i}.${k}`);
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

/** Width of a tap: d_mlp for the MLP's taps (`mlp.*`), d_model for the residual stream and sublayer outputs. */
export function tapWidth(ck: CheckpointInfo | undefined, tap: string): number | undefined {
  const cfg = ck?.config as { nInner?: number; nEmbd?: number } | undefined;
  if (!cfg) return undefined;
  return /\.mlp\./.test(tap) ? (cfg.nInner ?? (cfg.nEmbd ? 4 * cfg.nEmbd : undefined)) : cfg.nEmbd;
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
    for (const tap of tapsOf(ck)) {
      if (usableRecordings(recordings, checkpoints, ck.name, tap).length > 0)
        return { checkpoint: ck.name, tap };
    }
  }
  return undefined;
}
