/**
 * The tiny study that the study suites share (test/integration/study-cli, study-report, test/e2e/study):
 * `monoscope study --spec` with {@link TINY_STUDY} (3 seeds of base, DPO and DecPO on toxicity, a 2-block
 * model, 2 worker threads), run once by the built CLI into `test-output/tiny-study/project` (about 20 s on
 * 2 cores) and kept with the view its `--json` printed. A suite that writes to the project works on a copy
 * ({@link copyTinyStudy}).
 */
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { cli } from '../integration/cli.js';
import { madeOnce } from './made-once.js';
import type { StudyView } from '../../src/core/study/types.js';

/** The tiny grid, as a `--spec` file holds it (the study has the default name, `study`). */
export const TINY_STUDY = {
  methods: ['base', 'dpo', 'decpo'],
  seeds: 3,
  workers: 2,
  pretrainSteps: 20,
  pretrainExamples: 400,
  steps: 6,
  examples: 64,
  probeTokens: 2048,
  modelShape: { nLayer: 2, nEmbd: 32, nHead: 2, nInner: 64, nCtx: 64 },
};

/** A grid's time limit: measuring a cell records every block on the probe set, slow on a busy 2-core machine. */
export const STUDY_LIMIT = 1_200_000;

const ROOT = join(resolve(import.meta.dirname, '../..'), 'test-output', 'tiny-study');

/** The shared tiny study: its project and the view `monoscope study --json` printed when it ran. */
export function tinyStudy(): { project: string; printed: StudyView } {
  madeOnce(ROOT, (root) => {
    mkdirSync(root, { recursive: true });
    const spec = join(root, 'spec.json');
    writeFileSync(spec, JSON.stringify(TINY_STUDY));
    const r = cli(['study', '--project', join(root, 'project'), '--spec', spec, '--json'], {
      timeout: STUDY_LIMIT,
    });
    if (r.code !== 0) throw new Error(`monoscope study exited ${r.code}:\n${r.stderr}`);
    writeFileSync(join(root, 'printed.json'), r.stdout);
  });
  return {
    project: join(ROOT, 'project'),
    printed: JSON.parse(readFileSync(join(ROOT, 'printed.json'), 'utf8')) as StudyView,
  };
}

/** Copies the shared tiny study's project to `to` (a folder not there yet), for a suite that writes to it. */
export function copyTinyStudy(to: string): string {
  cpSync(tinyStudy().project, to, { recursive: true });
  return to;
}
