/**
 * A child process for the crash and concurrency tests: records a checkpoint's MLP neurons over a probe set
 * (read from a JSON file) into a project's store, printing `batch N` after each committed batch.
 *
 *   node --import tsx test/unit/record/record-child.ts PROJECT_DIR CHECKPOINT PROBE_JSON BATCH_SIZE
 */
import { readFileSync } from 'node:fs';
import { initBackend } from '../../../src/core/backend/index.js';
import { recordActivations } from '../../../src/core/record/record.js';
import { openProject } from '../../../src/core/store/project.js';

const [dir, name, probeFile, batchSize] = process.argv.slice(2);
await initBackend('wasm');
const project = openProject(dir);
const res = await recordActivations(project.store, {
  checkpointName: name,
  checkpointDir: project.checkpointDir('base'),
  probe: JSON.parse(readFileSync(probeFile, 'utf8')),
  taps: ['blocks.*.mlp.post'],
  batchSize: Number(batchSize),
  onProgress: (p) => process.stdout.write(`batch ${p.batch}\n`),
});
project.close();
process.stdout.write(res.cancelled ? 'cancelled\n' : 'done\n');
