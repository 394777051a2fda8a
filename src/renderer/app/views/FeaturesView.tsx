// The Features view: SAEs (metrics, training curves, a form to train one), matching features across
// checkpoints with filter counts and SVCCA/RSA of the pairs, direct SVCCA/RSA between taps, and semantic
// subspaces. Each is a tab (arrow keys move between them), kept in the hash: #/features/match.
import { useRef, type KeyboardEvent } from 'react';
import { Empty } from '../components/States.js';
import { useQuery, useReloadOnJobEnd } from '../data.js';
import { VIEWS } from '../views.js';
import { ViewShell } from './ViewShell.js';
import { MatchPanel } from '../features/MatchPanel.js';
import { SaePanel } from '../features/SaePanel.js';
import { SimilarityPanel } from '../features/SimilarityPanel.js';
import { SubspacesPanel } from '../features/SubspacesPanel.js';
import { defaultSides } from '../features/TapFields.js';
import { formatHash, startingTap, useRoute } from '../neurons/route.js';
import { useProjectTaps } from '../neurons/useProjectTaps.js';
import '../neurons/neurons.css';
import '../features/features.css';

const view = VIEWS.find((v) => v.id === 'features')!;

const TABS = [
  { id: 'saes', label: 'SAEs', summary: 'Sparse autoencoders: metrics, training curves, train one.' },
  {
    id: 'match',
    label: 'Matching',
    summary:
      'Match features across checkpoints or models, with the filters’ counts and SVCCA/RSA of the pairs.',
  },
  {
    id: 'similarity',
    label: 'SVCCA / RSA',
    summary: 'Similarity of two taps’ representations against a permutation null.',
  },
  { id: 'subspaces', label: 'Subspaces', summary: 'Semantic subspaces: similarity per concept category.' },
] as const;
type TabId = (typeof TABS)[number]['id'];

export function FeaturesView() {
  const [route, navigate] = useRoute('features');
  const taps = useProjectTaps(
    view,
    <Empty title="No checkpoints yet">
      Train a model first: SAEs and matches are made from recorded taps of checkpoints.
    </Empty>,
  );
  const saes = useQuery('saes.list', {});
  useReloadOnJobEnd(saes.reload, ['sae.train']);
  const tabs = useRef<(HTMLButtonElement | null)[]>([]);
  const tab: TabId = TABS.some((t) => t.id === route.parts[0]) ? (route.parts[0] as TabId) : 'saes';
  const index = TABS.findIndex((t) => t.id === tab);
  const pick = (i: number) => {
    navigate(formatHash('features', [TABS[i].id]));
    tabs.current[i]?.focus();
  };
  const onKeyDown = (e: KeyboardEvent) => {
    const next =
      e.key === 'ArrowRight'
        ? (index + 1) % TABS.length
        : e.key === 'ArrowLeft'
          ? (index + TABS.length - 1) % TABS.length
          : e.key === 'Home'
            ? 0
            : e.key === 'End'
              ? TABS.length - 1
              : -1;
    if (next < 0) return;
    e.preventDefault();
    pick(next);
  };

  if (taps.kind === 'no-project') return taps.element;
  let body;
  if (taps.kind === 'pending') {
    body = taps.element;
  } else {
    const { checkpoints: cks, recordings: recs } = taps;
    const start = startingTap(cks, recs);
    const sides = defaultSides(cks, start.tap);
    const saeList = saes.data ?? [];
    body =
      tab === 'saes' ? (
        <SaePanel checkpoints={cks} recordings={recs} initial={start} />
      ) : tab === 'match' ? (
        <MatchPanel checkpoints={cks} recordings={recs} saes={saeList} initial={sides} />
      ) : tab === 'similarity' ? (
        <SimilarityPanel checkpoints={cks} recordings={recs} initial={sides} />
      ) : (
        <SubspacesPanel checkpoints={cks} recordings={recs} saes={saeList} initial={sides} />
      );
  }

  return (
    <ViewShell view={view}>
      <div role="tablist" aria-label="Feature analyses" className="ms-tabs" onKeyDown={onKeyDown}>
        {TABS.map((t, i) => (
          <button
            key={t.id}
            ref={(el) => {
              tabs.current[i] = el;
            }}
            type="button"
            role="tab"
            id={`features-tab-${t.id}`}
            aria-selected={t.id === tab}
            aria-controls={`features-panel-${t.id}`}
            tabIndex={t.id === tab ? 0 : -1}
            className={t.id === tab ? 'ms-tab active' : 'ms-tab'}
            onClick={() => pick(i)}
            title={t.summary}
          >
            {t.label}
          </button>
        ))}
      </div>
      <div
        role="tabpanel"
        id={`features-panel-${tab}`}
        aria-labelledby={`features-tab-${tab}`}
        className="ms-tabpanel"
      >
        <p className="ms-what">{TABS[index].summary}</p>
        {body}
      </div>
    </ViewShell>
  );
}
