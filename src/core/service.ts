/**
 * The implementation behind the contract in `api.ts`: one handler per operation, over one open project.
 * Transports call {@link Service.call} with raw input; it validates, runs the handler and returns plain
 * JSON-able data (typed arrays for matrices).
 */
import { listBackends } from './backend/index.js';
import { parseInput, ApiError, type OpName, type OpParsed, type OpResult, type StoredResult } from './api.js';
import type { Project } from './store/project.js';
import type { ModelConfig } from './model/architecture.js';
import { tapKindsOf } from './model/models.js';
import { StoreError } from './store/store.js';
import { trainOp } from './ops/train.js';
import { generateOp } from './ops/generate.js';
import { silentReporter, type Reporter } from './ops/progress.js';
import { recordOp } from './ops/record.js';
import { compareOp, storedComparison } from './ops/compare.js';
import { similarityKey, similarityOp } from './ops/similarity.js';
import { listSaes, saeTrainOp } from './ops/sae.js';
import { matchKey, matchOp } from './ops/match.js';
import { subspacesKey, subspacesOp } from './ops/subspaces.js';
import { recordedSides } from './ops/features.js';
import { weightProxyOp } from './ops/weights.js';
import { sparsityOp } from './ops/sparsity.js';
import { correlationMatrix, neuronCounterparts, neuronLive, neuronPage, neuronTable } from './ops/neurons.js';
import { evalPairs } from './ops/eval.js';
import { resolveCheckpoint, withCheckpointNames } from './ops/checkpoints.js';
import { demoOp } from './ops/demo.js';
import { studyGet, studyOp } from './ops/study.js';
import { universalityOp } from './ops/universality.js';
import {
  crosscoderFindingsOp,
  crosscoderLatentOp,
  crosscoderTrainOp,
  listCrosscoders,
} from './ops/crosscoder.js';
import { diffLensOp } from './ops/diff-lens.js';
import { saeExportOp, saeImportOp } from './ops/sae-io.js';
import { neuronpediaExportOp } from './ops/neuronpedia.js';
import { importRunOp } from './ops/trainer-state.js';

export type { OpResult };

export interface CallContext {
  reporter?: Reporter;
  signal?: AbortSignal;
}

type Handler<N extends OpName> = (
  project: Project,
  input: OpParsed<N>,
  ctx: Required<CallContext>,
) => Promise<OpResult<N>> | OpResult<N>;

/**
 * A stored analysis, found by the input of the operation that made it (validated with that operation's
 * schema, so with its defaults) under the key that operation stores it by. Null when it was not computed
 * from the current weights of what it names.
 */
function storedResult(p: Project, i: OpParsed<'analyses.get'>): StoredResult | null {
  let key: object | undefined;
  switch (i.kind) {
    case 'compare': {
      const result = storedComparison(p, parseInput('compare', i.inputs));
      return result ? { kind: 'compare', result, blobs: {} } : null;
    }
    case 'similarity': {
      const r = parseInput('similarity', i.inputs);
      const s = recordedSides(p, r);
      key = s && similarityKey(r, s.a.tap, s.b.tap);
      break;
    }
    case 'match': {
      const r = parseInput('match', i.inputs);
      const s = recordedSides(p, r);
      key = s && matchKey(p, r, s.a, s.b);
      break;
    }
    case 'subspaces': {
      const r = parseInput('subspaces', i.inputs);
      const s = recordedSides(p, r);
      key = s && subspacesKey(r, s.a, s.b);
      break;
    }
  }
  const hit = key && p.store.analyses.get<never>(i.kind, key);
  return hit ? { kind: i.kind, result: hit.result, blobs: hit.blobs } : null;
}

