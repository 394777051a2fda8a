// The Heatmap view: empty until the engine's API is connected (next round).
import { Empty } from '../components/States.js';
import { VIEWS } from '../views.js';
import { ViewShell } from './ViewShell.js';

const view = VIEWS.find((v) => v.id === 'heatmap')!;

export function HeatmapView() {
  return (
    <ViewShell view={view}>
      <Empty title="No correlation matrix yet">
        Analyse a recorded layer to see its neuron–neuron correlations, ordered by cluster and comparable
        across checkpoints.
      </Empty>
    </ViewShell>
  );
}
