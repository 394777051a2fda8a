// Packaging, checked offline: electron-builder's own schema accepts electron-builder.yml (packaging itself
// downloads Electron, so it does not run here), and `npm run rebuild:electron` plans the right build
// (--dry-run: the real one needs Electron's headers from electronjs.org).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const REPO = resolve(import.meta.dirname, '../../..');
const require = createRequire(join(REPO, 'package.json'));
const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8'));

interface BuilderConfig {
  appId: string;
  productName: string;
  files: { filter: string[] }[];
  asarUnpack: string[];
  npmRebuild: boolean;
  linux: { target: string[] };
  mac: { target: string[] };
  win: { target: string[] };
  nsis: Record<string, unknown>;
  electronFuses: Record<string, boolean>;
}

describe('electron-builder configuration', () => {
  const { getConfig, validateConfiguration } = require('app-builder-lib/out/util/config/config.js');
  const { DebugLogger } = require('builder-util');

  it('passes its schema, with the targets, files and unpacked binaries we need', async () => {
    const config = (await getConfig(REPO, null, null)) as BuilderConfig;
    await validateConfiguration(config, new DebugLogger(false));
    expect(config.appId).toBe('org.monoscope.app');
    expect(config.productName).toBe('Monoscope');
    expect(config.linux.target).toEqual(['AppImage', 'deb']);
    expect(config.mac.target).toEqual(['dmg']);
    expect(config.win.target).toEqual(['nsis']);
    expect(config.files[0].filter).toEqual(
      expect.arrayContaining([
        'package.json',
        'dist/**/*',
        'dist-renderer/**/*',
        'resources/**/*',
        'native/**/*',
      ]),
    );
    expect(config.asarUnpack).toEqual(expect.arrayContaining(['**/*.node', '**/*.wasm', 'resources/**']));
    // electron-builder's rebuild would turn node_modules/better-sqlite3 into an Electron build.
    expect(config.npmRebuild).toBe(false);
  });

  it('flips the Electron fuses that close the ways around the app: Node mode, NODE_OPTIONS, inspect, loose code', async () => {
    const config = (await getConfig(REPO, null, null)) as BuilderConfig;
    expect(config.electronFuses).toEqual({
      runAsNode: false,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      enableEmbeddedAsarIntegrityValidation: true,
      onlyLoadAppFromAsar: true,
      enableCookieEncryption: true,
      grantFileProtocolExtraPrivileges: false,
    });
    // The schema knows each of these names (a misspelt fuse is refused, not ignored).
    const bad = { ...config, electronFuses: { ...config.electronFuses, runAsnode: false } };
    await expect(validateConfiguration(bad, new DebugLogger(false))).rejects.toThrow(/electronFuses/);
  });

  it('is really checked: a misspelt option is refused', async () => {
    const config = (await getConfig(REPO, null, null)) as BuilderConfig;
    const bad = { ...config, nsis: { ...config.nsis, oneClik: false } };
    await expect(validateConfiguration(bad, new DebugLogger(false))).rejects.toThrow(/configuration\.nsis/);
  });

  it('package.json starts the built main process and builds the preload', () => {
    expect(pkg.main).toBe('dist/main/electron.js');
    expect(pkg.scripts.build).toContain('npm run build:preload');
    expect(pkg.scripts['build:preload']).toBe('vite build --config electron.config.ts --mode preload');
    expect(pkg.scripts.start).toBe('npm run build && electron .');
    expect(pkg.scripts.dist).toMatch(/npm run rebuild:electron && electron-builder/);
    expect(pkg.devDependencies.electron).toMatch(/^\^4[2-9]|^\^[5-9]\d/);
  });
});

describe('rebuild:electron', () => {
  const script = join(REPO, 'scripts', 'rebuild-electron.mjs');
  const electronDir = join(REPO, 'node_modules', 'electron');
  const version = JSON.parse(readFileSync(join(electronDir, 'package.json'), 'utf8')).version;
  const abi = readFileSync(join(electronDir, 'abi_version'), 'utf8').trim();

  it("builds a copy of better-sqlite3 against the installed Electron's headers into native/", () => {
    // The user's .npmrc sets nodedir (Node's headers): the script must not pass it on to node-gyp.
    const r = spawnSync(process.execPath, [script, '--dry-run'], {
      encoding: 'utf8',
      env: { ...process.env, npm_config_nodedir: '/usr', npm_config_target: '20.0.0' },
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const plan = JSON.parse(r.stdout);
    expect(plan.electron).toBe(version);
    expect(abi).toMatch(/^\d+$/);
    expect(abi).not.toBe(process.versions.modules);
    expect(plan.abi).toBe(abi);
    expect(plan.args).toEqual([
      'rebuild',
      '--release',
      `--target=${version}`,
      `--arch=${process.arch}`,
      '--dist-url=https://electronjs.org/headers',
      expect.stringMatching(/^--devdir=.*\.electron-gyp$/),
    ]);
    expect(plan.source).toBe(join(REPO, 'node_modules', 'better-sqlite3'));
    expect(plan.output).toBe(join(REPO, 'native', `better_sqlite3.abi${abi}.node`));
    expect(plan.removedEnv.sort()).toEqual(['npm_config_nodedir', 'npm_config_target']);
  });

  it('takes a headers mirror, and refuses unknown arguments', () => {
    const r = spawnSync(process.execPath, [script, '--dry-run', '--dist-url=http://mirror.local/electron'], {
      encoding: 'utf8',
    });
    expect(JSON.parse(r.stdout).args).toContain('--dist-url=http://mirror.local/electron');
    const bad = spawnSync(process.execPath, [script, '--target=1.2.3'], { encoding: 'utf8' });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/unknown argument --target=1\.2\.3/);
  });
});
