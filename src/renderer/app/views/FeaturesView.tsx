// The Features view: empty until the engine's API is connected (next round).
import { Empty } from '../components/States.js';
import { VIEWS } from '../views.js';
import { ViewShell } from './ViewShell.js';

const view = VIEWS.find((v) => v.id === 'features')!;

export function FeaturesView() {
  return (
    <ViewShell view={view}>
      <Empty title="No SAE trained yet">
        Train a sparse autoencoder on a recorded layer to browse its features and their matches across
        checkpoints.
      </Empty>
    </ViewShell>
  );
}
