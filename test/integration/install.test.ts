// The README's first steps on a fresh install: `npm ci` (whose `prepare` script builds what the package
// runs), then `monoscope serve --project monoscope-demo` must serve the app, not `not-built`. The install is
// a copy of this working tree (tracked and not-ignored files, so no dist/ or dist-renderer/) with the same
// node_modules, on which `npm run prepare` runs as `npm ci` runs it.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openProject } from '../../src/core/store/project.js';
import { servedUrl } from './cli.js';

const REPO = resolve(import.meta.dirname, '../..');

let root: string;
let clone: string;
let server: ChildProcess | undefined;

/** Copies the files git would commit (tracked, or untracked and not ignored) from the repository to `to`. */
function copyWorkingTree(to: string): void {
  const list = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: REPO,
    encoding: 'utf8',
  });
  expect(list.status, list.stderr).toBe(0);
  for (const file of list.stdout.split('\0')) {
    if (file === '' || file === 'node_modules' || !existsSync(join(REPO, file))) continue;
    mkdirSync(dirname(join(to, file)), { recursive: true });
    cpSync(join(REPO, file), join(to, file));
  }
  symlinkSync(realpathSync(join(REPO, 'node_modules')), join(to, 'node_modules'));
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'monoscope-install-'));
  clone = join(root, 'monoscope');
  copyWorkingTree(clone);
  // The README's project, made beforehand: `serve` needs a project, not the minutes of `monoscope demo`.
  openProject(join(root, 'monoscope-demo'), { create: true }).close();
});

afterAll(async () => {
  if (server && server.exitCode === null) {
    const exited = new Promise((done) => server!.once('exit', done));
    server.kill('SIGTERM');
    await exited;
  }
  rmSync(root, { recursive: true, force: true });
});

describe('a fresh install', () => {
  it('serves the app after npm ci, as the README says', async () => {
    expect(existsSync(join(clone, 'dist-renderer'))).toBe(false);
    const prepare = spawnSync('npm', ['run', 'prepare'], { cwd: clone, encoding: 'utf8', timeout: 600_000 });
    expect(prepare.status, prepare.stdout + prepare.stderr).toBe(0);

    server = spawn(
      process.execPath,
      [join(clone, 'bin', 'monoscope.js'), 'serve', '--project', 'monoscope-demo'],
      { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const url = new URL(await servedUrl(server));
    const page = await fetch(url);
    const html = await page.text();
    expect(page.status, html).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(html).toContain('<div id="root">');
    // The page's script, from the bundle that `prepare` built.
    const script = /<script type="module" crossorigin src="\.\/(assets\/[^"]+\.js)">/.exec(html);
    expect(script, html).not.toBeNull();
    const js = await fetch(new URL(script![1], url), {
      headers: { 'x-monoscope-token': url.searchParams.get('token')! },
    });
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toMatch(/javascript/);
    expect((await js.text()).length).toBeGreaterThan(100_000);
  });
});
