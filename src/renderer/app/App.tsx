// The app shell: sidebar of views, the current view (kept in the location hash so reloads and the back
// button work), the jobs strip, the theme switch, and the keyboard shortcuts.
import { useCallback, useEffect, useRef, useState, type ComponentType } from 'react';
import { useGlobalShortcuts } from './keyboard.js';
import { Sidebar } from './components/Sidebar.js';
import { ShortcutsHelp } from './components/ShortcutsHelp.js';
import { JobsStrip } from './components/Jobs.js';
import { ThemeContext, useTheme } from './theme.js';
import { VIEWS, viewFromHash, type ViewId } from './views.js';
import { CompareView } from './views/CompareView.js';
import { DiffView } from './views/DiffView.js';
import { FeaturesView } from './views/FeaturesView.js';
import { HeatmapView } from './views/HeatmapView.js';
import { NeuronsView } from './views/NeuronsView.js';
import { ProjectView } from './views/ProjectView.js';
import { StudyView } from './views/StudyView.js';

const VIEW_COMPONENTS: Record<ViewId, ComponentType> = {
  project: ProjectView,
  compare: CompareView,
  neurons: NeuronsView,
  heatmap: HeatmapView,
  features: FeaturesView,
  diff: DiffView,
  study: StudyView,
};

export function App() {
  const [view, setView] = useState<ViewId>(() => viewFromHash(window.location.hash));
  const [help, setHelp] = useState(false);
  const { preference, theme, toggle } = useTheme();
  const main = useRef<HTMLElement>(null);

  useEffect(() => {
    const onHash = () => setView(viewFromHash(window.location.hash));
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);

  const open = useCallback((id: ViewId) => {
    if (viewFromHash(window.location.hash) !== id || window.location.hash === '')
      window.location.hash = `/${id}`;
    setView(id);
  }, []);

  // Moving to a view puts keyboard focus on its heading, so screen readers announce it. Views swap their
  // tree as data arrives (loading -> content, or "no project"), which replaces the heading: keep it focused
  // for a moment unless the user has moved focus elsewhere.
  useEffect(() => {
    const root = main.current;
    if (!root) return;
    const focusHeading = () => root.querySelector<HTMLElement>('h1')?.focus({ preventScroll: true });
    focusHeading();
    const observer = new MutationObserver(() => {
      const active = document.activeElement;
      if (!active || active === document.body) focusHeading();
    });
    observer.observe(root, { childList: true, subtree: true });
    const stop = setTimeout(() => observer.disconnect(), 3000);
    return () => {
      observer.disconnect();
      clearTimeout(stop);
    };
  }, [view]);

  useGlobalShortcuts({
    goto: Object.fromEntries(VIEWS.map((v) => [v.key, () => open(v.id)])),
    keys: { t: toggle, '?': () => setHelp((h) => !h), Escape: () => setHelp(false) },
  });

  const Current = VIEW_COMPONENTS[view];
  return (
    <ThemeContext.Provider value={theme}>
      <div className="shell">
        <Sidebar current={view} onSelect={open} />
        <div className="content">
          <div className="toolbar">
            <JobsStrip />
            <button
              type="button"
              className="theme-toggle"
              onClick={toggle}
              aria-label={`Theme: ${preference} (${theme}); press to change`}
            >
              Theme: {preference === 'system' ? `system (${theme})` : preference}
            </button>
            <button type="button" onClick={() => setHelp(true)} aria-label="Keyboard shortcuts">
              ?
            </button>
          </div>
          <main ref={main}>
            <Current />
          </main>
        </div>
      </div>
      {help && <ShortcutsHelp onClose={() => setHelp(false)} />}
    </ThemeContext.Provider>
  );
}
