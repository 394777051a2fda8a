// `monoscope import run` and `monoscope export metrics` on real files, through the built CLI in child
// processes: a TRL trainer_state.json and its checkpoint folder brought into a new project, every value
// given back under its TRL name in the CSV (read by Python's csv), the trainer_state.json written back
// equal to the original (read by Python's json), and bad input refused with a clear message and exit code.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from './cli.js';
import { gptConfig, initParamArrays } from '../../src/core/model/arch/gpt2.js';
import { saveCheckpoint } from '../../src/core/model/checkpoint.js';
import { worldTokenizer } from '../../src/core/data/world.js';
import { runPython } from '../unit/store/python.js';
import { PY, TRL_FIXTURE, sameTrainerState } from '../helpers/trainer-state.js';

/**
 * Python's check that a metrics CSV holds every value of a trainer_state.json's log_history under its own
 * name at its step, and nothing else: prints the number of values found.
 */
const CSV_HOLDS_ALL = `
import csv, json, sys
doc = json.load(open(sys.argv[1]))
rows = {int(r["step"]): r for r in csv.DictReader(open(sys.argv[2]))}
want = {(e["step"], k): float(v) for e in doc["log_history"] for k, v in e.items() if k != "step"}
for (step, name), v in want.items():
    assert float(rows[step][name]) == v, (step, name, rows[step][name], v)
cells = {(s, k) for s, r in rows.items() for k, v in r.items() if k != "step" and v != ""}
assert cells == set(want), cells ^ set(want)
print(len(want))
`;

describe('monoscope import run / export metrics', () => {
  let root: string;
  let project: string;
  let folder: string;

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'monoscope-trl-cli-'));
    project = join(root, 'project');
    // The checkpoint the cluster run saved, outside the project.
    const tok = worldTokenizer();
    const cfg = gptConfig({
      vocabSize: tok.vocabSize,
      nEmbd: 16,
      nLayer: 1,
      nHead: 2,
      nInner: 32,
      nCtx: 16,
      bosTokenId: tok.eosId,
      eosTokenId: tok.eosId,
    });
    folder = join(root, 'out', 'checkpoint-30');
    saveCheckpoint(folder, cfg, initParamArrays(cfg, 5), tok, { stage: 'dpo' });
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('imports a trainer_state.json with its checkpoint into a new project, and the run lists as completed dpo', () => {
    const args = [
      'import',
      'run',
      '--project',
      project,
      '--trainer-state',
      TRL_FIXTURE,
      '--name',
      'cluster-dpo',
    ];
    const r = cli([...args, '--checkpoint', folder]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /run 'cluster-dpo' \(dpo, completed\): 4 steps, \d+ values; checkpoint 'checkpoint-30'/,
    );
    const runs = JSON.parse(cli(['api', 'runs.list', '--project', project]).stdout) as Record<
      string,
      unknown
    >[];
    expect(runs).toMatchObject([{ id: 'cluster-dpo', stage: 'dpo', status: 'completed' }]);
    const cks = JSON.parse(cli(['checkpoints', '--project', project, '--json']).stdout) as Record<
      string,
      unknown
    >[];
    expect(cks).toMatchObject([{ name: 'checkpoint-30', source: folder, runId: 'cluster-dpo' }]);

    const again = cli(args);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/a run named 'cluster-dpo' exists already/);
  });

  it('export metrics gives back every imported value under its TRL name', () => {
    const out = join(root, 'cluster-dpo.csv');
    const r = cli(['export', 'metrics', '--project', project, '--run', 'cluster-dpo', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    // 12 + 13 + 12 + 12 + 13 + 6 values, less the two epochs that repeat at step 30.
    expect(Number(runPython(PY, CSV_HOLDS_ALL, [TRL_FIXTURE, out]))).toBe(66);
  });

  it('export metrics --format trainer-state writes the original trainer_state.json back', () => {
    const out = join(root, 'trainer_state.json');
    const args = [
      'export',
      'metrics',
      '--project',
      project,
      '--run',
      'cluster-dpo',
      '--format',
      'trainer-state',
    ];
    const r = cli([...args, '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(sameTrainerState(TRL_FIXTURE, out)).toBe(true);
  });

  it('refuses a bad file naming the file, entry and field, and an unknown stage before anything opens', () => {
    const bad = join(root, 'bad.json');
    writeFileSync(
      bad,
      JSON.stringify({
        log_history: [
          { loss: 0.7, step: 10 },
          { loss: 'n/a', step: 20 },
        ],
      }),
    );
    const elsewhere = join(root, 'elsewhere');
    const r = cli(['import', 'run', '--project', elsewhere, '--trainer-state', bad, '--name', 'x']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${bad}: log_history[1]: 'loss' must be a number, got "n/a"`);
    expect(JSON.parse(cli(['api', 'runs.list', '--project', elsewhere]).stdout)).toEqual([]);
    const other = join(root, 'other');
    const args = ['import', 'run', '--project', other, '--trainer-state', TRL_FIXTURE, '--name', 'x'];
    const stage = cli([...args, '--stage', 'rlhf']);
    expect(stage.code).toBe(2);
    expect(stage.stderr).toMatch(/--stage/);
    expect(existsSync(other)).toBe(false);
  });
});
