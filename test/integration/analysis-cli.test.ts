import { beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from './cli.js';
import { demoProject } from '../e2e/served-project.js';
import { openStore } from '../../src/core/store/store.js';

// The project made by `monoscope demo --quick` (shared with the e2e suite).
let project: string;
let out: string;
beforeAll(() => {
  project = demoProject();
  out = mkdtempSync(join(tmpdir(), 'monoscope-analysis-'));
}, 900_000);

const py = (script: string) => execFileSync('/usr/bin/python3', ['-c', script], { encoding: 'utf8' }).trim();

describe('analysis from the CLI, on a project made by the demo pipeline', () => {
  it('DecPO lowers decorr/mean_abs_corr against DPO from the same seed (training log and held-out data)', () => {
    const store = openStore(join(project, 'monoscope.db'), { readonly: true });
    const last = (run: string) => store.runs.metrics(run, ['decorr/mean_abs_corr']).at(-1)!.value;
    const first = (run: string) => store.runs.metrics(run, ['decorr/mean_abs_corr'])[0].value;
    expect(first('decpo')).toBeCloseTo(first('dpo'), 2); // same start
    expect(last('decpo')).toBeLessThan(last('dpo') - 0.01);
    store.close();
    const r = cli(['compare', '--project', project, 'base', 'dpo', 'decpo', '--json']);
    expect(r.code).toBe(0);
    const c = JSON.parse(r.stdout);
    const score = (n: string) => c.scores.find((s: { checkpoint: string }) => s.checkpoint === n);
    expect(score('decpo').meanAbsCorr).toBeLessThan(score('dpo').meanAbsCorr);
    // DPO learned the training pairs; the held-out pairs (other insults, templates and topics) test
    // generalization, where the quick demo's 12 steps are only above chance.
    const trained = openStore(join(project, 'monoscope.db'), { readonly: true });
    expect(trained.runs.metrics('dpo', ['rewards/accuracies']).at(-1)!.value).toBe(1);
    trained.close();
    expect(score('dpo').rewardAccuracy).toBeGreaterThan(0.5);
    expect(score('base').rewardMargin).toBe(0);
    expect(c.rows).toHaveLength(3 * c.taps.length);
    for (const row of c.rows) {
      expect(row.monosemantic + row.polysemantic + row.dead).toBeCloseTo(1, 6);
      if (row.checkpoint === 'base') expect(row.svccaToBase).toBe(1);
      else expect(row.svccaToBase).toBeLessThan(1);
    }
  });

  it('exports a tap that numpy reads, and a correlation matrix that equals numpy.corrcoef on it', () => {
    const npy = join(out, 'dpo.npy');
    const e = cli([
      'export',
      'activations',
      '--project',
      project,
      '--checkpoint',
      'dpo',
      '--tap',
      'blocks.1.mlp.post',
      '--format',
      'npy',
      '--out',
      npy,
    ]);
    expect(e.code).toBe(0);
    const corrFile = join(out, 'corr.npy');
    const a = cli([
      'analyze',
      'correlation',
      '--project',
      project,
      '--checkpoint',
      'dpo',
      '--tap',
      'blocks.1.mlp.post',
      '--out',
      corrFile,
      '--json',
    ]);
    expect(a.code).toBe(0);
    const corr = JSON.parse(a.stdout);
    const check = py(`
import json, numpy as np
x = np.load(${JSON.stringify(npy)})
seqs = json.load(open(${JSON.stringify(npy + '.tokens.json')}))
concepts = json.load(open(${JSON.stringify(npy + '.concepts.json')}))
ids = np.array([t for s in seqs for t in s])
assert x.dtype == np.float32 and x.shape[0] == len(ids) == len(concepts), (x.shape, len(ids), len(concepts))
keep = ~np.isin(ids, [0, 1, 2])
c = np.corrcoef(x[keep].astype(np.float64), rowvar=False)
ours = np.load(${JSON.stringify(corrFile)})
off = ~np.eye(c.shape[0], dtype=bool)
print(json.dumps({"shape": list(x.shape), "maxdiff": float(np.nanmax(np.abs(c - ours))), "meanabs": float(np.abs(c[off]).mean())}))
`);
    const r = JSON.parse(check);
    expect(r.shape[1]).toBe(corr.size);
    expect(r.maxdiff).toBeLessThan(1e-4);
    expect(r.meanabs).toBeCloseTo(corr.summary.meanAbsOffDiagonal, 4);
  });

  it('analyze svcca --json prints the score, the null mean, the p-value and the directions kept', () => {
    const args = [
      'analyze',
      'svcca',
      '--project',
      project,
      '--a',
      'base:blocks.1.mlp.post',
      '--b',
      'dpo:blocks.1.mlp.post',
      '--shuffles',
      '20',
      '--json',
    ];
    const r = cli(args);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.score).toBeGreaterThan(s.nullMean);
    expect(s.pValue).toBeCloseTo(1 / 21, 6);
    expect(s.kA).toBeGreaterThan(1);
    expect(s.kB).toBeGreaterThan(1);
    expect(s.nullDistribution).toHaveLength(20);
    expect(s.pFormula).toBe('(1 + #{null >= observed}) / (1 + N)');
    const again = cli(args);
    expect(JSON.parse(again.stdout).reused).toBe(true);
    const rsa = cli([
      'analyze',
      'rsa',
      '--project',
      project,
      '--a',
      'base:blocks.1.mlp.post',
      '--b',
      'base:blocks.1.mlp.post',
      '--shuffles',
      '10',
      '--json',
    ]);
    expect(JSON.parse(rsa.stdout).score).toBeCloseTo(1, 6);
  });

  it('metrics export to CSV that pandas reads, with TRL column names', () => {
    const csv = join(out, 'dpo-metrics.csv');
    expect(cli(['export', 'metrics', '--project', project, '--run', 'dpo', '--out', csv]).code).toBe(0);
    const cols = JSON.parse(
      py(
        `import json, pandas as pd; d = pd.read_csv(${JSON.stringify(csv)}); print(json.dumps(list(d.columns) + [len(d)]))`,
      ),
    );
    expect(cols).toEqual(
      expect.arrayContaining([
        'step',
        'loss',
        'rewards/margins',
        'rewards/accuracies',
        'decorr/mean_abs_corr',
        'eval_rewards/margins',
      ]),
    );
    expect(readFileSync(csv, 'utf8').split('\n')[0]).toContain('rewards/chosen');
  });

  it('recording twice stores nothing twice', () => {
    const args = [
      'record',
      '--project',
      project,
      '--checkpoint',
      'base',
      '--taps',
      'blocks.0.mlp.pre',
      '--json',
    ];
    const a = JSON.parse(cli(args).stdout);
    const b = JSON.parse(cli(args).stdout);
    expect(b.skipped).toEqual(['blocks.0.mlp.pre']);
    expect(b.rowsComputed).toBe(0);
    expect(b.recordings[0].id).toBe(a.recordings[0].id);
  });
});
