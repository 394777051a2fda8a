/**
 * A small real project for the operation tests: a temporary folder with a store and tiny random GPT
 * checkpoints in the world's vocabulary (so the built-in probe set records on them in about a second).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gptConfig, initParamArrays } from '../../../src/core/model/arch/gpt2.js';
import { saveCheckpoint } from '../../../src/core/model/checkpoint.js';
import { worldTokenizer } from '../../../src/core/data/world.js';
import { openProject, type Project } from '../../../src/core/store/project.js';
import { createService, type Service } from '../../../src/core/service.js';

/** Writes (or replaces) checkpoint `name` of the project with random weights from `seed`; returns its hash. */
export function writeCheckpoint(project: Project, name: string, seed: number, stage = 'base'): string {
  const tok = worldTokenizer();
  const cfg = gptConfig({
    vocabSize: tok.vocabSize,
    nEmbd: 16,
    nLayer: 2,
    nHead: 2,
    nInner: 32,
    nCtx: 16,
    bosTokenId: tok.eosId,
    eosTokenId: tok.eosId,
  });
  return saveCheckpoint(project.checkpointDir(name), cfg, initParamArrays(cfg, seed), tok, { stage });
}

export interface TestProject {
  dir: string;
  project: Project;
  service: Service;
  close(): void;
}

/** A fresh project with checkpoints `base` (seed 1) and `dpo` (seed 2). */
export function testProject(): TestProject {
  const dir = mkdtempSync(join(tmpdir(), 'monoscope-ops-'));
  const project = openProject(dir, { create: true });
  writeCheckpoint(project, 'base', 1);
  writeCheckpoint(project, 'dpo', 2, 'dpo');
  const service = createService(project);
  return {
    dir,
    project,
    service,
    close: () => {
      service.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
