// The Neurons view: empty until the engine's API is connected (next round).
import { Empty } from '../components/States.js';
import { VIEWS } from '../views.js';
import { ViewShell } from './ViewShell.js';

const view = VIEWS.find((v) => v.id === 'neurons')!;

export function NeuronsView() {
  return (
    <ViewShell view={view}>
      <Empty title="No recording selected">
        Record a checkpoint over a probe set; each neuron then gets a page with its density, histogram and
        top-activating contexts.
      </Empty>
    </ViewShell>
  );
}
