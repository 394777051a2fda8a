// `monoscope analyze sae` trains the same default SAE as the app and the server (one TopK k, one key), and
// refuses a name in use with other settings unless --overwrite.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli } from './cli.js';
import { openProject } from '../../src/core/store/project.js';
import { createService } from '../../src/core/service.js';
import { SAE_TOPK_K } from '../../src/core/api.js';
import { testProject, type TestProject } from '../unit/ops/project.js';

const TAP = 'blocks.1.mlp.post';
let t: TestProject;
beforeEach(() => {
  t = testProject();
  t.service.close(); // the CLI writes the store; each check below opens it afresh
});
afterEach(() => t.close());

const train = (...extra: string[]) =>
  cli([
    'analyze',
    'sae',
    '--project',
    t.dir,
    '--checkpoint',
    'base',
    '--tap',
    TAP,
    '--name',
    's',
    '--latents',
    '64',
    '--steps',
    '5',
    '--json',
    ...extra,
  ]);

describe('analyze sae', () => {
  it('trains with the TopK k of the contract, and the service finds the same SAE for the same request', async () => {
    const r = train();
    expect(r.code, r.stderr).toBe(0);
    const record = JSON.parse(r.stdout);
    expect(JSON.parse(readFileSync(join(record.dir, 'cfg.json'), 'utf8')).k).toBe(SAE_TOPK_K);
    const service = createService(openProject(t.dir));
    try {
      const again = await service.call('sae.train', {
        name: 's',
        ref: { checkpoint: 'base', tap: TAP },
        latents: 64,
        steps: 5,
      });
      expect(again.seconds).toBe(record.seconds);
    } finally {
      service.close();
    }
  });

  it('refuses a name in use with other settings, and replaces it with --overwrite', () => {
    expect(train().code).toBe(0);
    const refused = train('--k', '8');
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain("an SAE named 's' exists");
    const replaced = train('--k', '8', '--overwrite');
    expect(replaced.code, replaced.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(t.dir, 'saes', 's', 'cfg.json'), 'utf8')).k).toBe(8);
  });
});
