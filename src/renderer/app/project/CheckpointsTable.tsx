// The project's checkpoints: stage, parent, weights hash, creation time and recorded taps; arrow keys move
// between rows, Enter shows a checkpoint's folder, shape and recordings.
import { Empty, ErrorState, Loading } from '../components/States.js';
import { SelectableTable, type Column } from '../components/SelectableTable.js';
import { Time } from '../components/Time.js';
import type { QueryState } from '../data.js';
import type { OpResult } from '../../../core/api.js';
import { useState } from 'react';

type Checkpoint = OpResult<'checkpoints.list'>[number];
type Recording = OpResult<'recordings.list'>[number];

const COLUMNS: Column<Checkpoint>[] = [
  { key: 'name', header: 'Checkpoint', cell: (c) => <span className="mono">{c.name}</span> },
  { key: 'stage', header: 'Stage', cell: (c) => c.stage },
  { key: 'parent', header: 'Parent', cell: (c) => c.parent ?? '–' },
  {
    key: 'hash',
    header: 'Hash',
    title: 'sha256 of model.safetensors: recordings and analyses are tied to it',
    cell: (c) => (
      <span className="mono" title={c.hash}>
        {c.hash.slice(0, 12)}
      </span>
    ),
  },
  { key: 'created', header: 'Created', cell: (c) => <Time iso={c.createdAt} /> },
];

export function CheckpointsTable({
  state,
  recordings,
}: {
  state: QueryState<Checkpoint[]>;
  /** The project's recordings (complete ones are counted per checkpoint). */
  recordings: Recording[] | undefined;
}) {
  const [picked, setPicked] = useState<string>();
  const recorded = (name: string) =>
    (recordings ?? []).filter((r) => r.checkpoint === name && r.status === 'complete');
  const columns: Column<Checkpoint>[] = [
    ...COLUMNS,
    {
      key: 'taps',
      header: 'Recorded',
      numeric: true,
      title: 'Taps recorded over a probe set (the Neurons and Heatmap views read them)',
      cell: (c) => (recordings ? recorded(c.name).length : '…'),
    },
  ];
  if (state.error)
    return (
      <ErrorState title="The checkpoints could not be read" error={state.error} onRetry={state.reload} />
    );
  if (!state.data) return <Loading what="checkpoints" />;
  if (state.data.length === 0)
    return (
      <Empty title="No checkpoints yet">
        A finished training run writes one; so does importing a folder.
      </Empty>
    );
  const selected = state.data.find((c) => c.name === picked);
  return (
    <>
      <SelectableTable
        label="Checkpoints"
        rows={state.data}
        columns={columns}
        rowKey={(c) => c.name}
        selected={picked ? [picked] : []}
        onSelect={(c) => setPicked(c.name)}
      />
      {selected && (
        <p className="hint checkpoint-detail">
          <span className="mono">{selected.dir}</span> · {String(selected.config.nLayer ?? '?')} blocks,
          d_model {String(selected.config.nEmbd ?? '?')}, d_mlp {String(selected.config.nInner ?? '?')}
          {selected.runId ? ` · written by run ${selected.runId}` : ''}
          {recorded(selected.name).length > 0 &&
            ` · recorded: ${recorded(selected.name)
              .map(
                (r) =>
                  `${r.tap} (${r.rows.toLocaleString('en-US')} tokens, probe ${r.probeHash.slice(0, 8)})`,
              )
              .join(', ')}`}
        </p>
      )}
    </>
  );
}
