// The project's checkpoints: stage, parent, weights hash and creation time; arrow keys move between rows.
import { Empty, ErrorState, Loading } from '../components/States.js';
import { SelectableTable, type Column } from '../components/SelectableTable.js';
import { fmtTime } from '../components/format.js';
import type { QueryState } from '../data.js';
import type { OpResult } from '../../../core/service.js';
import { useState } from 'react';

type Checkpoint = OpResult<'checkpoints.list'>[number];

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
  { key: 'created', header: 'Created', cell: (c) => fmtTime(c.createdAt) },
];

export function CheckpointsTable({ state }: { state: QueryState<Checkpoint[]> }) {
  const [picked, setPicked] = useState<string>();
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
        columns={COLUMNS}
        rowKey={(c) => c.name}
        selected={picked ? [picked] : []}
        onSelect={(c) => setPicked(c.name)}
      />
      {selected && (
        <p className="hint checkpoint-detail">
          <span className="mono">{selected.dir}</span> · {String(selected.config.nLayer ?? '?')} blocks,
          d_model {String(selected.config.nEmbd ?? '?')}, d_mlp {String(selected.config.nInner ?? '?')}
          {selected.runId ? ` · written by run ${selected.runId}` : ''}
        </p>
      )}
    </>
  );
}
