// The Heatmap view: a tap's neuron × neuron Pearson correlation matrix (`correlation.matrix`) on a canvas,
// in cluster or neuron order, or its difference to another checkpoint; zoom, pan, values on hover, a click
// opens the row neuron's page; export through the heatmap figure. Selection in the hash:
// #/heatmap/CHECKPOINT/TAP?order=neuron&diff=OTHER&blocks=maxabs.
import { useContext, useMemo, useRef } from 'react';
import { themeOf, type FigureSpec } from '../../../shared/figures/index.js';
import { Empty, ErrorState, Loading } from '../components/States.js';
import { heatmapRegionSpec, heatmapSpec, heatmapValues } from '../../../shared/specs/viewFigures.js';
import type { BlockReduction } from '../../../shared/specs/pyramid.js';
import { useQuery } from '../data.js';
import { ThemeContext } from '../theme.js';
import { VIEWS } from '../views.js';
import { ViewShell } from './ViewShell.js';
import { HeatmapCanvas, type HeatmapControls } from '../heatmap/HeatmapCanvas.js';
import { dec3, int, num } from '../neurons/format.js';
import { FigureExport } from '../components/FigureExport.js';
import { RecordOffer } from '../neurons/RecordOffer.js';
import { formatHash, rememberTap, startingTap, useRoute } from '../neurons/route.js';
import { TapPicker, type TapValue } from '../neurons/TapPicker.js';
import { tapWidth, usableRecordings } from '../neurons/taps.js';
import { UnknownCheckpoint, useProjectTaps } from '../neurons/useProjectTaps.js';
import '../neurons/neurons.css';
import '../heatmap/heatmap.css';

const view = VIEWS.find((v) => v.id === 'heatmap')!;

export function HeatmapView() {
  const [route, navigate] = useRoute('heatmap');
  const taps = useProjectTaps(
    view,
    <Empty title="No checkpoints yet">
      Train a model to get checkpoints; each recorded tap then has a correlation matrix here.
    </Empty>,
  );
  if (taps.kind === 'no-project') return taps.element;
  if (taps.kind === 'pending') return <ViewShell view={view}>{taps.element}</ViewShell>;
  const { checkpoints: cks, recordings: recs } = taps;
  const { checkpoint, tap } = startingTap(cks, recs, route.parts[0], route.parts[1]);
  const order = route.params.get('order') === 'neuron' ? 'neuron' : 'cluster';
  const blocks: BlockReduction = route.params.get('blocks') === 'maxabs' ? 'maxabs' : 'mean';
  const here = usableRecordings(recs, cks, checkpoint, tap);
  const width = tapWidth(
    cks.find((c) => c.name === checkpoint),
    tap,
  );
  // Checkpoints to compare with: the same tap recorded over the same probe set, with the same width.
  const others = cks.filter(
    (c) =>
      c.name !== checkpoint &&
      tapWidth(c, tap) === width &&
      usableRecordings(recs, cks, c.name, tap).some((r) => here[0] && r.probeHash === here[0].probeHash),
  );
  const diffParam = route.params.get('diff') ?? undefined;
  const diff = diffParam && others.some((c) => c.name === diffParam) ? diffParam : undefined;
  const go = (next: {
    checkpoint?: string;
    tap?: string;
    order?: string;
    diff?: string | null;
    blocks?: BlockReduction;
  }) => {
    const ck = next.checkpoint ?? checkpoint;
    const tp = next.tap ?? tap;
    navigate(
      formatHash('heatmap', [ck, tp], {
        order: (next.order ?? order) === 'neuron' ? 'neuron' : undefined,
        diff: next.diff === null ? undefined : (next.diff ?? diff),
        blocks: (next.blocks ?? blocks) === 'maxabs' ? 'maxabs' : undefined,
      }),
    );
  };
  const select = (v: TapValue) => {
    rememberTap(v.checkpoint, v.tap);
    go({ ...v, diff: v.checkpoint === diff ? null : undefined });
  };
  return (
    <ViewShell view={view}>
      <div className="ms-toolbar">
        <TapPicker checkpoints={cks} recordings={recs} value={{ checkpoint, tap }} onChange={select} />
        <label className="ms-inline-field">
          Order
          <select aria-label="Order" value={order} onChange={(e) => go({ order: e.target.value })}>
            <option value="cluster">cluster order</option>
            <option value="neuron">neuron index</option>
          </select>
        </label>
        <label
          className="ms-inline-field"
          title="Zoomed out, a screen pixel stands for a block of cells: their mean, or the value of largest |r|"
        >
          Zoomed out
          <select
            aria-label="Zoomed out"
            value={blocks}
            onChange={(e) => go({ blocks: e.target.value as BlockReduction })}
          >
            <option value="mean">block mean</option>
            <option value="maxabs">block max |r|</option>
          </select>
        </label>
        <label className="ms-inline-field">
          Show
          <select
            aria-label="Show"
            value={diff ?? ''}
            onChange={(e) => go({ diff: e.target.value || null })}
            disabled={others.length === 0}
          >
            <option value="">correlations of {checkpoint}</option>
            {others.map((c) => (
              <option key={c.name} value={c.name}>
                difference {checkpoint} − {c.name}
              </option>
            ))}
          </select>
        </label>
      </div>
      {!cks.some((c) => c.name === checkpoint) ? (
        <UnknownCheckpoint name={checkpoint} checkpoints={cks} />
      ) : here.length === 0 ? (
        <RecordOffer checkpoint={checkpoint} tap={tap} what="Correlation matrices" />
      ) : (
        <Matrix
          checkpoint={checkpoint}
          tap={tap}
          probe={here[0].probeHash}
          order={order}
          blocks={blocks}
          diff={diff}
          onOpen={(neuron) => {
            rememberTap(checkpoint, tap);
            navigate(formatHash('neurons', [checkpoint, tap, neuron]), true);
          }}
        />
      )}
    </ViewShell>
  );
}

