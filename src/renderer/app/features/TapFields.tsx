// The A and B sides of a cross-checkpoint analysis: a checkpoint and tap each, optionally an SAE each.
import type { OpResult } from '../../../core/service.js';
import { TapPicker, type TapValue } from '../neurons/TapPicker.js';
import type { CheckpointInfo, RecordingInfo } from '../neurons/taps.js';

export type SaeInfo = OpResult<'saes.list'>[number];

export interface Side extends TapValue {
  /** An SAE trained on this tap, whose latents are the features; '' for the raw neurons. */
  sae: string;
}

export function SideFields({
  side,
  value,
  onChange,
  checkpoints,
  recordings,
  saes,
}: {
  side: 'A' | 'B';
  value: Side;
  onChange: (v: Side) => void;
  checkpoints: CheckpointInfo[];
  recordings: RecordingInfo[];
  /** Offer an SAE picker (matching and subspaces). */
  saes?: SaeInfo[];
}) {
  const usable = saes?.filter((s) => s.ref.tap === value.tap) ?? [];
  return (
    <fieldset className="ms-side">
      <legend>{side}</legend>
      <TapPicker
        checkpoints={checkpoints}
        recordings={recordings}
        value={value}
        label={side}
        onChange={(v) =>
          onChange({ ...v, sae: saes?.find((s) => s.name === value.sae)?.ref.tap === v.tap ? value.sae : '' })
        }
      />
      {saes && (
        <label>
          {side} features
          <select value={value.sae} onChange={(e) => onChange({ ...value, sae: e.target.value })}>
            <option value="">raw neurons</option>
            {usable.map((s) => (
              <option key={s.name} value={s.name}>
                SAE {s.name} ({s.dSae} latents, trained on {s.ref.checkpoint})
              </option>
            ))}
          </select>
        </label>
      )}
    </fieldset>
  );
}

/** Two sides to start with: the first two checkpoints at the same tap. */
export function defaultSides(checkpoints: CheckpointInfo[], tap: string): [Side, Side] {
  const a = checkpoints[0]?.name ?? '';
  const b = checkpoints[1]?.name ?? a;
  return [
    { checkpoint: a, tap, sae: '' },
    { checkpoint: b, tap, sae: '' },
  ];
}

/** The API's tap reference of a side. */
export function refOf(s: Side): { checkpoint: string; tap: string } {
  return { checkpoint: s.checkpoint, tap: s.tap };
}
