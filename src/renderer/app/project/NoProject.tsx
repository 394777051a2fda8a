// The state of a view when no engine answers: the page was opened without the server's token, or the
// server is gone. Every view that reads the project shows it the same way.
import { Empty } from '../components/States.js';
import type { ViewInfo } from '../views.js';
import { ViewShell } from '../views/ViewShell.js';

/** Whether an API error means there is no project to show (no token, no server), rather than a failure. */
export function isNoProject(error: Error): boolean {
  const code = (error as Error & { code?: string }).code;
  return code === 'unauthorized' || code === 'unreachable';
}

export function NoProject({ view, error }: { view: ViewInfo; error: Error }) {
  return (
    <ViewShell view={view}>
      <Empty title="No project open">
        Monoscope shows a project that the app or <code>monoscope serve --project DIR</code> opened.{' '}
        {error.message}
      </Empty>
    </ViewShell>
  );
}
