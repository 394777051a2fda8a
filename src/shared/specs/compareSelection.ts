// Which checkpoints the Compare view starts with, and the probe set a comparison was computed on.
import type { CompareResult } from '../../core/api.js';

/**
 * The default comparison: `base`, `dpo` and `decpo` when they exist (in that order), else the base-stage
 * checkpoints followed by the rest, at most three.
 */
export function defaultSelection(checkpoints: { name: string; stage: string }[]): string[] {
  const names = checkpoints.map((c) => c.name);
  const usual = ['base', 'dpo', 'decpo'].filter((n) => names.includes(n));
  if (usual.length >= 2) return usual;
  const bases = checkpoints.filter((c) => c.stage === 'base').map((c) => c.name);
  return [...bases, ...names.filter((n) => !bases.includes(n))].slice(0, 3);
}

/** The probe hash of the recordings a comparison read (the one shared by its checkpoints and taps), if any. */
export function compareProbe(
  r: CompareResult,
  recordings: { checkpoint: string; tap: string; probeHash: string }[],
): string | undefined {
  const names = new Set(r.rows.map((x) => x.checkpoint));
  const hashes = new Set(
    recordings.filter((x) => names.has(x.checkpoint) && r.taps.includes(x.tap)).map((x) => x.probeHash),
  );
  return hashes.size === 1
    ? [...hashes][0]
    : hashes.size > 1
      ? [...hashes].map((h) => h.slice(0, 8)).join('|')
      : undefined;
}
