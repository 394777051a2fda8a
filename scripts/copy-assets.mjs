// Copies what tsc does not: the store's SQL migrations, next to the compiled store module.
import { cpSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
mkdirSync(`${root}dist/core/store/migrations`, { recursive: true });
cpSync(`${root}src/core/store/migrations`, `${root}dist/core/store/migrations`, { recursive: true });
