/**
 * The implementation behind the contract in `api.ts`: one handler per operation, over one open project.
 * Transports call {@link Service.call} with raw input; it validates, runs the handler and returns plain
 * JSON-able data (typed arrays for matrices).
 */
import { listBackends } from './backend/index.js';
import { parseInput, ApiError, type OpName, type OpParsed } from './api.js';
import type { Project } from './store/project.js';
import { StoreError } from './store/store.js';
import { trainOp } from './ops/train.js';
import { generateOp } from './ops/generate.js';
import { silentReporter, type Reporter } from './ops/progress.js';
import { recordOp } from './ops/record.js';
import { compareOp } from './ops/compare.js';
import { listSaes, matchOp, saeTrainOp, similarityOp, subspacesOp, weightProxyOp } from './ops/analyze.js';
import { correlationMatrix, neuronCounterparts, neuronLive, neuronPage, neuronTable } from './ops/neurons.js';

export interface CallContext {
  reporter?: Reporter;
  signal?: AbortSignal;
}

type Handler<N extends OpName> = (
  project: Project,
  input: OpParsed<N>,
  ctx: Required<CallContext>,
) => Promise<unknown> | unknown;

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
  'checkpoints.list': (p: Project) => p.store.checkpoints.list(),
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
  'analyses.get': (p: Project, i: OpParsed<'analyses.get'>) => {
    const hit = p.store.analyses.get(i.kind, i.inputs);
    return hit ? { result: hit.result, blobs: hit.blobs } : null;
  },
  'figures.record': (p: Project, i: OpParsed<'figures.record'>) => ({ id: p.store.figures.record(i) }),
  'figures.list': (p: Project) => p.store.figures.list(),
  train: (p: Project, i: OpParsed<'train'>, c: Required<CallContext>) => trainOp(p, i, c.reporter, c.signal),
  record: (p: Project, i: OpParsed<'record'>, c: Required<CallContext>) =>
    recordOp(p, i, c.reporter, c.signal),
  compare: async (p: Project, i: OpParsed<'compare'>, c: Required<CallContext>) => {
    const r = await compareOp(p, i, c.reporter, c.signal);
    p.store.analyses.put('compare', i, r);
    return r;
  },
  similarity: async (p: Project, i: OpParsed<'similarity'>, c: Required<CallContext>) => {
    const r = await similarityOp(p, i, c.reporter, c.signal);
    return { ...r.result, nullDistribution: r.blobs.null ?? null, reused: r.reused };
  },
  'sae.train': (p: Project, i: OpParsed<'sae.train'>, c: Required<CallContext>) =>
    saeTrainOp(p, i, c.reporter, c.signal),
  match: async (p: Project, i: OpParsed<'match'>, c: Required<CallContext>) => {
    const r = await matchOp(p, i, c.reporter, c.signal);
    return {
      ...r.result,
      svccaNull: r.blobs.svccaNull ?? null,
      rsaNull: r.blobs.rsaNull ?? null,
      reused: r.reused,
    };
  },
  subspaces: async (p: Project, i: OpParsed<'subspaces'>, c: Required<CallContext>) =>
    (await subspacesOp(p, i, c.reporter, c.signal)).result,
} satisfies { [N in OpName]: Handler<N> };

/** The result type of an operation. */
export type OpResult<N extends OpName> = Awaited<ReturnType<(typeof handlers)[N]>>;

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
      const parsed = parseInput(name, input);
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
