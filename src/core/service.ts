/**
 * The implementation behind the contract in `api.ts`: one handler per operation, over one open project.
 * Transports call {@link Service.call} with raw input; it validates, runs the handler and returns plain
 * JSON-able data (typed arrays for matrices).
 */
import { listBackends } from './backend/index.js';
import { parseInput, ApiError, type OpName, type OpParsed } from './api.js';
import type { Project } from './store/project.js';
import { trainOp } from './ops/train.js';
import { generateOp } from './ops/generate.js';
import { silentReporter, type Reporter } from './ops/progress.js';

export interface CallContext {
  reporter?: Reporter;
  signal?: AbortSignal;
}

type Handler<N extends OpName> = (project: Project, input: OpParsed<N>, ctx: Required<CallContext>) => Promise<unknown> | unknown;

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
  train: (p: Project, i: OpParsed<'train'>, c: Required<CallContext>) => trainOp(p, i, c.reporter, c.signal),
  record: () => {
    throw new ApiError('failed', 'record is not available yet');
  },
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
      return (await handler(project, parsed, { reporter: ctx.reporter ?? silentReporter, signal: ctx.signal ?? new AbortController().signal })) as OpResult<N>;
    },
    close: () => project.close(),
  };
}