/** Every operation's handler. */
const handlers = {
  'backends.list': () => listBackends(),
  'project.summary': (p: Project) => ({
    dir: p.dir,
    store: p.store.file,
    schemaVersion: p.store.schemaVersion,
    checkpoints: p.store.checkpoints.list(),
    runs: p.store.runs.list(),
    probes: p.store.probes.list(),
  }),
  'runs.list': (p: Project) => p.store.runs.list(),
  'runs.metrics': (p: Project, i: OpParsed<'runs.metrics'>) => {
    if (!p.store.runs.get(i.runId)) throw new ApiError('not-found', `no run '${i.runId}'`);
    return p.store.runs.series(i.runId, i.names);
  },
  'runs.import': (p: Project, i: OpParsed<'runs.import'>, c: Required<CallContext>) =>
    importRunOp(p, i, c.reporter),
  'checkpoints.list': (p: Project) =>
    p.store.checkpoints
      .list()
      .map((c) => ({ ...c, tapKinds: [...tapKindsOf(c.config as unknown as ModelConfig)] })),
  'checkpoints.add': (p: Project, i: OpParsed<'checkpoints.add'>) => {
    const { name } = resolveCheckpoint(p, i.path, { copy: i.copy, base: i.base });
    const rec = p.store.checkpoints.get(name);
    if (!rec)
      throw new ApiError(
        'not-found',
        `checkpoint '${name}' is a folder of the project that no operation registered`,
      );
    return rec;
  },
  generate: (p: Project, i: OpParsed<'generate'>) => generateOp(p, i),
  'recordings.list': (p: Project, i: OpParsed<'recordings.list'>) =>
    p.store.activations.list({ checkpoint: i.checkpoint }),
  'neurons.table': (p: Project, i: OpParsed<'neurons.table'>, c: Required<CallContext>) =>
    neuronTable(p, i, c.reporter, c.signal),
  'neurons.page': (p: Project, i: OpParsed<'neurons.page'>, c: Required<CallContext>) =>
    neuronPage(p, i.ref, i.neuron, c.reporter, c.signal),
  'neurons.live': (p: Project, i: OpParsed<'neurons.live'>) => neuronLive(p, i.ref, i.neuron, i.text),
  'neurons.counterparts': (p: Project, i: OpParsed<'neurons.counterparts'>, c: Required<CallContext>) =>
    neuronCounterparts(p, i.ref, i.neuron, c.reporter, c.signal),
  'correlation.matrix': (p: Project, i: OpParsed<'correlation.matrix'>, c: Required<CallContext>) =>
    correlationMatrix(p, i.ref, i.diffWith, c.reporter, c.signal),
  'weights.proxy': (p: Project, i: OpParsed<'weights.proxy'>) => weightProxyOp(p, i.checkpoint),
  'saes.list': (p: Project) => listSaes(p),
  'analyses.get': (p: Project, i: OpParsed<'analyses.get'>) => storedResult(p, i),
  'figures.record': (p: Project, i: OpParsed<'figures.record'>) => ({ id: p.store.figures.record(i) }),
  'figures.list': (p: Project) => p.store.figures.list(),
  train: (p: Project, i: OpParsed<'train'>, c: Required<CallContext>) => trainOp(p, i, c.reporter, c.signal),
  record: (p: Project, i: OpParsed<'record'>, c: Required<CallContext>) =>
    recordOp(p, i, c.reporter, c.signal),
  compare: (p: Project, i: OpParsed<'compare'>, c: Required<CallContext>) =>
    compareOp(p, i, c.reporter, c.signal),
  similarity: (p: Project, i: OpParsed<'similarity'>, c: Required<CallContext>) =>
    similarityOp(p, i, c.reporter, c.signal),
  'sae.train': (p: Project, i: OpParsed<'sae.train'>, c: Required<CallContext>) =>
    saeTrainOp(p, i, c.reporter, c.signal),
  match: (p: Project, i: OpParsed<'match'>, c: Required<CallContext>) => matchOp(p, i, c.reporter, c.signal),
  subspaces: (p: Project, i: OpParsed<'subspaces'>, c: Required<CallContext>) =>
    subspacesOp(p, i, c.reporter, c.signal),
  sparsity: async (p: Project, i: OpParsed<'sparsity'>, c: Required<CallContext>) =>
    (await sparsityOp(p, i, c.reporter, c.signal)).result,
  eval: (p: Project, i: OpParsed<'eval'>, c: Required<CallContext>) =>
    evalPairs(
      { ...i, policy: resolveCheckpoint(p, i.policy).dir, ref: resolveCheckpoint(p, i.ref).dir },
      c.reporter,
      c.signal,
    ),
  demo: (p: Project, i: OpParsed<'demo'>, c: Required<CallContext>) => demoOp(p, i, c.reporter, c.signal),
  study: (p: Project, i: OpParsed<'study'>, c: Required<CallContext>) => studyOp(p, i, c.reporter, c.signal),
  'study.get': (p: Project, i: OpParsed<'study.get'>) => studyGet(p, i.name),
  'crosscoder.train': (p: Project, i: OpParsed<'crosscoder.train'>, c: Required<CallContext>) =>
    crosscoderTrainOp(p, i, c.reporter, c.signal),
  'crosscoders.list': (p: Project) => listCrosscoders(p),
  'crosscoder.latent': (p: Project, i: OpParsed<'crosscoder.latent'>, c: Required<CallContext>) =>
    crosscoderLatentOp(p, i, c.reporter, c.signal),
  'crosscoder.findings': (p: Project, i: OpParsed<'crosscoder.findings'>, c: Required<CallContext>) =>
    crosscoderFindingsOp(p, i, c.reporter, c.signal),
  'diff.lens': (p: Project, i: OpParsed<'diff.lens'>, c: Required<CallContext>) =>
    diffLensOp(p, i, c.reporter, c.signal),
  'sae.export': (p: Project, i: OpParsed<'sae.export'>, c: Required<CallContext>) =>
    saeExportOp(p, i, c.reporter),
  'sae.import': (p: Project, i: OpParsed<'sae.import'>, c: Required<CallContext>) =>
    saeImportOp(p, i, c.reporter, c.signal),
  'neuronpedia.export': (p: Project, i: OpParsed<'neuronpedia.export'>, c: Required<CallContext>) =>
    neuronpediaExportOp(p, i, c.reporter, c.signal),
  universality: (p: Project, i: OpParsed<'universality'>, c: Required<CallContext>) =>
    universalityOp(p, i, c.reporter, c.signal),
} satisfies { [N in OpName]: Handler<N> };

export interface Service {
  readonly project: Project;
  call<N extends OpName>(name: N, input: unknown, ctx?: CallContext): Promise<OpResult<N>>;
  close(): void;
}

/** A service over an open project. */
export function createService(project: Project): Service {
  return {
    project,
    async call<N extends OpName>(name: N, input: unknown, ctx: CallContext = {}): Promise<OpResult<N>> {
      const parsed = withCheckpointNames(project, name, parseInput(name, input));
      const handler = handlers[name] as unknown as Handler<N>;
      try {
        return (await handler(project, parsed, {
          reporter: ctx.reporter ?? silentReporter,
          signal: ctx.signal ?? new AbortController().signal,
        })) as OpResult<N>;
      } catch (e) {
        // Another writer holds the thing this call writes (a run, a recording, an SAE of that name).
        if (e instanceof StoreError && e.code === 'locked') throw new ApiError('conflict', e.message);
        throw e;
      }
    },
    close: () => project.close(),
  };
}
