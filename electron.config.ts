// Vite configuration of the browser-side bundles.
//   vite build --config electron.config.ts                 the renderer (React app) → dist-renderer/
//   vite build --config electron.config.ts --mode preload  src/main/preload.ts → dist/main/preload.cjs
// The main process and the CLI are plain TypeScript, built by tsc (tsconfig.build.json).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin, type UserConfig } from 'vite';
import react from '@vitejs/plugin-react';

const repo = fileURLToPath(new URL('.', import.meta.url));
const path = (p: string) => fileURLToPath(new URL(p, import.meta.url));

/**
 * The dev server injects inline scripts (React Fast Refresh) and talks over a websocket (HMR); the CSP of
 * index.html forbids both, so in `vite` (serve) only, allow them. Built bundles keep the strict policy.
 */
function devCsp(): Plugin {
  return {
    name: 'monoscope-dev-csp',
    apply: 'serve',
    transformIndexHtml: (html) =>
      html
        .replace("script-src 'self'", "script-src 'self' 'unsafe-inline'")
        .replace("connect-src 'self'", "connect-src 'self' ws: wss:"),
  };
}

function rendererConfig(): UserConfig {
  return {
    root: path('./src/renderer/'),
    // Relative asset URLs, so the bundle loads from app://monoscope/ in Electron and from `monoscope serve`.
    base: './',
    publicDir: false,
    plugins: [react(), devCsp()],
    build: {
      outDir: path('./dist-renderer/'),
      emptyOutDir: true,
      target: 'es2022',
      sourcemap: true,
      // Fonts stay files (CSP font-src 'self'); nothing is inlined as data: except what code asks for.
      assetsInlineLimit: 0,
      chunkSizeWarningLimit: 2048,
    },
    server: { host: '127.0.0.1', fs: { allow: [repo] } },
    preview: { host: '127.0.0.1' },
  };
}

function preloadConfig(): UserConfig {
  const entry = path('./src/main/preload.ts');
  if (!existsSync(entry)) {
    throw new Error(`electron.config.ts --mode preload: ${entry} does not exist yet; nothing to build`);
  }
  return {
    root: repo,
    publicDir: false,
    build: {
      outDir: path('./dist/main/'),
      // dist/main also holds tsc's output: never wipe it.
      emptyOutDir: false,
      target: 'node20',
      minify: false,
      sourcemap: true,
      lib: { entry, formats: ['cjs'], fileName: () => 'preload.cjs' },
      rolldownOptions: { external: ['electron', /^node:/] },
    },
  };
}

export default defineConfig(({ mode }) => (mode === 'preload' ? preloadConfig() : rendererConfig()));
