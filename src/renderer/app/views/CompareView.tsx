// The Compare view: empty until the engine's API is connected (next round).
import { Empty } from '../components/States.js';
import { VIEWS } from '../views.js';
import { ViewShell } from './ViewShell.js';

const view = VIEWS.find((v) => v.id === 'compare')!;

export function CompareView() {
  return (
    <ViewShell view={view}>
      <Empty title="Nothing to compare yet">
        Select two or more checkpoints of a run (for example base, DPO and DecPO) to compare their training
        curves and layer statistics.
      </Empty>
    </ViewShell>
  );
}