function Matrix({
  checkpoint,
  tap,
  probe,
  order,
  blocks,
  diff,
  onOpen,
}: {
  checkpoint: string;
  tap: string;
  probe: string;
  order: 'cluster' | 'neuron';
  blocks: BlockReduction;
  diff: string | undefined;
  onOpen: (neuron: number) => void;
}) {
  const themeName = useContext(ThemeContext);
  const theme = themeOf(themeName);
  const q = useQuery('correlation.matrix', {
    ref: { checkpoint, tap, probe },
    ...(diff ? { diffWith: diff } : {}),
  });
  const controls = useRef<HeatmapControls | null>(null);
  const m =
    q.data &&
    q.data.checkpoint === checkpoint &&
    q.data.tap === tap &&
    (q.data.diffWith ?? undefined) === diff
      ? q.data
      : undefined;
  // The values drawn and their colour range, as the exported heatmap figure has them.
  const shown = useMemo(() => (m ? heatmapValues(m) : undefined), [m]);
  const values = shown?.values;
  const domain = shown?.domain;
  const displayOrder = m && order === 'cluster' ? m.order : null;
  const diffNames = useMemo(() => (diff ? { self: checkpoint, other: diff } : undefined), [diff, checkpoint]);

  if (q.error)
    return (
      <ErrorState title="The correlation matrix could not be computed" error={q.error} onRetry={q.reload} />
    );
  if (!m || !values || !domain) {
    return (
      <div className="ms-hm-layout">
        <div className="ms-hm-main">
          <div className="ms-hm-canvas-wrap ms-hm-pending">
            <Loading
              what={`the correlation matrix of ${tap}${diff ? ` and its difference to ${diff}` : ''} (computed once, then kept in the store)`}
            />
          </div>
        </div>
        <aside className="ms-hm-side" />
      </div>
    );
  }
  const n = m.size;
  const positiveName = themeName === 'dark' ? 'Orange' : 'Red';
  const ramp = Array.from({ length: 11 }, (_, i) => theme.diverging(1 - i / 10));
  const exportSpec = (region: 'all' | 'visible'): FigureSpec => {
    if (region === 'all' || !controls.current) return heatmapSpec(m, order);
    const { rows, cols } = controls.current.visible();
    return heatmapRegionSpec(m, order, rows, cols);
  };

  return (
    <div className="ms-hm-layout">
      <div className="ms-hm-main">
        <HeatmapCanvas
          key={`${themeName}|${order}|${blocks}|${diff ?? ''}|${n}`}
          n={n}
          values={values}
          corr={m.corr}
          order={displayOrder}
          domain={domain}
          reduce={blocks}
          theme={theme}
          diff={diffNames}
          onOpen={onOpen}
          controls={controls}
        />
        <div className="ms-hm-controls">
          <button
            type="button"
            onClick={() => controls.current?.zoom(1.6)}
            aria-label="Zoom in"
            title="Zoom in (+)"
          >
            +
          </button>
          <button
            type="button"
            onClick={() => controls.current?.zoom(1 / 1.6)}
            aria-label="Zoom out"
            title="Zoom out (−)"
          >
            −
          </button>
          <button type="button" onClick={() => controls.current?.fit()} title="Whole matrix (0)">
            Fit
          </button>
          <span className="ms-muted ms-small">
            Wheel or + − zoom · drag or arrow keys pan · 0 fits · click (or Enter) opens the row neuron
          </span>
        </div>
      </div>
      <aside className="ms-hm-side">
        <h3>{diff ? `Δr = r(${checkpoint}) − r(${diff})` : 'Pearson r'}</h3>
        <div
          className="ms-hm-colourbar"
          style={{ background: `linear-gradient(to bottom, ${ramp.join(', ')})` }}
          aria-hidden="true"
        />
        <div className="ms-hm-colourbar-labels ms-small">
          <span>{num(domain[1])}</span>
          <span>0</span>
          <span>{num(domain[0])}</span>
        </div>
        <p className="ms-what">
          {diff
            ? `${positiveName}: the pair correlates more in ${checkpoint} than in ${diff}; blue: less. The scale spans the largest |Δr|.`
            : `Correlation of two neurons’ activations over the probe’s non-special tokens: ${positiveName.toLowerCase()} together, blue opposite.`}{' '}
          {order === 'cluster'
            ? 'Rows and columns in cluster order (correlated neurons side by side).'
            : 'Rows and columns by neuron index.'}
        </p>
        <dl className="ms-hm-stats">
          <div title="Neurons (rows and columns)">
            <dt>Neurons</dt>
            <dd>{int(n)}</dd>
          </div>
          <div title="Probe tokens the correlations are computed over (special tokens left out)">
            <dt>Tokens</dt>
            <dd>{int(m.summary.n)}</dd>
          </div>
          <div title="Neurons that never vary on the probe set (their correlations are undefined)">
            <dt>Dead neurons</dt>
            <dd>{int(m.summary.dead.length)}</dd>
          </div>
          <div title="Mean |r| over the off-diagonal pairs: how entangled the neurons are (lower is more decorrelated)">
            <dt>Mean |r| off-diagonal</dt>
            <dd>{dec3(m.summary.meanAbsOffDiagonal)}</dd>
          </div>
          <div title="‖C − I‖_F / √(n(n−1)): the off-diagonal correlation energy, normalised">
            <dt>‖C − I‖ normalised</dt>
            <dd>{dec3(m.summary.normalizedFrobenius)}</dd>
          </div>
          <div title="Feature decorrelation (Yan et al. §3.3): 1 − mean pairwise cosine of the examples’ activation vectors">
            <dt>Feature decorrelation</dt>
            <dd>{dec3(m.summary.featureDecorrelation)}</dd>
          </div>
          {diff && m.meanAbsDiff !== undefined && (
            <div title={`Mean |r(${checkpoint}) − r(${diff})| over all pairs`}>
              <dt>Mean |Δr|</dt>
              <dd>{dec3(m.meanAbsDiff)}</dd>
            </div>
          )}
        </dl>
        <FigureExport
          spec={() => exportSpec('all')}
          fileName={`${checkpoint}-${tap}-${diff ? `diff-${diff}` : 'corr'}`}
          width={640}
          height={600}
          label="Export whole matrix"
        />
        <FigureExport
          spec={() => exportSpec('visible')}
          fileName={`${checkpoint}-${tap}-${diff ? `diff-${diff}` : 'corr'}-region`}
          width={640}
          height={600}
          label="Export visible region"
          note="The rows and columns now on screen, named by neuron."
        />
      </aside>
    </div>
  );
}
