// The correlation matrix on a 2D canvas. The matrix is coloured once, with the heatmap figure's colour
// scale and raster function (so the export matches), into an image pyramid: level L is the matrix reduced
// by 2^L (block means, or the value of largest |r| of each block) down to ≤ 128 px, each level cut into
// tiles of at most 1,024² pixels. Coarse levels are coloured first, so a large matrix shows at once and
// sharpens; each frame draws only the tiles of one level that the view overlaps, never cell by cell. Wheel
// or +/− zoom (about the pointer or the centre), drag or arrows pan, 0 fits, hover shows the values, a
// click or Enter opens the row neuron.
import { useEffect, useRef, useState, type MutableRefObject } from 'react';
import { heatmapColourScale, heatmapRaster, type Theme } from '../../../shared/figures/index.js';
import { num, signed } from '../neurons/format.js';
import { blockReduce, subGrid, type BlockReduction, type Grid } from '../../../shared/specs/pyramid.js';
import {
  TILE,
  cellAt,
  clampViewport,
  fitViewport,
  permuted,
  pyramidLevel,
  visibleRange,
  visibleTiles,
  zoomAt,
  type Viewport,
} from './viewport.js';

/** What the view's buttons and the export need from the canvas. */
export interface HeatmapControls {
  zoom(factor: number): void;
  fit(): void;
  /** Display rows and columns at least partly visible: [first, last). */
  visible(): { rows: [number, number]; cols: [number, number] };
}

export interface HeatmapCanvasProps {
  n: number;
  /** The values drawn (correlations, or differences), row-major in neuron order. */
  values: Float32Array;
  /** For differences: this checkpoint's correlations (the other's are corr − diff). */
  corr?: Float32Array;
  /** Display order (`order[i]` is the neuron at row and column i), or null for neuron order. */
  order: Int32Array | null;
  domain: [number, number];
  /** How the zoomed-out levels reduce a block of cells. */
  reduce: BlockReduction;
  theme: Theme;
  /** Names of the two checkpoints when `values` are differences (this − other). */
  diff?: { self: string; other: string };
  onOpen: (neuron: number) => void;
  controls: MutableRefObject<HeatmapControls | null>;
}

const ZOOM_STEP = 1.6;
const ANIMATION_MS = 160;

