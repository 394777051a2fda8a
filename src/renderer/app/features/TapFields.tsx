// The A and B sides of a cross-checkpoint analysis: a checkpoint and tap each, optionally an SAE each.
import { useState } from 'react';
import type { OpResult } from '../../../core/api.js';
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

/** What a two-sided analysis panel (matching, SVCCA/RSA, subspaces) is given by the Features view. */
export interface SidesPanelProps {
  checkpoints: CheckpointInfo[];
  recordings: RecordingInfo[];
  /** The project's SAEs, offered as the features of a side (matching and subspaces). */
  saes: SaeInfo[];
  /** The sides the form starts from when no run is remembered. */
  initial: [Side, Side];
}

/** The A and B sides of a panel's form and their setters. */
export interface Sides {
  a: Side;
  b: Side;
  setA: (v: Side) => void;
  setB: (v: Side) => void;
}

/**
 * The sides of a panel's form: those of the remembered input `last` (each tap, and its SAE if it had one),
 * else `initial`.
 */
export function useSides(
  last: { a: TapValue; b: TapValue; saeA?: string; saeB?: string } | undefined,
  initial: [Side, Side],
): Sides {
  const [a, setA] = useState<Side>(() => (last ? { ...last.a, sae: last.saeA ?? '' } : initial[0]));
  const [b, setB] = useState<Side>(() => (last ? { ...last.b, sae: last.saeB ?? '' } : initial[1]));
  return { a, b, setA, setB };
}

/** The A and B fields of a two-sided analysis, side by side. */
export function SidePair({
  sides,
  ...pickers
}: {
  sides: Sides;
  checkpoints: CheckpointInfo[];
  recordings: RecordingInfo[];
  /** Offer an SAE picker on each side (matching and subspaces). */
  saes?: SaeInfo[];
}) {
  return (
    <div className="ms-sides">
      <SideFields side="A" value={sides.a} onChange={sides.setA} {...pickers} />
      <SideFields side="B" value={sides.b} onChange={sides.setB} {...pickers} />
    </div>
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

/** The sides of an analysis's input: both tap references, and the SAE of each side that picked one. */
export function sidesInput({ a, b }: Sides): { a: TapValue; b: TapValue; saeA?: string; saeB?: string } {
  return { a: refOf(a), b: refOf(b), ...(a.sae ? { saeA: a.sae } : {}), ...(b.sae ? { saeB: b.sae } : {}) };
}

/** The API's tap reference of a side. */
export function refOf(s: Side): { checkpoint: string; tap: string } {
  return { checkpoint: s.checkpoint, tap: s.tap };
}
