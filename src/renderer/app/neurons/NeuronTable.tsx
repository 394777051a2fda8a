// Every neuron of a tap (or of every layer) in a virtualized grid (only the visible rows are in the DOM):
// headers sort, arrow keys move the active row, Enter or a click opens the neuron's page.
import { memo, useEffect, useId, useRef, type KeyboardEvent } from 'react';
import { useVirtualizer } from '@tanstack/react-virtual';
import { cellText, columnsOf, type ColumnKey, type NeuronRows, type Sort } from './table.js';

const ROW_HEIGHT = 30;

/** The grid; memoized, so that it is left alone while a neuron's page is open over it. */
export const NeuronTable = memo(function NeuronTable({
  table,
  order,
  sort,
  onSort,
  active,
  onActive,
  onOpen,
  height = 480,
}: {
  table: NeuronRows;
  /** Row indices in display order (after filters and sort). */
  order: Int32Array;
  sort: Sort;
  onSort: (s: Sort) => void;
  /** Position of the active row in `order`. */
  active: number;
  onActive: (position: number) => void;
  /** Opens the neuron of a row (an index into the table's rows). */
  onOpen: (row: number) => void;
  height?: number;
}) {
  const columns = columnsOf(table);
  const template = columns.map((c) => (c.width === '1fr' ? 'minmax(62px, 1fr)' : c.width)).join(' ');
  const scroller = useRef<HTMLDivElement>(null);
  const hintId = useId();
  const rows = useVirtualizer({
    count: order.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 12,
  });

  useEffect(() => {
    if (active >= 0 && active < order.length) rows.scrollToIndex(active, { align: 'auto' });
  }, [active, order, rows]);

  const onKeyDown = (e: KeyboardEvent) => {
    // Keys typed on a header's sort button are the button's.
    if (e.target !== e.currentTarget || order.length === 0) return;
    const page = Math.max(1, Math.floor(height / ROW_HEIGHT) - 2);
    let next = active;
    if (e.key === 'ArrowDown' || e.key === 'j') next = Math.min(order.length - 1, active + 1);
    else if (e.key === 'ArrowUp' || e.key === 'k') next = Math.max(0, active - 1);
    else if (e.key === 'PageDown') next = Math.min(order.length - 1, active + page);
    else if (e.key === 'PageUp') next = Math.max(0, active - page);
    else if (e.key === 'Home') next = 0;
    else if (e.key === 'End') next = order.length - 1;
    else if (e.key === 'Enter' && active >= 0 && active < order.length) {
      e.preventDefault();
      onOpen(order[active]);
      return;
    } else return;
    e.preventDefault();
    onActive(next);
  };

  const sortBy = (key: ColumnKey) =>
    onSort(
      sort.key === key
        ? { key, descending: !sort.descending }
        : { key, descending: !['layer', 'neuron', 'label', 'dominantConcept', 'topToken'].includes(key) },
    );

  const activeId = active >= 0 && active < order.length ? `neuron-row-${order[active]}` : undefined;
  return (
    <div
      className="ms-grid"
      role="grid"
      aria-label={`Neurons of ${table.tap} in ${table.checkpoint}`}
      aria-rowcount={order.length + 1}
      aria-colcount={columns.length}
      tabIndex={0}
      aria-activedescendant={activeId}
      aria-describedby={hintId}
      onKeyDown={onKeyDown}
    >
      <span id={hintId} hidden>
        Arrow keys, Page Up, Page Down, Home and End move; Enter opens the neuron.
      </span>
      <div className="ms-grid-head" role="row" aria-rowindex={1} style={{ gridTemplateColumns: template }}>
        {columns.map((c) => {
          const sorted = sort.key === c.key;
          return (
            <div
              key={c.key}
              role="columnheader"
              aria-sort={sorted ? (sort.descending ? 'descending' : 'ascending') : 'none'}
              className={c.numeric ? 'num' : undefined}
            >
              <button type="button" onClick={() => sortBy(c.key)} title={c.definition}>
                {c.label}
                <span className="ms-sort" aria-hidden="true">
                  {sorted ? (sort.descending ? '▼' : '▲') : ''}
                </span>
              </button>
            </div>
          );
        })}
      </div>
      <div ref={scroller} className="ms-grid-body" style={{ height }} role="rowgroup">
        <div style={{ height: rows.getTotalSize(), position: 'relative' }}>
          {rows.getVirtualItems().map((v) => {
            const i = order[v.index];
            return (
              <div
                key={i}
                id={`neuron-row-${i}`}
                role="row"
                aria-rowindex={v.index + 2}
                aria-selected={v.index === active}
                className={v.index === active ? 'ms-row active' : 'ms-row'}
                data-neuron={table.neuronOf[i]}
                data-tap={table.tables[table.tapOf[i]].tap}
                style={{
                  transform: `translateY(${v.start}px)`,
                  height: ROW_HEIGHT,
                  gridTemplateColumns: template,
                }}
                onClick={() => {
                  onActive(v.index);
                  onOpen(i);
                }}
              >
                {columns.map((c) => (
                  <div
                    key={c.key}
                    role="gridcell"
                    className={
                      c.numeric ? 'num' : c.key === 'label' ? `ms-label-${table.label[i]}` : undefined
                    }
                  >
                    {c.key === 'label' ? (
                      <span className={`ms-badge ${table.label[i]}`}>{table.label[i]}</span>
                    ) : (
                      cellText(table, c, i)
                    )}
                  </div>
                ))}
              </div>
            );
          })}
        </div>
      </div>
    </div>
  );
});
