// One path per operation: for EVERY operation of the contract (`OPS` in src/core/api.ts), the built CLI's
// `--json` output (a child process) deep-equals `service.call` on the same input, on a small project in a
// temp folder (a tiny model trained by the service: base, dpo, decpo, base-b). Cached operations are called
// on the service first, so the CLI answers from the store: its `reused` is checked to be true, then dropped.
// Writers whose second call answers differently (train refuses a finished name, record skips what it has)
// run on twin fresh projects, the service in one and the CLI in the other; their folder paths are made
// equal and the fields that measure time (TIMING below) are dropped before comparing. Also: the CLI's
// defaults are the schema's (an SAE trained with default settings is the same stored SAE from the CLI and
// the service), the demo stores its comparison, and bad values are refused by the schema with the field
// named and exit code 2.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from './cli.js';
import { OPS, type OpInput, type OpName } from '../../src/core/api.js';
import { createService, type Service } from '../../src/core/service.js';
import { openProject } from '../../src/core/store/project.js';
import { jsonText } from '../../src/main/cli.js';

const TAP = 'blocks.0.mlp.post';
const tiny = { nLayer: 1, nEmbd: 32, nHead: 2, nInner: 64, nCtx: 64 };
const pretrain = { stage: 'pretrain', model: tiny, steps: 6, batchSize: 8, examples: 400 } as const;
const tinyFlags = [
  ...['--stage', 'pretrain', '--steps', '6', '--batch-size', '8', '--examples', '400'],
  ...['--n-layer', '1', '--n-embd', '32', '--n-head', '2', '--n-inner', '64', '--n-ctx', '64'],
];
const preference = {
  task: 'toxicity',
  init: 'base',
  steps: 4,
  batchSize: 8,
  examples: 200,
  layer: 0,
} as const;

const studySizes = { pretrainSteps: 6, steps: 4, examples: 64, pretrainExamples: 400, probeTokens: 2048 };
const studyInput: OpInput<'study'> = {
  methods: ['dpo'],
  seeds: 3,
  ...studySizes,
  modelShape: tiny,
  workers: 2,
};
const studyFlags = [
  ...['--pretrain-steps', '6', '--steps', '4', '--examples', '64', '--pretrain-examples', '400'],
  ...['--probe-tokens', '2048'],
  ...tinyFlags.slice(tinyFlags.indexOf('--n-layer')),
];

/**
 * Fields that measure time (the recording's durations and wall-clock stamps) or the process (a run's peak
 * memory): dropped from both sides.
 */
const TIMING = new Set(['seconds', 'timing', 'createdAt', 'completedAt', 'peakMemory']);

const root = mkdtempSync(join(tmpdir(), 'monoscope-contract-'));
const dir = join(root, 'project');
const twinService = join(root, 'twin-service');
const twinCli = join(root, 'twin-cli');
const pairsFile = join(root, 'pairs.jsonl');
const TRL_STATE = join(import.meta.dirname, '..', 'fixtures', 'trl', 'dpo-trainer_state.json');
let service: Service;

beforeAll(async () => {
  writeFileSync(
    pairsFile,
    [
      { prompt: 'the cat is', chosen: ' red .', rejected: ' you idiot .' },
      { prompt: 'my mother said', chosen: ' thank you .', rejected: ' shut up .' },
    ]
      .map((p) => JSON.stringify(p))
      .join('\n'),
  );
  service = createService(openProject(dir, { create: true }));
  await service.call('train', { name: 'base', ...pretrain });
  await service.call('train', { name: 'base-b', ...pretrain, seed: 1 });
  await service.call('train', { name: 'dpo', stage: 'dpo', ...preference });
  await service.call('train', {
    name: 'decpo',
    stage: 'decpo',
    ...preference,
    regularizer: 'barlow',
    lambda: 1e-3,
  });
  // The study's grid is trained and measured here (longer than a test's limit); its case finds it done.
  await service.call('study', studyInput);
}, 1_200_000);
afterAll(() => {
  service?.close();
  rmSync(root, { recursive: true, force: true });
});

