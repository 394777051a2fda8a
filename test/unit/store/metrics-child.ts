/**
 * A child process for the concurrency test: creates a run in a store and appends `steps` steps of metrics,
 * one short transaction each, then marks the run completed.
 *
 *   node --import tsx test/unit/store/metrics-child.ts STORE_FILE RUN_ID STEPS
 */
import { openStore } from '../../../src/core/store/store.js';

const [file, runId, steps] = process.argv.slice(2);
const store = openStore(file);
store.runs.create({
  id: runId,
  stage: 'dpo',
  config: { steps: Number(steps) },
  backend: { backend: 'cpu' },
  seed: 1,
});
for (let step = 0; step < Number(steps); step++) {
  store.runs.appendMetrics(runId, step, {
    loss: 1 / (step + 1),
    'rewards/margins': step / 10,
    'rewards/accuracies': 0.5,
    'logps/chosen': -step,
    'decorr/penalty': 0.01,
  });
}
store.runs.setStatus(runId, 'completed');
store.close();
process.stdout.write('done\n');
