// The Neurons view: checkpoint and tap pickers, the table of every neuron of the tap (sortable, filterable,
// virtualized), and a neuron's page. The selection lives in the hash: #/neurons/CHECKPOINT/TAP/NEURON.
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { Empty, ErrorState, Loading } from '../components/States.js';
import { useClient, useQuery } from '../data.js';
import { VIEWS } from '../views.js';
import { ViewShell } from './ViewShell.js';
import { int, pct } from '../neurons/format.js';
import { NeuronFilters } from '../neurons/NeuronFilters.js';
import { NeuronPage } from '../neurons/NeuronPage.js';
import { NeuronTable } from '../neurons/NeuronTable.js';
import { RecordOffer } from '../neurons/RecordOffer.js';
import { formatHash, rememberTap, startingTap, useRoute } from '../neurons/route.js';
import { COLUMNS, NO_FILTER, filteredOrder, type NeuronFilter, type Sort } from '../neurons/table.js';
import { TapPicker, type TapValue } from '../neurons/TapPicker.js';
import { usableRecordings } from '../neurons/taps.js';
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
  const [ckPart, tapPart, neuronPart] = route.parts;
  const { checkpoint, tap } = startingTap(checkpoints, recordings, ckPart, tapPart);
  const neuron = neuronPart !== undefined && /^\d+$/.test(neuronPart) ? Number(neuronPart) : undefined;
  const recs = usableRecordings(recordings, checkpoints, checkpoint, tap);
  const select = (v: TapValue) => {
    rememberTap(v.checkpoint, v.tap);
    navigate(formatHash('neurons', [v.checkpoint, v.tap]));
  };
  const known = checkpoints.some((c) => c.name === checkpoint);
  return (
    <ViewShell view={view}>
      <div className="ms-toolbar">
        <TapPicker
          checkpoints={checkpoints}
          recordings={recordings}
          value={{ checkpoint, tap }}
          onChange={select}
        />
      </div>
      {!known ? (
        <UnknownCheckpoint name={checkpoint} checkpoints={checkpoints} />
      ) : recs.length === 0 ? (
        <RecordOffer checkpoint={checkpoint} tap={tap} what="The neuron table and pages" />
      ) : (
        <TapNeurons
          key={`${checkpoint}|${tap}|${recs[0].id}`}
          checkpoint={checkpoint}
          tap={tap}
          probe={recs[0].probeHash}
          recordingId={recs[0].id}
          neuron={neuron}
          navigate={navigate}
        />
      )}
    </ViewShell>
  );
}

/** The table and page of one recorded tap. */
function TapNeurons({
  checkpoint,
  tap,
  probe,
  recordingId,
  neuron,
  navigate,
}: {
  checkpoint: string;
  tap: string;
  probe: string;
  recordingId: number;
  neuron: number | undefined;
  navigate: (hash: string, push?: boolean) => void;
}) {
  const client = useClient();
  const ref = useMemo(() => ({ checkpoint, tap, probe }), [checkpoint, tap, probe]);
  const table = useQuery('neurons.table', ref);
  const [filter, setFilter] = useState<NeuronFilter>(NO_FILTER);
  const [sort, setSort] = useState<Sort>({ key: 'neuron', descending: false });
  const [active, setActive] = useState(0);
  const grid = useRef<HTMLDivElement>(null);
  const t = table.data;
  const order = useMemo(() => (t ? filteredOrder(t, filter, sort) : new Int32Array(0)), [t, filter, sort]);
  const position = neuron === undefined ? -1 : order.indexOf(neuron);

  const open = useCallback(
    (n: number, ck = checkpoint) => navigate(formatHash('neurons', [ck, tap, n]), true),
    [navigate, checkpoint, tap],
  );
  const back = useCallback(() => {
    if (position >= 0) setActive(position);
    navigate(formatHash('neurons', [checkpoint, tap]), true);
  }, [navigate, checkpoint, tap, position]);

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
      if (position >= 0 && next >= 0 && next < order.length) {
        setActive(next);
        navigate(formatHash('neurons', [checkpoint, tap, order[next]]));
      }
    },
    [position, order, navigate, checkpoint, tap],
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
    if (neuron === undefined || position < 0) return;
    const timer = setTimeout(() => {
      for (const k of [position + 1, position - 1]) {
        if (k >= 0 && k < order.length) prefetchPage(client, { ref, neuron: order[k] }, recordingId);
      }
    }, 400);
    return () => clearTimeout(timer);
  }, [client, ref, neuron, position, order, recordingId]);

  const onPage = neuron !== undefined;
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
            <Loading what={`the neurons of ${tap}`} />
          </div>
        ) : (
          <>
            <p className="ms-shares">
              {int(t.neurons)} neurons over {int(t.rows)} probe tokens:{' '}
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
                onOpen={open}
              />
            )}
            <details className="ms-definitions">
              <summary>What the columns mean</summary>
              <dl>
                {COLUMNS.map((c) => (
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
      {onPage && (
        <NeuronPage
          refInput={ref}
          version={recordingId}
          neuron={neuron}
          table={t}
          onOpen={(ck, n) => (ck === checkpoint ? open(n) : open(n, ck))}
          onBack={back}
          onStep={position >= 0 ? step : undefined}
          position={position >= 0 ? { index: position, count: order.length } : undefined}
        />
      )}
    </>
  );
}