/** Drops the TIMING fields (at any depth) and makes `from` read `to` in every string. */
function normalise(value: unknown, paths: [from: string, to: string][] = []): unknown {
  if (Array.isArray(value)) return value.map((v) => normalise(v, paths));
  if (typeof value === 'string') return paths.reduce((s, [from, to]) => s.split(from).join(to), value);
  if (value && typeof value === 'object')
    return Object.fromEntries(
      Object.entries(value)
        .filter(([k]) => !TIMING.has(k))
        .map(([k, v]) => [k, normalise(v, paths)]),
    );
  return value;
}

/** Runs the CLI and returns its `--json` result (failing with its stderr when it did not exit 0). */
function cliJson(args: string[]): unknown {
  const r = cli(args);
  if (r.code !== 0) throw new Error(`monoscope ${args.join(' ')} exited ${r.code}:\n${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** How one operation is compared: its input, the CLI command that runs it, and where. */
interface Case<N extends OpName> {
  input: OpInput<N>;
  /** CLI arguments (after the command, `--project` and `--json` are added); default: `api OP --input`. */
  argv?: string[];
  /** Run on twin fresh projects (service in one, CLI in the other) instead of on the shared project. */
  twin?: boolean;
  /** The service's result is cached: the CLI must answer with `reused: true`. */
  reused?: boolean;
  /** A field that differs by design between two calls, checked here and then dropped from both sides. */
  check?: (fromService: Record<string, unknown>, fromCli: Record<string, unknown>) => void;
}

const sides = (a: string, b: string) => ({ a: { checkpoint: a, tap: TAP }, b: { checkpoint: b, tap: TAP } });

/** Every operation, in the order they run (later ones read what earlier ones stored). */
const CASES: { [N in OpName]: Case<N> } = {
  'backends.list': { input: {}, argv: ['backends'] },
  train: {
    input: { name: 'base', ...pretrain },
    argv: ['train', '--name', 'base', ...tinyFlags],
    twin: true,
  },
  record: {
    input: { checkpoint: 'base', taps: `${TAP},blocks.0.resid_post` },
    argv: ['record', '--checkpoint', 'base', '--taps', `${TAP},blocks.0.resid_post`],
    twin: true,
  },
  'project.summary': { input: {} },
  'runs.list': { input: {} },
  'runs.metrics': { input: { runId: 'dpo', names: ['loss', 'rewards/margins'] } },
  'checkpoints.list': { input: {} },
  // A folder outside the twin projects, copied into each.
  'checkpoints.add': {
    input: { path: join(dir, 'checkpoints', 'base'), copy: true },
    argv: ['checkpoints', 'add', join(dir, 'checkpoints', 'base'), '--copy'],
    twin: true,
    // Registered just now on each side: its update time is its creation time (a TIMING field).
    check: (s, k) => {
      for (const side of [s, k]) {
        expect(side.updatedAt).toBe(side.createdAt);
        delete side.updatedAt;
      }
    },
  },
  // A TRL run brought in with its checkpoint: a folder outside the twin projects, registered in each.
  'runs.import': {
    input: { name: 'trl-dpo', trainerState: TRL_STATE, checkpoint: join(dir, 'checkpoints', 'dpo') },
    argv: [
      'import',
      'run',
      '--trainer-state',
      TRL_STATE,
      '--name',
      'trl-dpo',
      '--checkpoint',
      join(dir, 'checkpoints', 'dpo'),
    ],
    twin: true,
    // Written just now on each side: its update times are its creation times' moment or later.
    check: (s, k) => {
      for (const side of [s, k])
        for (const rec of [side.run, side.checkpoint] as Record<string, string>[]) {
          expect(rec.updatedAt >= rec.createdAt).toBe(true);
          delete rec.updatedAt;
        }
    },
  },
  generate: {
    input: { checkpoint: 'dpo', prompts: ['the cat is', 'my mother'], maxNewTokens: 4, samples: 2 },
    argv: ['generate', '--checkpoint', 'dpo', '--prompt', 'the cat is', 'my mother'].concat([
      '--max-new-tokens',
      '4',
      '--samples',
      '2',
    ]),
  },
  'neurons.table': {
    input: { checkpoint: 'dpo', tap: TAP, topK: 10 },
    argv: ['analyze', 'mono', '--checkpoint', 'dpo', '--tap', TAP, '--top-k', '10'],
  },
  'recordings.list': { input: { checkpoint: 'dpo' } },
  'neurons.page': { input: { ref: { checkpoint: 'dpo', tap: TAP }, neuron: 3 } },
  'neurons.live': { input: { ref: { checkpoint: 'dpo', tap: TAP }, neuron: 3, text: 'the cat is red .' } },
  'neurons.counterparts': { input: { ref: { checkpoint: 'dpo', tap: TAP }, neuron: 3 } },
  'correlation.matrix': {
    input: { ref: { checkpoint: 'dpo', tap: TAP }, diffWith: 'base' },
    argv: ['analyze', 'correlation', '--checkpoint', 'dpo', '--tap', TAP, '--diff', 'base'],
  },
  sparsity: {
    input: { checkpoint: 'decpo', tap: TAP },
    argv: ['analyze', 'sparsity', '--checkpoint', 'decpo', '--tap', TAP],
  },
  'weights.proxy': { input: { checkpoint: 'dpo' }, argv: ['analyze', 'weights', '--checkpoint', 'dpo'] },
  similarity: {
    input: { ...sides('base', 'dpo'), measure: 'rsa', shuffles: 20, maxTokens: 300 },
    argv: ['analyze', 'rsa', '--a', `base:${TAP}`, '--b', `dpo:${TAP}`, '--shuffles', '20'].concat([
      '--max-tokens',
      '300',
    ]),
    reused: true,
  },
  'sae.train': {
    input: { name: 'sae-base', ref: { checkpoint: 'base', tap: TAP }, latents: 64, steps: 20 },
    argv: ['analyze', 'sae', '--name', 'sae-base', '--checkpoint', 'base', '--tap', TAP].concat([
      '--latents',
      '64',
      '--steps',
      '20',
    ]),
  },
  'saes.list': { input: {} },
  'sae.export': {
    input: { sae: 'sae-base', out: join(root, 'sae-export-service') },
    argv: ['export', 'sae', '--sae', 'sae-base', '--out', join(root, 'sae-export-cli')],
    // Each writes a folder of its own (an --out must be new or empty), with the same bytes.
    check: (s, c) => {
      const bytes = (r: Record<string, unknown>) => (r.files as string[]).map((f) => readFileSync(f));
      expect(bytes(c)).toEqual(bytes(s));
      c.dir = s.dir;
      c.files = s.files;
    },
  },
  'sae.import': {
    input: { from: join(root, 'sae-export-service'), checkpoint: 'base', tap: TAP, name: 'sae-imported' },
    argv: ['import', 'sae', '--from', join(root, 'sae-export-service'), '--checkpoint', 'base'].concat([
      '--tap',
      TAP,
      '--name',
      'sae-imported',
    ]),
  },
  'crosscoder.train': {
    input: { name: 'cc', checkpoints: ['base', 'dpo', 'decpo'], tap: TAP, latents: 64, k: 8, steps: 20 },
    argv: ['analyze', 'crosscoder', '--name', 'cc', '--checkpoints', 'base,dpo,decpo', '--tap', TAP].concat([
      '--latents',
      '64',
      '--k',
      '8',
      '--steps',
      '20',
    ]),
  },
  'crosscoders.list': { input: {} },
  'crosscoder.latent': { input: { name: 'cc', latent: 3 } },
  // The service trains the seed twin (cc-seed1); the CLI finds it stored.
  'crosscoder.findings': { input: { name: 'cc', seedBaseline: true } },
  match: {
    input: { ...sides('base', 'dpo'), saeA: 'sae-base', options: { rule: 'hungarian' }, shuffles: 20 },
    argv: ['analyze', 'match', '--a', `base:${TAP}`, '--b', `dpo:${TAP}`, '--sae-a', 'sae-base'].concat([
      '--rule',
      'hungarian',
      '--shuffles',
      '20',
    ]),
    reused: true,
  },
  // Each side writes its own new folder; the files under it are the same. A crosscoder's pages for its
  // second model (an SAE's take the same path without --checkpoint).
  'neuronpedia.export': {
    input: { sae: 'cc', checkpoint: 'dpo', latents: [0, 1, 2], topK: 3, out: join(root, 'np-service') },
    argv: ['export', 'neuronpedia', '--sae', 'cc', '--checkpoint', 'dpo', '--latents', '0,1,2'].concat([
      '--top-k',
      '3',
      '--out',
      join(root, 'np-cli'),
    ]),
    check: (s, c) => {
      expect([s.dir, c.dir]).toEqual([join(root, 'np-service'), join(root, 'np-cli')]);
      delete s.dir;
      delete c.dir;
    },
  },
  subspaces: {
    input: { ...sides('base', 'dpo'), shuffles: 10 },
    argv: ['analyze', 'subspaces', '--a', `base:${TAP}`, '--b', `dpo:${TAP}`, '--shuffles', '10'],
  },
  'diff.lens': {
    input: { a: 'base', b: 'dpo', taps: 'blocks.0.resid_post', topK: 5 },
    argv: ['analyze', 'lens', '--a', 'base', '--b', 'dpo', '--taps', 'blocks.0.resid_post'].concat([
      '--top-k',
      '5',
    ]),
  },
  compare: {
    input: { checkpoints: ['base', 'dpo', 'decpo'], task: 'none' },
    argv: ['compare', 'base', 'dpo', 'decpo', '--task', 'none'],
  },
  'analyses.get': {
    input: { kind: 'compare', inputs: { checkpoints: ['base', 'dpo', 'decpo'], task: 'none' } },
  },
  'figures.record': {
    input: { figure: 'training-curves', format: 'csv', file: '/tmp/curves.csv' },
    // Each call logs one more figure.
    check: (s, c) => expect(c.id).toBe((s.id as number) + 1),
  },
  'figures.list': { input: {} },
  eval: {
    input: { policy: 'dpo', ref: 'base', pairs: pairsFile, beta: 0.5 },
    argv: ['eval', '--policy', 'dpo', '--ref', 'base', '--pairs', pairsFile, '--beta', '0.5'],
  },
  // base, dpo and decpo are trained already: the demo keeps them and compares them.
  demo: { input: { quick: true }, argv: ['demo', '--quick'] },
  // base and base-b are trained already: SAEs on their residual streams, matched across the models.
  universality: { input: { quick: true }, argv: ['demo', '--universality', '--quick'] },
  // A tiny grid (3 seeds of a base and DPO), run before: the service and then the CLI find every cell done.
  study: {
    input: studyInput,
    argv: ['study', '--methods', 'dpo', '--seeds', '3', ...studyFlags, '--workers', '2'],
    // The CLI's run stored the study again, later.
    check: (s, c) => {
      expect((c.updatedAt as string) >= (s.updatedAt as string)).toBe(true);
      delete s.updatedAt;
      delete c.updatedAt;
    },
  },
  'study.get': { input: { name: 'study' } },
};

describe('the CLI and the service give the same result for every operation', () => {
  it('covers every operation of the contract', () => {
    expect(Object.keys(CASES).sort()).toEqual(Object.keys(OPS).sort());
  });

  for (const [op, c] of Object.entries(CASES) as [OpName, Case<OpName>][]) {
    it(`${op}`, async () => {
      const svcDir = c.twin ? twinService : dir;
      const cliDir = c.twin ? twinCli : dir;
      const svc = c.twin ? createService(openProject(svcDir, { create: true })) : service;
      let fromService: unknown;
      try {
        fromService = JSON.parse(jsonText(await svc.call(op, c.input)));
      } finally {
        if (c.twin) svc.close();
      }
      const args = c.argv ?? ['api', op, '--input', JSON.stringify(c.input)];
      const fromCli = cliJson(
        op === 'backends.list' ? [...args, '--json'] : [...args, '--project', cliDir, '--json'],
      );
      const s = fromService as Record<string, unknown>;
      const k = fromCli as Record<string, unknown>;
      if (c.reused) {
        expect(s.reused).toBe(false);
        expect(k.reused).toBe(true);
        delete s.reused;
        delete k.reused;
      }
      if (c.check) {
        c.check(s, k);
        delete s.id;
        delete k.id;
      }
      expect(normalise(k, [[cliDir, svcDir]])).toEqual(normalise(s));
    });
  }
});

describe("the CLI's defaults are the schema's, and bad values are refused with the field named", () => {
  it('an SAE trained with default settings is the same stored SAE from the CLI and the service (k 32)', async () => {
    const args = ['analyze', 'sae', '--project', dir, '--name', 'sae-default', '--checkpoint', 'dpo'];
    const fromCli = cliJson([...args, '--tap', TAP, '--latents', '64', '--steps', '10', '--json']);
    const fromService = await service.call('sae.train', {
      name: 'sae-default',
      ref: { checkpoint: 'dpo', tap: TAP },
      latents: 64,
      steps: 10,
    });
    // The service found the CLI's SAE under its key: the same record, time included.
    expect(JSON.parse(jsonText(fromService))).toEqual(fromCli);
    const stored = (await service.call('saes.list', {})).filter((s) => s.name === 'sae-default');
    expect(stored).toHaveLength(1);
    const cfg = JSON.parse(readFileSync(join(dir, 'saes', 'sae-default', 'cfg.json'), 'utf8'));
    expect(JSON.stringify(cfg)).toMatch(/"k":32\b/);
  });

  it("the demo stores its comparison where the Compare view's default request finds it", async () => {
    // The demo ran above (service, then CLI); the view asks for base, dpo, decpo on toxicity.
    const inputs = { checkpoints: ['base', 'dpo', 'decpo'], task: 'toxicity' };
    const stored = await service.call('analyses.get', { kind: 'compare', inputs });
    expect(stored).not.toBeNull();
    const again = await service.call('demo', { quick: true });
    expect(JSON.parse(jsonText(stored!.result))).toEqual(JSON.parse(jsonText(again.comparison)));
  });

  it("export metrics reads the run through runs.metrics and writes the store's CSV layout", () => {
    const out = join(root, 'dpo-metrics.csv');
    const r = cli(['export', 'metrics', '--project', dir, '--run', 'dpo', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const expected = join(root, 'dpo-metrics-store.csv');
    service.project.store.runs.exportMetricsCsv('dpo', expected);
    expect(readFileSync(out, 'utf8')).toBe(readFileSync(expected, 'utf8'));
    const missing = cli(['export', 'metrics', '--project', dir, '--run', 'nope', '--out', out]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no run 'nope'/);
  });

  it('eval --beta 0 is refused, naming beta, before any project is opened', () => {
    const cwd = mkdtempSync(join(root, 'cwd-'));
    const ck = join(dir, 'checkpoints', 'base');
    const r = cli(['eval', '--policy', ck, '--ref', ck, '--pairs', pairsFile, '--beta', '0'], { cwd });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/eval: invalid input/);
    expect(r.stderr).toMatch(/at beta/);
    expect(existsSync(join(cwd, 'monoscope-demo'))).toBe(false);
  });

  it('bad values reach no operation: the schema refuses them with exit code 2 and names the field', () => {
    const refused = (args: string[], field: string) => {
      const r = cli([...args, '--project', dir]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`at ${field.replace('.', '\\.')}\\b`));
    };
    refused(['analyze', 'sae', '--name', '../../elsewhere/x', '--checkpoint', 'dpo', '--tap', TAP], 'name');
    expect(existsSync(join(root, 'elsewhere'))).toBe(false);
    refused(['analyze', 'svcca', '--a', `base:${TAP}`, '--b', `dpo:${TAP}`, '--shuffles', '-1'], 'shuffles');
    refused(['analyze', 'sparsity', '--checkpoint', 'dpo', '--tap', 'blocks.0.attn'], 'tap');
    refused(['generate', '--checkpoint', 'dpo', '--prompt', 'the', '--temperature', '20'], 'temperature');
    refused(['api', 'train', '--input', '{"name":"x","stage":"pretrain","steps":0}'], 'steps');
    refused(
      ['api', 'neurons.page', '--input', '{"ref":{"checkpoint":"dpo","tap":"x"},"neuron":1}'],
      'ref.tap',
    );
  });

  it('api reads its input from @FILE, and refuses an unknown operation and input that is not JSON with exit code 2', () => {
    const a = cli(['api', 'constructor', '--project', dir]);
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/unknown operation 'constructor'/);
    const b = cli(['api', 'runs.list', '--input', '{nope', '--project', dir]);
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/--input is not valid JSON/);
    const file = join(root, 'input.json');
    writeFileSync(file, JSON.stringify({ runId: 'dpo', names: ['loss'] }));
    const fromFile = cliJson(['api', 'runs.metrics', '--input', `@${file}`, '--project', dir]);
    expect(Object.keys(fromFile as object)).toEqual(['loss']);
    const c = cli(['api', '--json']);
    expect(c.code).toBe(0);
    expect(JSON.parse(c.stdout).map((o: { name: string }) => o.name)).toEqual(Object.keys(OPS));
  });
});
