#!/usr/bin/env node
// The `monoscope` command: a thin launcher for the compiled CLI (built by `npm install` / `npm run build:node`).
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const cli = fileURLToPath(new URL('../dist/main/cli.js', import.meta.url));
if (!existsSync(cli)) {
  console.error(
    'monoscope: the CLI is not built yet. Run `npm run build:node` (npm install does it) and try again.',
  );
  process.exit(1);
}
const { main } = await import(pathToFileURL(cli).href);
process.exitCode = await main(process.argv);
