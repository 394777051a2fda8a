// The Neurons view: checkpoint and tap pickers, the table of every neuron of the tap or of every layer
// (sortable, filterable, searchable, virtualized), and a neuron's page. The selection lives in the hash:
// #/neurons/CHECKPOINT/TAP/NEURON, or for every layer #/neurons/CHECKPOINT/blocks.*.mlp.post/TAP/NEURON.
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { Empty, ErrorState, Loading } from '../components/States.js';
import { useClient } from '../data.js';
import { VIEWS } from '../views.js';
import { ViewShell } from './ViewShell.js';
import { int, pct } from '../neurons/format.js';
import { NeuronFilters } from '../neurons/NeuronFilters.js';
import { NeuronPage } from '../neurons/NeuronPage.js';
import { NeuronTable } from '../neurons/NeuronTable.js';
import { RecordOffer } from '../neurons/RecordOffer.js';
import { formatHash, rememberTap, startingTap, useRoute } from '../neurons/route.js';
import { NO_FILTER, columnsOf, filteredOrder, type NeuronFilter, type Sort } from '../neurons/table.js';
import { TapPicker, type TapValue } from '../neurons/TapPicker.js';
import { isLayerPattern, matchesPattern, tapsOf, usableRecordings } from '../neurons/taps.js';
import { useNeuronRows, type TableTap } from '../neurons/useNeuronRows.js';
import { prefetchPage } from '../neurons/usePage.js';
import { UnknownCheckpoint, useProjectTaps } from '../neurons/useProjectTaps.js';
import '../neurons/neurons.css';

const view = VIEWS.find((v) => v.id === 'neurons')!;

/** True when a key event comes from a field where keys type text. */
function typing(target: EventTarget | null): boolean {
  return (
    target instanceof HTMLElement &&
    (target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName))
  );
}

export function NeuronsView() {
  const [route, navigate] = useRoute('neurons');
  const taps = useProjectTaps(
    view,
    <Empty title="No checkpoints yet">
      Train a model (or run <code>monoscope demo</code>) to get checkpoints; each recorded tap then lists its
      neurons here.
    </Empty>,
  );
  if (taps.kind === 'no-project') return taps.element;
  if (taps.kind === 'pending') return <ViewShell view={view}>{taps.element}</ViewShell>;
  const { checkpoints, recordings } = taps;
  const [ckPart, tapPart, ...rest] = route.parts;
  const { checkpoint, tap } = startingTap(checkpoints, recordings, ckPart, tapPart);
  // Every layer (`blocks.*.mlp.post`): the page's tap comes before its neuron in the hash.
  const all = isLayerPattern(tap);
  const [pageTap, neuronPart] = all ? rest : [tap, rest[0]];
  const neuron = neuronPart !== undefined && /^\d+$/.test(neuronPart) ? Number(neuronPart) : undefined;
  const ck = checkpoints.find((c) => c.name === checkpoint);
  const tableTaps = (all ? tapsOf(ck).filter((t) => matchesPattern(tap, t)) : [tap]).flatMap((t) => {
    const r = usableRecordings(recordings, checkpoints, checkpoint, t)[0];
    return r ? [{ tap: t, probe: r.probeHash, recordingId: r.id }] : [];
  });
  const select = (v: TapValue) => {
    if (!isLayerPattern(v.tap)) rememberTap(v.checkpoint, v.tap);
    navigate(formatHash('neurons', [v.checkpoint, v.tap]));
  };
  return (
    <ViewShell view={view}>
      <div className="ms-toolbar">
        <TapPicker
          checkpoints={checkpoints}
          recordings={recordings}
          value={{ checkpoint, tap }}
          onChange={select}
          allLayers
        />
      </div>
      {!ck ? (
        <UnknownCheckpoint name={checkpoint} checkpoints={checkpoints} />
      ) : tableTaps.length === 0 ? (
        <RecordOffer checkpoint={checkpoint} tap={tap} what="The neuron table and pages" />
      ) : (
        <TapNeurons
          key={`${checkpoint}|${tap}|${tableTaps.map((t) => t.recordingId).join(',')}`}
          checkpoint={checkpoint}
          tap={tap}
          taps={tableTaps}
          selected={neuron === undefined || pageTap === undefined ? undefined : { tap: pageTap, neuron }}
          navigate={navigate}
        />
      )}
    </ViewShell>
  );
}

