/**
 * A child process for the read-only project test, run as a user who may not write the project: opens the
 * project without options, reads it, tries a write, and prints what happened as JSON.
 *
 *   node --import tsx test/unit/store/readonly-child.ts PROJECT_DIR
 */
import { openProject } from '../../../src/core/store/project.js';

const project = openProject(process.argv[2]);
const out: Record<string, unknown> = {
  readonly: project.store.readonly,
  runs: project.store.runs.list().map((r) => r.id),
  metrics: project.store.runs.metrics('dpo'),
};
try {
  project.store.runs.appendMetrics('dpo', 2, { loss: 0.1 });
} catch (e) {
  out.writeError = { code: (e as { code?: string }).code, message: (e as Error).message };
}
project.close();
console.log(JSON.stringify(out));
