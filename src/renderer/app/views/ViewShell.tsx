// The frame of a view: its heading, summary and content. Views are shells until the engine's API exists.
import type { ReactNode } from 'react';
import type { ViewInfo } from '../views.js';

export function ViewShell({ view, children }: { view: ViewInfo; children: ReactNode }) {
  return (
    <section className="view" aria-labelledby={`view-${view.id}`} data-view={view.id}>
      <header className="view-header">
        <h1 id={`view-${view.id}`} tabIndex={-1}>
          {view.label}
        </h1>
        <p className="summary">{view.summary}</p>
      </header>
      {children}
    </section>
  );
}