/** The table of one recorded tap, or of every recorded layer of a tap kind, and a neuron's page. */
function TapNeurons({
  checkpoint,
  tap,
  taps,
  selected,
  navigate,
}: {
  checkpoint: string;
  /** The tap, or the pattern of the layers shown. */
  tap: string;
  taps: (TableTap & { recordingId: number })[];
  selected: { tap: string; neuron: number } | undefined;
  navigate: (hash: string, push?: boolean) => void;
}) {
  const client = useClient();
  const all = isLayerPattern(tap);
  const table = useNeuronRows(
    checkpoint,
    tap,
    useMemo(() => taps.map(({ tap: name, probe }) => ({ tap: name, probe })), [taps]),
  );
  const [filter, setFilter] = useState<NeuronFilter>(NO_FILTER);
  const [sort, setSort] = useState<Sort>({ key: all ? 'layer' : 'neuron', descending: false });
  const [active, setActive] = useState(0);
  const grid = useRef<HTMLDivElement>(null);
  const t = table.data;
  const order = useMemo(() => (t ? filteredOrder(t, filter, sort) : new Int32Array(0)), [t, filter, sort]);
  /** The table's row of a neuron of one of its taps (rows are the taps' neurons one after another). */
  const rowOf = useCallback(
    (name: string, n: number) => {
      if (!t) return -1;
      let at = 0;
      for (const x of t.tables) {
        if (x.tap === name) return n < x.neurons ? at + n : -1;
        at += x.neurons;
      }
      return -1;
    },
    [t],
  );
  const neuron = selected?.neuron;
  const selectedRow = selected ? rowOf(selected.tap, selected.neuron) : -1;
  const position = selectedRow < 0 ? -1 : order.indexOf(selectedRow);
  const pageOf = selected ? taps.find((x) => x.tap === selected.tap) : undefined;

  /** The hash of neuron `n` of tap `name`, or of the table (no neuron). */
  const hashOf = useCallback(
    (name?: string, n?: number, ck = checkpoint) =>
      formatHash('neurons', n === undefined ? [ck, tap] : all ? [ck, tap, name!, n] : [ck, name!, n]),
    [checkpoint, tap, all],
  );
  const openRow = useCallback(
    (row: number) => t && navigate(hashOf(t.tables[t.tapOf[row]].tap, t.neuronOf[row]), true),
    [t, navigate, hashOf],
  );
  const back = useCallback(() => {
    if (position >= 0) setActive(position);
    navigate(hashOf(), true);
  }, [navigate, hashOf, position]);

  // Back from a page (Escape, the button, the browser's back), the table has the focus again.
  const wasOnPage = useRef(false);
  useEffect(() => {
    if (wasOnPage.current && neuron === undefined)
      grid.current?.querySelector<HTMLElement>('[role="grid"]')?.focus();
    wasOnPage.current = neuron !== undefined;
  }, [neuron]);
  const step = useCallback(
    (delta: -1 | 1) => {
      const next = position + delta;
      if (t && position >= 0 && next >= 0 && next < order.length) {
        setActive(next);
        navigate(hashOf(t.tables[t.tapOf[order[next]]].tap, t.neuronOf[order[next]]));
      }
    },
    [t, position, order, navigate, hashOf],
  );

  // Keys of the page: Escape back to the table, [ and ] step through the table's order.
  useEffect(() => {
    if (neuron === undefined) return;
    const onKey = (e: KeyboardEvent) => {
      // Not while typing or while a dialog is open (the app's Escape closes it; it also marks the event handled).
      if (
        e.ctrlKey ||
        e.metaKey ||
        e.altKey ||
        typing(e.target) ||
        document.querySelector('[aria-modal="true"]')
      )
        return;
      if (e.key === 'Escape') back();
      else if (e.key === '[') step(-1);
      else if (e.key === ']') step(1);
      else return;
      e.preventDefault();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [neuron, back, step]);

  // The neighbours in the table's order are likely next: ask for them while the user reads.
  useEffect(() => {
    if (!t || neuron === undefined || position < 0) return;
    const timer = setTimeout(() => {
      for (const k of [position + 1, position - 1]) {
        if (k < 0 || k >= order.length) continue;
        const x = taps[t.tapOf[order[k]]];
        prefetchPage(
          client,
          { ref: { checkpoint, tap: x.tap, probe: x.probe }, neuron: t.neuronOf[order[k]] },
          x.recordingId,
        );
      }
    }, 400);
    return () => clearTimeout(timer);
  }, [client, t, taps, checkpoint, neuron, position, order]);
  const pageRef = useMemo(
    () => (pageOf ? { checkpoint, tap: pageOf.tap, probe: pageOf.probe } : undefined),
    [checkpoint, pageOf],
  );

  const onPage = neuron !== undefined && pageOf !== undefined;
  return (
    <>
      <div ref={grid} hidden={onPage} className="ms-table-area">
        {table.error ? (
          <ErrorState
            title={`The neurons of ${tap} could not be read`}
            error={table.error}
            onRetry={table.reload}
          />
        ) : !t ? (
          <div className="ms-table-placeholder">
            <Loading
              what={`the neurons of ${tap}${taps.length > 1 ? ` (${table.done} of ${taps.length} layers read)` : ''}`}
            />
          </div>
        ) : (
          <>
            <p className="ms-shares">
              {int(t.neurons)} neurons{all ? ` in ${t.tables.length} layers` : ''} over {int(t.rows)} probe
              tokens:{' '}
              {(['monosemantic', 'polysemantic', 'dead'] as const).map((k, i) => (
                <span key={k}>
                  {i > 0 && ' · '}
                  <span className={`ms-badge ${k}`}>{k}</span> {pct(t.shares[k])}
                </span>
              ))}{' '}
              <span className="ms-muted ms-small">
                (monosemantic: top-20 share ≥ {t.thresholds.minTopKShare} and selectivity ≥{' '}
                {t.thresholds.minSelectivity}; dead: active on ≤ {pct(t.thresholds.deadMaxFraction)} of
                tokens)
              </span>
            </p>
            <NeuronFilters
              filter={filter}
              onChange={setFilter}
              concepts={t.concepts}
              shown={order.length}
              total={t.neurons}
            />
            {order.length === 0 ? (
              <div className="ms-table-placeholder">
                <Empty
                  title="No neuron passes these filters"
                  action={<button onClick={() => setFilter(NO_FILTER)}>Clear filters</button>}
                >
                  Widen the density range or lower the score threshold.
                </Empty>
              </div>
            ) : (
              <NeuronTable
                table={t}
                order={order}
                sort={sort}
                onSort={setSort}
                active={Math.min(active, order.length - 1)}
                onActive={setActive}
                onOpen={openRow}
              />
            )}
            <details className="ms-definitions">
              <summary>What the columns mean</summary>
              <dl>
                {columnsOf(t).map((c) => (
                  <div key={c.key}>
                    <dt>{c.label}</dt>
                    <dd>{c.definition}</dd>
                  </div>
                ))}
              </dl>
            </details>
          </>
        )}
      </div>
      {onPage && pageOf && pageRef && (
        <NeuronPage
          refInput={pageRef}
          version={pageOf.recordingId}
          neuron={neuron}
          table={t?.tables.find((x) => x.tap === pageOf.tap)}
          onOpen={(ck, n) =>
            navigate(
              ck === checkpoint ? hashOf(pageOf.tap, n) : formatHash('neurons', [ck, pageOf.tap, n]),
              true,
            )
          }
          onBack={back}
          onStep={position >= 0 ? step : undefined}
          position={position >= 0 ? { index: position, count: order.length } : undefined}
        />
      )}
    </>
  );
}
