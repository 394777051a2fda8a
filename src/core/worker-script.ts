/**
 * Starts one of core's worker threads by name: the compiled `NAME.js` next to the calling module, or, when
 * that module runs from the .ts sources (tests, benchmarks, tsx), `NAME.ts` after registering tsx's loader
 * inside the worker.
 */
import { Worker, type WorkerOptions } from 'node:worker_threads';

/** `callerUrl`: the caller's `import.meta.url`; `name`: the worker module's file name without extension. */
export function startWorkerScript(callerUrl: string, name: string, options: WorkerOptions = {}): Worker {
  if (!callerUrl.endsWith('.ts')) return new Worker(new URL(`./${name}.js`, callerUrl), options);
  const tsx = import.meta.resolve('tsx/esm/api');
  const script = new URL(`./${name}.ts`, callerUrl).href;
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(script)}); });`;
  return new Worker(boot, { ...options, eval: true });
}
