/**
 * The engine in a worker thread: opens the project (and says `ready`, or fails with the reason), then
 * answers `call` messages with the core service and streams each call's progress back. The app's main
 * process and the HTTP server never run the engine on their own thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openProject } from '../core/store/project.js';
import { createService } from '../core/service.js';
import type { OpName } from '../core/api.js';
import type { ProgressEvent } from '../core/ops/progress.js';
import type { WorkerReply, WorkerRequest } from './engine-host.js';

const { projectDir, nativeBinding, create } = workerData as {
  projectDir: string;
  nativeBinding?: string;
  create: boolean;
};
const service = createService(openProject(projectDir, { create, ...(nativeBinding && { nativeBinding }) }));
const controllers = new Map<number, AbortController>();
const port = parentPort!;

function send(m: WorkerReply): void {
  port.postMessage(m);
}

send({ type: 'ready' });

port.on('message', async (m: WorkerRequest) => {
  if (m.type === 'cancel') {
    controllers.get(m.id)?.abort();
    return;
  }
  if (m.type === 'close') {
    service.close();
    process.exit(0);
  }
  const ctl = new AbortController();
  controllers.set(m.id, ctl);
  const reporter = {
    progress: (e: ProgressEvent) => send({ type: 'event', id: m.id, event: { kind: 'progress', ...e } }),
    message: (text: string) => send({ type: 'event', id: m.id, event: { kind: 'message', text } }),
    record: (kind: string, data: Record<string, unknown>) =>
      send({ type: 'event', id: m.id, event: { kind: 'record', record: kind, data } }),
  };
  try {
    const value = await service.call(m.op as OpName, m.input, { reporter, signal: ctl.signal });
    send({ type: 'result', id: m.id, value });
  } catch (e) {
    const err = e as Error & { code?: string };
    send({
      type: 'error',
      id: m.id,
      error: { code: ctl.signal.aborted ? 'cancelled' : (err.code ?? 'failed'), message: err.message },
    });
  } finally {
    controllers.delete(m.id);
  }
});