export function HeatmapCanvas({
  n,
  values,
  corr,
  order,
  domain,
  reduce,
  theme,
  diff,
  onOpen,
  controls: controlsRef,
}: HeatmapCanvasProps) {
  const wrap = useRef<HTMLDivElement>(null);
  const canvas = useRef<HTMLCanvasElement>(null);
  const tip = useRef<HTMLDivElement>(null);
  const announce = useRef<HTMLDivElement>(null);
  const [ready, setReady] = useState(false);
  const [failed, setFailed] = useState<string>();
  const onOpenRef = useRef(onOpen);
  useEffect(() => {
    onOpenRef.current = onOpen;
  });

  useEffect(() => {
    const el = canvas.current!;
    const box = wrap.current!;
    const ctx = el.getContext('2d', { alpha: false });
    if (!ctx) {
      setFailed('This browser gives no 2D canvas.');
      return;
    }
    let alive = true;
    /** Level L (factor 2^L): its side in pixels and its tiles, row-major; coloured coarsest first. */
    let levels: { size: number; tiles: ImageBitmap[] }[] = [];
    /** Levels from `finest` up are all coloured. */
    let finest = Infinity;
    let v: Viewport = { scale: 1, x: 0, y: 0 };
    let w = 0;
    let h = 0;
    let dpr = 1;
    let fitted = false;
    let hover: { row: number; col: number } | null = null;
    let frame = 0;
    let drag: { x: number; y: number; vx: number; vy: number; moved: boolean; id: number } | null = null;
    let anim: { from: Viewport; factor: number; px: number; py: number; t0: number } | null = null;

    const neuronAt = (i: number) => (order ? order[i] : i);
    const valueAt = (row: number, col: number, m: Float32Array) => m[neuronAt(row) * n + neuronAt(col)];

    const draw = () => {
      frame = 0;
      if (anim) {
        const t = Math.min(1, (performance.now() - anim.t0) / ANIMATION_MS);
        const eased = 1 - (1 - t) ** 3;
        v = clampViewport(zoomAt(anim.from, anim.factor ** eased, anim.px, anim.py), n, w, h);
        if (t < 1) request();
        else anim = null;
      }
      ctx.setTransform(1, 0, 0, 1, 0, 0);
      ctx.fillStyle = theme.background;
      ctx.fillRect(0, 0, el.width, el.height);
      if (finest === Infinity) return;
      const device = v.scale * dpr;
      const level = Math.max(finest, pyramidLevel(device, levels.length));
      const { size, tiles } = levels[level];
      const factor = 2 ** level;
      const across = Math.ceil(size / TILE);
      const { rows, cols } = visibleRange(v, n, w, h);
      ctx.imageSmoothingEnabled = level > 0;
      ctx.imageSmoothingQuality = 'low';
      ctx.setTransform(device, 0, 0, device, v.x * dpr, v.y * dpr);
      // A level's last pixel may stand for a partial block: nothing is drawn past the matrix's edge.
      ctx.save();
      ctx.beginPath();
      ctx.rect(0, 0, n, n);
      ctx.clip();
      for (const [ti, tj] of visibleTiles(size, factor, rows, cols)) {
        const tile = tiles[ti * across + tj];
        const s0 = TILE * factor;
        ctx.drawImage(tile, tj * s0, ti * s0, tile.width * factor, tile.height * factor);
      }
      ctx.restore();
      el.dataset.level = String(level);
      if (hover) {
        ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
        const x = v.x + hover.col * v.scale;
        const y = v.y + hover.row * v.scale;
        ctx.fillStyle = theme.name === 'dark' ? 'rgba(255,255,255,0.10)' : 'rgba(0,0,0,0.07)';
        ctx.fillRect(v.x, y, n * v.scale, Math.max(1, v.scale));
        ctx.fillRect(x, v.y, Math.max(1, v.scale), n * v.scale);
        ctx.strokeStyle = theme.foreground;
        ctx.lineWidth = 1.5;
        const s = Math.max(v.scale, 6);
        ctx.strokeRect(x + v.scale / 2 - s / 2, y + v.scale / 2 - s / 2, s, s);
      }
    };
    const request = () => {
      if (!frame) frame = requestAnimationFrame(draw);
    };

    const showTip = (cell: { row: number; col: number } | null, px: number, py: number, speak: boolean) => {
      hover = cell;
      const t = tip.current!;
      if (!cell) {
        t.hidden = true;
        request();
        return;
      }
      const r = neuronAt(cell.row);
      const c = neuronAt(cell.col);
      const value = valueAt(cell.row, cell.col, values);
      const lines = [`row neuron ${r} · column neuron ${c}`];
      if (diff && corr) {
        const here = valueAt(cell.row, cell.col, corr);
        lines.push(
          `Δr = ${signed(value)}`,
          `r ${diff.self} = ${num(here)} · r ${diff.other} = ${num(here - value)}`,
        );
      } else lines.push(`r = ${num(value)}`);
      lines.push('click: open the row neuron');
      t.replaceChildren(
        ...lines.map((l, i) =>
          Object.assign(document.createElement('div'), {
            textContent: l,
            className: i === 1 ? 'ms-hm-tip-value' : i === lines.length - 1 ? 'ms-hm-tip-hint' : '',
          }),
        ),
      );
      t.hidden = false;
      const tw = t.offsetWidth;
      const th = t.offsetHeight;
      t.style.transform = `translate(${Math.round(px + 14 + tw > w ? px - tw - 10 : px + 14)}px, ${Math.round(py + 14 + th > h ? py - th - 10 : py + 14)}px)`;
      if (speak && announce.current) announce.current.textContent = lines.slice(0, -1).join(', ');
      request();
    };

    const resize = () => {
      const rect = box.getBoundingClientRect();
      w = Math.max(1, Math.round(rect.width));
      h = Math.max(1, Math.round(rect.height));
      dpr = window.devicePixelRatio || 1;
      el.width = Math.round(w * dpr);
      el.height = Math.round(h * dpr);
      el.style.width = `${w}px`;
      el.style.height = `${h}px`;
      v = fitted ? clampViewport(v, n, w, h) : fitViewport(n, w, h);
      fitted = true;
      request();
    };
    const observer = new ResizeObserver(resize);
    observer.observe(box);
    resize();

    const zoomAbout = (factor: number, px: number, py: number, animate: boolean) => {
      if (animate) {
        anim = { from: v, factor, px, py, t0: performance.now() };
      } else {
        anim = null;
        v = clampViewport(zoomAt(v, factor, px, py), n, w, h);
      }
      request();
    };
    controlsRef.current = {
      zoom: (factor) => zoomAbout(factor, w / 2, h / 2, true),
      fit: () => {
        anim = null;
        v = fitViewport(n, w, h);
        request();
      },
      visible: () => visibleRange(v, n, w, h),
    };

    const local = (e: { clientX: number; clientY: number }) => {
      const r = el.getBoundingClientRect();
      return [e.clientX - r.left, e.clientY - r.top] as const;
    };
    const onWheel = (e: WheelEvent) => {
      e.preventDefault();
      const [px, py] = local(e);
      const unit = e.deltaMode === 1 ? 0.05 : e.deltaMode === 2 ? 1 : 0.0015;
      zoomAbout(Math.exp(-e.deltaY * unit), px, py, false);
      showTip(cellAt(v, px, py, n), px, py, false);
    };
    const onDown = (e: PointerEvent) => {
      if (e.button !== 0) return;
      el.focus({ preventScroll: true });
      el.setPointerCapture(e.pointerId);
      drag = { x: e.clientX, y: e.clientY, vx: v.x, vy: v.y, moved: false, id: e.pointerId };
    };
    const onMove = (e: PointerEvent) => {
      const [px, py] = local(e);
      if (drag) {
        const dx = e.clientX - drag.x;
        const dy = e.clientY - drag.y;
        if (Math.abs(dx) + Math.abs(dy) > 3) drag.moved = true;
        if (drag.moved) {
          anim = null;
          v = clampViewport({ scale: v.scale, x: drag.vx + dx, y: drag.vy + dy }, n, w, h);
          el.classList.add('dragging');
        }
      }
      showTip(cellAt(v, px, py, n), px, py, false);
    };
    const onUp = (e: PointerEvent) => {
      if (!drag) return;
      const click = !drag.moved;
      if (el.hasPointerCapture(drag.id)) el.releasePointerCapture(drag.id);
      drag = null;
      el.classList.remove('dragging');
      if (click) {
        const [px, py] = local(e);
        const cell = cellAt(v, px, py, n);
        if (cell) onOpenRef.current(neuronAt(cell.row));
      }
    };
    const onLeave = () => {
      if (!drag) showTip(null, 0, 0, false);
    };
    const onKey = (e: KeyboardEvent) => {
      const step = (e.shiftKey ? 0.5 : 0.15) * Math.min(w, h);
      const pan = (dx: number, dy: number) => {
        anim = null;
        v = clampViewport({ scale: v.scale, x: v.x + dx, y: v.y + dy }, n, w, h);
      };
      if (e.key === 'ArrowLeft') pan(step, 0);
      else if (e.key === 'ArrowRight') pan(-step, 0);
      else if (e.key === 'ArrowUp') pan(0, step);
      else if (e.key === 'ArrowDown') pan(0, -step);
      else if (e.key === '+' || e.key === '=') zoomAbout(ZOOM_STEP, w / 2, h / 2, true);
      else if (e.key === '-' || e.key === '_') zoomAbout(1 / ZOOM_STEP, w / 2, h / 2, true);
      else if (e.key === '0') controlsRef.current?.fit();
      else if (e.key === 'Enter') {
        const cell = hover ?? cellAt(v, w / 2, h / 2, n);
        if (cell) onOpenRef.current(neuronAt(cell.row));
        e.preventDefault();
        return;
      } else return;
      e.preventDefault();
      e.stopPropagation();
      // The keyboard's cell is the one at the centre of the view.
      requestAnimationFrame(() => showTip(cellAt(v, w / 2, h / 2, n), w / 2, h / 2, true));
      request();
    };
    // Every listener goes with one abort, in the cleanup.
    const listening = new AbortController();
    const { signal } = listening;
    el.addEventListener('wheel', onWheel, { passive: false, signal });
    el.addEventListener('pointerdown', onDown, { signal });
    el.addEventListener('pointermove', onMove, { signal });
    el.addEventListener('pointerup', onUp, { signal });
    el.addEventListener('pointercancel', onUp, { signal });
    el.addEventListener('pointerleave', onLeave, { signal });
    el.addEventListener('keydown', onKey, { signal });

    // Reduce the matrix level by level, then colour the levels coarsest first, tile by tile, yielding
    // between tiles so the page stays responsive.
    (async () => {
      try {
        const scale = heatmapColourScale(values, { domain }, theme);
        const grids: Grid[] = [{ values: permuted(values, n, order), rows: n, cols: n }];
        while (grids[grids.length - 1].rows > 128)
          grids.push(blockReduce(grids[grids.length - 1], 2, reduce));
        levels = grids.map((g) => ({ size: g.rows, tiles: [] }));
        for (let level = grids.length - 1; level >= 0; level--) {
          const g = grids[level];
          const tiles: ImageBitmap[] = [];
          for (let r0 = 0; r0 < g.rows; r0 += TILE) {
            for (let c0 = 0; c0 < g.cols; c0 += TILE) {
              const tile = subGrid(g, r0, c0, Math.min(TILE, g.rows - r0), Math.min(TILE, g.cols - c0));
              const rgba = heatmapRaster(tile, { domain }, scale, theme, 1);
              const image = new ImageData(
                new Uint8ClampedArray(rgba.buffer as ArrayBuffer, rgba.byteOffset, rgba.length),
                tile.cols,
                tile.rows,
              );
              tiles.push(await createImageBitmap(image));
              if (!alive) {
                for (const b of tiles) b.close();
                return;
              }
              await new Promise((r) => setTimeout(r, 0));
            }
          }
          levels = levels.map((l, i) => (i === level ? { size: l.size, tiles } : l));
          finest = level;
          grids.splice(level); // the finer grids are all that is still needed
          request();
        }
        if (alive) {
          el.dataset.ready = 'true';
          setReady(true);
          request();
        }
      } catch (e) {
        if (alive) setFailed(e instanceof Error ? e.message : String(e));
      }
    })();

    return () => {
      alive = false;
      observer.disconnect();
      if (frame) cancelAnimationFrame(frame);
      for (const l of levels) for (const b of l.tiles) b.close();
      controlsRef.current = null;
      listening.abort();
    };
  }, [n, values, corr, order, domain, reduce, theme, diff, controlsRef]);

  return (
    <div ref={wrap} className="ms-hm-canvas-wrap" aria-busy={!ready}>
      <canvas
        ref={canvas}
        className="ms-hm-canvas"
        tabIndex={0}
        data-size={n}
        role="img"
        aria-roledescription="zoomable heatmap"
        aria-label={`${diff ? `Difference of correlation matrices, ${diff.self} minus ${diff.other}` : 'Correlation matrix'}, ${n} by ${n} neurons. Arrow keys pan, plus and minus zoom, 0 fits, Enter opens the neuron of the row at the centre.`}
      />
      <div ref={tip} className="ms-hm-tip" hidden />
      <div ref={announce} className="visually-hidden" aria-live="polite" />
      {!ready && !failed && (
        <div className="ms-hm-overlay">
          Colouring {n} × {n} cells…
        </div>
      )}
      {failed && <div className="ms-hm-overlay error">The matrix could not be drawn: {failed}</div>}
    </div>
  );
}
