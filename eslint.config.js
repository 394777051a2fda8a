// Lint rules, including the boundaries between the three rooms (see README, Architecture).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';

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
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'electron', message: 'src/core must not import electron.' },
            { name: 'react', message: 'src/core must not import React.' },
            { name: 'react-dom', message: 'src/core must not import React.' },
          ],
          patterns: [
            { group: ['**/main/**', '**/renderer/**'], message: 'src/core imports only inward.' },
            { group: ['react-dom/*', 'electron/*'], message: 'src/core must not import UI code.' },
          ],
        },
      ],
    },
  },
  {
    // Figures are pure functions of data that render SVG strings: they run in Node (CLI export) too.
    files: ['src/renderer/figures/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [{ name: 'react', message: 'figures are plain functions, no React.' }],
          patterns: [
            {
              group: ['**/core/**'],
              allowTypeImports: true,
              message: 'Figures import only types from core.',
            },
          ],
        },
      ],
    },
  },
  {
    // The renderer talks to the engine only through the API: it may import core's types, nothing else.
    files: ['src/renderer/**/*.ts', 'src/renderer/**/*.tsx'],
    ignores: ['src/renderer/figures/**'],
    languageOptions: { globals: { ...globals.browser } },
    plugins: { 'react-hooks': reactHooks },
    rules: {
      ...reactHooks.configs.recommended.rules,
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'electron', message: 'The renderer reaches Electron only through the preload API.' },
          ],
          patterns: [
            {
              group: ['**/core/**'],
              allowTypeImports: true,
              message: 'The renderer imports only types from core.',
            },
            { group: ['**/main/**'], message: 'The renderer does not import src/main.' },
            {
              group: ['node:*', 'better-sqlite3', '@tensorflow/*'],
              message: 'No Node or engine code in the renderer.',
            },
          ],
        },
      ],
    },
  },
);
