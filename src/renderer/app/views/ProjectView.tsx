// The Project view: empty until the engine's API is connected (next round).
import { Empty } from '../components/States.js';
import { VIEWS } from '../views.js';
import { ViewShell } from './ViewShell.js';

const view = VIEWS.find((v) => v.id === 'project')!;

export function ProjectView() {
  return (
    <ViewShell view={view}>
      <Empty title="No project open">
        Open or create a project with the engine; its runs, checkpoints and recordings will be listed here.
      </Empty>
    </ViewShell>
  );
}
