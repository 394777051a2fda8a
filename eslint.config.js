// Lint rules, including the boundaries between the four rooms (see README, Architecture):
//   src/core      the engine (Node): imports no other room, no UI, no DOM (but src/shared/stats.ts, pure
//                 statistics that the study's tables and figures share)
//   src/shared    code that src/main and src/renderer both run: neither Node nor the DOM nor React,
//                 and only the contract's types (core/api.ts) from core
//   src/renderer  the React app: src/shared and the contract's types; no Node, no engine packages, no src/main
//   src/main      the CLI, the server, the Electron main process: core and shared, nothing of the renderer
// Each boundary is a regular expression on the import specifier, checked on static imports and exports
// (no-restricted-imports, which lets type-only imports through where a room may use another's types) and on
// dynamic `import()` (no-restricted-syntax: it loads code at run time, so it never passes a boundary). An
// `import()` of anything but a string literal is refused, since lint could not tell where it leads.
import { builtinModules } from 'node:module';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';

/** A relative specifier that passes through a folder named `name`: '../main/cli.js', '../../core/api.js'. */
const room = (name) => `^\\.{1,2}/(?:.*/)?${name}(?:/|$)`;
/** A bare specifier naming one of `packages` or a file inside one: 'react', 'react-dom/client', 'fs/promises'. */
const pkg = (packages) =>
  `^(?:${packages.map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})(?:/|$)`;

/** The contract, `core/api.ts`: the one module of core whose types the UI rooms may use. */
const CORE_API = `^\\.{1,2}/(?:.*/)?core/api\\.js$`;
/** Any other module of core. */
const CORE_BUT_API = `^\\.{1,2}/(?:.*/)?core/(?!api\\.js$)`;
const MAIN = room('main');
const RENDERER = room('renderer');
/** src/shared but its `stats.js`, the float64 statistics that core's study summary shares with the figures. */
const SHARED_BUT_STATS = `^\\.{1,2}/(?:.*/)?shared(?:$|/(?!stats\\.js$))`;
/** Node's built-in modules, by bare name (`fs`, `worker_threads`, `path/posix`) or with `node:`. */
const NODE = `^node:|${pkg(builtinModules)}`;
const ENGINE = pkg(['better-sqlite3', '@tensorflow']);
const REACT = pkg(['react', 'react-dom']);
const ELECTRON = pkg(['electron']);

/** The browser's globals that Node does not have, and the few it has only since Node 21. */
const DOM_GLOBALS = [
  ...Object.keys(globals.browser).filter((g) => !(g in globals.node)),
  ...['navigator', 'Navigator', 'localStorage', 'sessionStorage', 'Storage'],
];
/** Node's globals that browsers do not have (`process`, `Buffer`, `require`, ...). */
const NODE_GLOBALS = Object.keys(globals.node).filter((g) => !(g in globals.browser));

/**
 * The rules of a room that may not import what `boundaries` match: each is `{ regex, message }`, with
 * `types: true` where type-only imports may cross (they are erased from the built code).
 */
function boundaryRules(boundaries, restrictedGlobals) {
  return {
    '@typescript-eslint/no-restricted-imports': [
      'error',
      {
        patterns: boundaries.map((b) => ({
          regex: b.regex,
          caseSensitive: true,
          allowTypeImports: b.types === true,
          message: b.message,
        })),
      },
    ],
    'no-restricted-syntax': [
      'error',
      ...boundaries.map((b) => ({
        // Any string in the import(): its specifier, also as a cast (`import('x' as string)`).
        selector: `ImportExpression Literal[value=/${b.regex.replaceAll('/', '\\/')}/]`,
        message: `${b.message} (A dynamic import() loads it at run time.)`,
      })),
      {
        // A literal specifier, or a cast or non-null one (`'x' as string`, `'x'!`).
        selector: "ImportExpression:not([source.type='Literal'], [source.expression.type='Literal'])",
        message: 'import() takes a string literal here, so that lint can check where it leads.',
      },
    ],
    'no-restricted-globals': ['error', ...restrictedGlobals],
  };
}

const domGlobal = (room) => (name) => ({ name, message: `${room} does not use the DOM ('${name}').` });
const nodeGlobal = (room) => (name) => ({
  name,
  message: `${room} does not use Node's globals ('${name}').`,
});

export default tseslint.config(
  {
    ignores: ['node_modules', 'dist', 'dist-renderer', 'release', 'monoscope-demo', 'test-output', '.cache'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    // The engine never imports Electron, React, the DOM, or the other rooms.
    files: ['src/core/**/*.ts'],
    rules: boundaryRules(
      [
        { regex: MAIN, message: 'src/core imports only inward: not src/main.' },
        { regex: RENDERER, message: 'src/core imports only inward: not src/renderer.' },
        {
          regex: SHARED_BUT_STATS,
          message: 'src/core imports only inward: not src/shared (UI code), but for shared/stats.js.',
        },
        { regex: ELECTRON, message: 'src/core must not import electron.' },
        { regex: REACT, message: 'src/core must not import React.' },
      ],
      DOM_GLOBALS.map(domGlobal('src/core')),
    ),
  },
  {
    // Code that the CLI (Node) and the app (browser) both run: figures, view specs, the IPC and wire
    // contracts. Plain functions of data: no React, no Node, no DOM, only types from core.
    files: ['src/shared/**/*.ts'],
    rules: boundaryRules(
      [
        { regex: CORE_BUT_API, message: 'src/shared imports types from the contract (core/api.ts) only.' },
        { regex: CORE_API, types: true, message: 'src/shared imports only types from core.' },
        { regex: MAIN, message: 'src/shared does not import src/main.' },
        { regex: RENDERER, message: 'src/shared does not import src/renderer.' },
        { regex: REACT, message: 'src/shared is plain functions, no React.' },
        { regex: ELECTRON, message: 'src/shared does not import electron.' },
        { regex: NODE, message: 'src/shared runs in the browser too: no Node modules.' },
        { regex: ENGINE, message: 'src/shared does not import engine packages.' },
      ],
      [...DOM_GLOBALS.map(domGlobal('src/shared')), ...NODE_GLOBALS.map(nodeGlobal('src/shared'))],
    ),
  },
  {
    // The renderer talks to the engine only through the API: it may import core's types, nothing else.
    files: ['src/renderer/**/*.ts', 'src/renderer/**/*.tsx'],
    languageOptions: { globals: { ...globals.browser } },
    plugins: { 'react-hooks': reactHooks },
    rules: {
      ...reactHooks.configs.recommended.rules,
      ...boundaryRules(
        [
          {
            regex: CORE_BUT_API,
            message: 'The renderer imports types from the contract (core/api.ts) only.',
          },
          { regex: CORE_API, types: true, message: 'The renderer imports only types from core.' },
          { regex: MAIN, message: 'The renderer does not import src/main.' },
          { regex: ELECTRON, message: 'The renderer reaches Electron only through the preload API.' },
          { regex: NODE, message: 'No Node modules in the renderer.' },
          { regex: ENGINE, message: 'No engine code in the renderer.' },
        ],
        NODE_GLOBALS.map(nodeGlobal('The renderer')),
      ),
    },
  },
  {
    // The adapters: they run core and shared code, never the renderer's (React is only a devDependency).
    files: ['src/main/**/*.ts'],
    rules: boundaryRules(
      [
        {
          regex: RENDERER,
          message: 'src/main does not import src/renderer: code that both run lives in src/shared.',
        },
        { regex: REACT, message: 'src/main does not import React.' },
      ],
      [],
    ),
  },
);
