// The rooms' boundaries, as lint enforces them (eslint.config.js): one probe file per forbidden import in each
// room — static and dynamic, project paths, Node builtins by bare name and as `node:`, packages, globals —
// must get an error from a boundary rule, and the imports each room is allowed must pass.
import { resolve } from 'node:path';
import { ESLint } from 'eslint';
import { beforeAll, describe, expect, it } from 'vitest';

const REPO = resolve(import.meta.dirname, '../../..');
const BOUNDARY_RULES = [
  '@typescript-eslint/no-restricted-imports',
  'no-restricted-syntax',
  'no-restricted-globals',
];

/** A probe: source code linted as if it were a file at `file` (relative to the repository). */
interface Probe {
  file: string;
  code: string;
}

let eslint: ESLint;
beforeAll(() => {
  eslint = new ESLint({ cwd: REPO, overrideConfigFile: resolve(REPO, 'eslint.config.js') });
});

/** The messages of the boundary rules on `probe`; fails on a parse error, so a typo never passes. */
async function boundaryErrors(probe: Probe): Promise<string[]> {
  const [result] = await eslint.lintText(probe.code, { filePath: resolve(REPO, probe.file) });
  const fatal = result.messages.filter((m) => m.fatal);
  expect(fatal, probe.code).toEqual([]);
  return result.messages
    .filter((m) => m.severity === 2 && BOUNDARY_RULES.includes(m.ruleId ?? ''))
    .map((m) => `${m.ruleId}: ${m.message}`);
}

/** Probes of one room's file: `forbidden` each must fail lint, `allowed` must pass. */
function room(file: string, forbidden: string[], allowed: string[]) {
  describe(file, () => {
    it.each(forbidden)('refuses %s', async (code) => {
      expect(await boundaryErrors({ file, code })).not.toEqual([]);
    });
    it.each(allowed)('allows %s', async (code) => {
      expect(await boundaryErrors({ file, code })).toEqual([]);
    });
  });
}

room(
  'src/core/ops/probe.ts',
  [
    "export { serve } from '../../main/server.js';",
    "import { serve } from '../../main/server.js'; serve;",
    "export const m = await import('../../main/server.js');",
    "import { createClient } from '../../renderer/api/client.js'; createClient;",
    "export const m = await import('../../renderer/api/client.js');",
    "import { renderFigure } from '../../shared/figures/index.js'; renderFigure;",
    "import type { FigureSpec } from '../../shared/figures/types.js'; export type S = FigureSpec;",
    "export const m = await import('../../shared/figures/index.js');",
    "export const m = await import('../../shared/figures/index.js' as string);",
    "import { studyFigureSpec } from '../../shared/specs/study.js'; studyFigureSpec;",
    "import { CHANNELS } from '../../shared/ipc.js'; CHANNELS;",
    "import { app } from 'electron'; app;",
    "export const m = await import('electron');",
    "import { useState } from 'react'; useState;",
    "import { createRoot } from 'react-dom/client'; createRoot;",
    "export const m = await import('react');",
    'export const name = "x"; export const m = await import(name);',
    'export const m = await import(`../../main/${"server"}.js`);',
    'export const t = document.title;',
    'export const w = window.innerWidth;',
    'export const g = navigator.gpu;',
    'export const e = (x: unknown) => x instanceof HTMLElement;',
    "export const s = localStorage.getItem('k');",
  ],
  [
    "import { openProject } from '../store/project.js'; openProject;",
    "import { readFileSync } from 'node:fs'; readFileSync;",
    "import { Worker } from 'worker_threads'; Worker;",
    "export const m = await import('../data/world.js');",
    "export const m = await import('webgpu' as string);",
    "import { tInterval } from '../../shared/stats.js'; tInterval;",
    'export const g = (globalThis as { navigator?: unknown }).navigator;',
    'export const c = structuredClone({ a: 1 }), u = new URL(`file:///${process.pid}`);',
  ],
);

