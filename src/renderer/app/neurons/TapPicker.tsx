// Checkpoint and tap pickers: every tap of the checkpoint's model, marked when it has no recording yet.
import { useId } from 'react';
import {
  tapKindsOf,
  isLayerPattern,
  layerPattern,
  tapsOf,
  usableRecordings,
  type CheckpointInfo,
  type RecordingInfo,
} from './taps.js';

export interface TapValue {
  checkpoint: string;
  tap: string;
}

export function TapPicker({
  checkpoints,
  recordings,
  value,
  onChange,
  label = '',
  recordedOnly = false,
  allLayers = false,
}: {
  checkpoints: CheckpointInfo[];
  recordings: RecordingInfo[];
  value: TapValue;
  onChange: (v: TapValue) => void;
  /** Prefix of the two labels, e.g. `A` for the first side of a comparison. */
  label?: string;
  /** List only recorded taps (for analyses that would otherwise record on demand). */
  recordedOnly?: boolean;
  /** Offer every layer of each tap kind (`blocks.*.mlp.post`) as one choice. */
  allLayers?: boolean;
}) {
  const id = useId();
  const ck = checkpoints.find((c) => c.name === value.checkpoint);
  const taps = tapsOf(ck);
  const recorded = (tap: string) =>
    usableRecordings(recordings, checkpoints, value.checkpoint, tap).length > 0;
  const shown = recordedOnly ? taps.filter((t) => recorded(t) || t === value.tap) : taps;
  const pickCheckpoint = (name: string) => {
    const next = checkpoints.find((c) => c.name === name);
    const nextTaps = tapsOf(next);
    const rec = (t: string) => usableRecordings(recordings, checkpoints, name, t).length > 0;
    // Keep the tap (or every layer) when the other model has it; else its first recorded tap.
    const keep = nextTaps.includes(value.tap) || isLayerPattern(value.tap);
    const tap = keep ? value.tap : (nextTaps.find(rec) ?? nextTaps[0] ?? value.tap);
    onChange({ checkpoint: name, tap });
  };
  return (
    <div className="ms-picker">
      <label htmlFor={`${id}-ck`}>
        {label ? `${label} checkpoint` : 'Checkpoint'}
        <select id={`${id}-ck`} value={value.checkpoint} onChange={(e) => pickCheckpoint(e.target.value)}>
          {!ck && <option value={value.checkpoint}>{value.checkpoint || '—'}</option>}
          {checkpoints.map((c) => (
            <option key={c.name} value={c.name}>
              {c.name}
              {c.stage && c.stage !== c.name ? ` (${c.stage})` : ''}
            </option>
          ))}
        </select>
      </label>
      <label htmlFor={`${id}-tap`}>
        {label ? `${label} tap` : 'Tap'}
        <select
          id={`${id}-tap`}
          value={value.tap}
          onChange={(e) => onChange({ ...value, tap: e.target.value })}
        >
          {!taps.includes(value.tap) && !(allLayers && isLayerPattern(value.tap)) && (
            <option value={value.tap}>{value.tap || '—'}</option>
          )}
          {allLayers &&
            taps.length > 0 &&
            tapKindsOf(ck).map((k) => (
              <option key={k} value={layerPattern(k)}>
                {layerPattern(k)} (all layers)
              </option>
            ))}
          {shown.map((t) => (
            <option key={t} value={t}>
              {t}
              {recorded(t) ? '' : ' (not recorded)'}
            </option>
          ))}
        </select>
      </label>
    </div>
  );
}
