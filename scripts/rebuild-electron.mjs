#!/usr/bin/env node
// `npm run rebuild:electron`: builds better-sqlite3 against Electron's headers into
// native/better_sqlite3.abi<ABI>.node, which the app loads through better-sqlite3's `nativeBinding` option.
// The Node build in node_modules (used by the CLI and the tests) is left untouched: the build runs in a
// temporary copy of the package.
//
// Electron's Node ABI differs from Node's (Electron 45: 150, Node 20: 115), so one .node file cannot serve
// both. node-gyp downloads Electron's headers from --dist-url (default https://electronjs.org/headers) into
// ~/.electron-gyp on first use.
//
// Options: --dry-run (print the build as JSON, build nothing), --arch=ARCH (default: this machine's),
// --dist-url=URL (a mirror of the headers). The Electron version is the installed electron package's.
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(join(repo, 'package.json'));

function fail(message) {
  console.error(`rebuild:electron: ${message}`);
  process.exit(1);
}

const options = Object.fromEntries(
  process.argv.slice(2).map((a) => {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(a);
    if (!m || !['dry-run', 'arch', 'dist-url'].includes(m[1])) {
      fail(`unknown argument ${a} (options: --dry-run, --arch=ARCH, --dist-url=URL)`);
    }
    return [m[1], m[2] ?? true];
  }),
);

// Electron's version and ABI, from its npm package (never require('electron') itself: that downloads it).
let electronDir;
try {
  electronDir = dirname(require.resolve('electron/package.json'));
} catch {
  fail('the electron package is not installed: run npm install');
}
const version = JSON.parse(readFileSync(join(electronDir, 'package.json'), 'utf8')).version;
const abiFile = join(electronDir, 'abi_version');
if (!existsSync(abiFile)) fail(`${abiFile} is missing: cannot tell Electron ${version}'s Node ABI`);
const abi = readFileSync(abiFile, 'utf8').trim();
if (!/^\d+$/.test(abi)) fail(`${abiFile} holds ${JSON.stringify(abi)}, not an ABI number`);

const sqliteDir = dirname(require.resolve('better-sqlite3/package.json'));

// node-gyp: npm's own while run by npm, else the one in node_modules.
let nodeGyp = process.env.npm_config_node_gyp;
if (!nodeGyp || !existsSync(nodeGyp)) {
  try {
    nodeGyp = require.resolve('node-gyp/bin/node-gyp.js');
  } catch {
    fail('node-gyp not found: run this through npm (npm run rebuild:electron), or npm install node-gyp');
  }
}

// The user's .npmrc may set nodedir (Node's own headers, for building offline): for Electron that would
// build against the wrong headers, so drop it and every other npm_config_ that steers node-gyp.
const env = { ...process.env };
for (const key of Object.keys(env)) {
  if (/^npm_config_(nodedir|target|runtime|disturl|dist_url|arch|devdir)$/i.test(key)) delete env[key];
}

const arch = options.arch ?? process.arch;
const devdir = join(homedir(), '.electron-gyp');
const args = [
  'rebuild',
  '--release',
  `--target=${version}`,
  `--arch=${arch}`,
  `--dist-url=${options['dist-url'] ?? 'https://electronjs.org/headers'}`,
  `--devdir=${devdir}`,
];
const output = join(repo, 'native', `better_sqlite3.abi${abi}.node`);

if (options['dry-run']) {
  const removed = Object.keys(process.env).filter((k) => !(k in env));
  console.log(
    JSON.stringify(
      { electron: version, abi, arch, nodeGyp, args, source: sqliteDir, output, removedEnv: removed },
      null,
      2,
    ),
  );
  process.exit(0);
}

// Build in a copy, so node_modules/better-sqlite3/build (Node's ABI) stays as it is.
function build(work) {
  cpSync(sqliteDir, work, {
    recursive: true,
    filter: (src) => {
      const top = relative(sqliteDir, src).split(/[\\/]/)[0];
      return top !== 'build' && top !== 'node_modules';
    },
  });
  console.log(
    `rebuild:electron: better-sqlite3 for Electron ${version} (ABI ${abi}, ${arch}); about a minute`,
  );
  const r = spawnSync(process.execPath, [nodeGyp, ...args], { cwd: work, env, stdio: 'inherit' });
  if (r.error) throw new Error(`cannot run node-gyp: ${r.error.message}`);
  if (r.status !== 0) {
    throw new Error(
      `node-gyp failed (exit ${r.status}). It needs Electron's headers from ${args[4].slice('--dist-url='.length)} ` +
        '(or a mirror: --dist-url=URL), Python 3 and a C++20 compiler.',
    );
  }
  const built = join(work, 'build', 'Release', 'better_sqlite3.node');
  if (!existsSync(built)) throw new Error(`node-gyp succeeded but ${built} is missing`);
  mkdirSync(dirname(output), { recursive: true });
  copyFileSync(built, `${output}.tmp`);
  renameSync(`${output}.tmp`, output);
}

const work = mkdtempSync(join(tmpdir(), 'monoscope-sqlite-electron-'));
let error = null;
try {
  build(work);
} catch (e) {
  error = e;
} finally {
  rmSync(work, { recursive: true, force: true });
}
if (error) fail(error.message);
console.log(`rebuild:electron: wrote ${relative(repo, output)}`);