room(
  'src/shared/specs/probe.ts',
  [
    "import { OPS } from '../../core/api.js'; OPS;",
    "export const m = await import('../../core/api.js');",
    "import type { Histogram } from '../../core/analysis/histogram.js'; export type H = Histogram;",
    "import type { OpResult } from '../../core/service.js'; export type R = OpResult<'runs.list'>;",
    "import { serve } from '../../main/server.js'; serve;",
    "export const m = await import('../../main/server.js');",
    "import type { RunningServer } from '../../main/server.js'; export type S = RunningServer;",
    "import { createClient } from '../../renderer/api/client.js'; createClient;",
    "export const m = await import('../../renderer/api/client.js');",
    "import { useState } from 'react'; useState;",
    "export const m = await import('react-dom');",
    "import { app } from 'electron'; app;",
    "import { readFileSync } from 'fs'; readFileSync;",
    "import { readFile } from 'fs/promises'; readFile;",
    "import { Worker } from 'worker_threads'; Worker;",
    "import { join } from 'path'; join;",
    "import { readFileSync } from 'node:fs'; readFileSync;",
    "export const m = await import('fs');",
    "export const m = await import('node:fs');",
    "import Database from 'better-sqlite3'; Database;",
    "import * as tf from '@tensorflow/tfjs'; tf;",
    'export const name = "x"; export const m = await import(name);',
    'export const t = document.title;',
    'export const p = process.env.HOME;',
    "export const b = Buffer.from('x');",
    "export const r = require('d3');",
  ],
  [
    "import type { OpResult } from '../../core/api.js'; export type R = OpResult<'runs.list'>;",
    "import { renderFigure } from '../figures/index.js'; renderFigure;",
    "import { format } from 'd3'; format;",
    "import { encode } from 'fast-png'; encode;",
    'export const e = new TextEncoder().encode("x");',
  ],
);

room(
  'src/renderer/app/probe.tsx',
  [
    "import { OPS } from '../../core/api.js'; OPS;",
    "export { OPS } from '../../core/api.js';",
    "export const m = await import('../../core/api.js');",
    "export const m = await import('../../core/service.js');",
    "import type { CompareResult } from '../../core/ops/compare.js'; export type C = CompareResult;",
    "export type { Project } from '../../core/store/project.js';",
    "import { serve } from '../../main/server.js'; serve;",
    "import type { RunningServer } from '../../main/server.js'; export type S = RunningServer;",
    "export const m = await import('../../main/server.js');",
    "import { ipcRenderer } from 'electron'; ipcRenderer;",
    "import { readFileSync } from 'fs'; readFileSync;",
    "import { Worker } from 'worker_threads'; Worker;",
    "import { join } from 'path'; join;",
    "import { readFileSync } from 'node:fs'; readFileSync;",
    "export const m = await import('fs');",
    "export const m = await import('node:worker_threads');",
    "import Database from 'better-sqlite3'; Database;",
    "export const m = await import('@tensorflow/tfjs');",
    'export const name = "x"; export const m = await import(name);',
    'export const p = process.env.HOME;',
  ],
  [
    "import type { OpResult } from '../../core/api.js'; export type R = OpResult<'runs.list'>;",
    "import { type OpName } from '../../core/api.js'; export type N = OpName;",
    "import { renderFigure } from '../../shared/figures/index.js'; renderFigure;",
    "import { CHANNELS } from '../../shared/ipc.js'; CHANNELS;",
    "import { createClient } from '../api/client.js'; createClient;",
    "import { useState } from 'react'; useState;",
    "export const m = await import('../../../resources/fonts/Inter-Regular.ttf?inline');",
    'export const t = document.title;',
  ],
);

room(
  'src/main/probe.ts',
  [
    "import { App } from '../renderer/app/App.js'; App;",
    "import { createClient } from '../renderer/api/client.js'; createClient;",
    "export const m = await import('../renderer/app/compare/CompareView.js');",
    "import { useState } from 'react'; useState;",
    "export const m = await import('react');",
    'export const name = "x"; export const m = await import(name);',
  ],
  [
    "import { OPS } from '../core/api.js'; OPS;",
    "import { renderFigure } from '../shared/figures/index.js'; renderFigure;",
    "import { CHANNELS } from '../shared/ipc.js'; CHANNELS;",
    "import { app } from 'electron'; app;",
    "import { readFileSync } from 'node:fs'; readFileSync;",
    "export const m = await import('./server.js');",
  ],
);
