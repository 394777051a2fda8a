/**
 * The preload of the app window: exposes the renderer's one API as `window.monoscope`
 * ({@link MonoscopeBridge}: call, startJob, cancelJob, listJobs, onJobEvent), and nothing else — no
 * ipcRenderer, no Node. The main process checks every message (`ipc.ts`).
 *
 * Sandboxed preloads cannot load ES modules: `npm run build:preload` bundles this file to
 * `dist/main/preload.cjs` (see electron.config.ts). It imports only `electron` and the IPC contract
 * (`src/shared/ipc.ts`, for the channel names), so the bundle stays a few kilobytes.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import type { JobEvent } from '../core/api.js';
import { CHANNELS, type MonoscopeBridge } from '../shared/ipc.js';

const bridge: MonoscopeBridge = {
  call: (op, input) => ipcRenderer.invoke(CHANNELS.call, op, input),
  startJob: (op, input) => ipcRenderer.invoke(CHANNELS.startJob, op, input),
  cancelJob: (id) => ipcRenderer.invoke(CHANNELS.cancelJob, id),
  listJobs: () => ipcRenderer.invoke(CHANNELS.listJobs),
  onJobEvent: (listener) => {
    if (typeof listener !== 'function') throw new TypeError('onJobEvent: the listener must be a function');
    // Our own wrapper, so the renderer never sees the IPC event (it holds `sender`), and removal matches.
    const forward = (_event: IpcRendererEvent, jobEvent: JobEvent) => listener(jobEvent);
    ipcRenderer.on(CHANNELS.jobEvent, forward);
    return () => {
      ipcRenderer.removeListener(CHANNELS.jobEvent, forward);
    };
  },
};

contextBridge.exposeInMainWorld('monoscope', bridge);
