// Smoke test of the built main process (dist/main/electron.js) with the real engine: the fake electron
// module stands in for Electron (see electron-smoke-driver.ts), everything else is real: the ESM build,
// EngineHost's worker threads, better-sqlite3 and a training job on a temporary project. The child must
// also exit by itself after quit (no worker left running).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const REPO = resolve(import.meta.dirname, '../../..');
const DRIVER = join(import.meta.dirname, 'electron-smoke-driver.ts');

describe('the built main process, with the real engine', () => {
  const userData = mkdtempSync(join(tmpdir(), 'monoscope-userdata-'));
  const project = mkdtempSync(join(tmpdir(), 'monoscope-project-'));
  afterAll(() => {
    rmSync(userData, { recursive: true, force: true });
    rmSync(project, { recursive: true, force: true });
  });

  it('answers IPC calls from worker threads, streams a job to the window, and exits after quit', () => {
    const main = join(REPO, 'dist', 'main', 'electron.js');
    if (!existsSync(main)) {
      throw new Error(`${main} is missing: run npm run build:node first (npm test does)`);
    }
    const r = spawnSync(process.execPath, ['--import', 'tsx', DRIVER, userData, project], {
      cwd: REPO,
      encoding: 'utf8',
      timeout: 90_000,
    });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    expect(out.errors).toEqual([]);
    expect(out.loaded).toEqual(['url:http://127.0.0.1:5173/']);
    expect(out.loaded).toEqual(['url:http://127.0.0.1:5173/']);
    expect(out.summary).toMatchObject({ ok: true, value: { dir: project, checkpoints: [] } });
    expect(out.job).toMatchObject({ ok: true, value: { op: 'train', status: 'running' } });
    const events = (
      out.sent as [string, { jobId: string; type: string; status?: string; event?: { kind: string } }][]
    )
      .filter(([channel]) => channel === 'monoscope:job-event')
      .map(([, e]) => e);
    expect(events.every((e) => e.jobId === out.job.value.id)).toBe(true);
    expect(events.some((e) => e.type === 'event' && e.event!.kind === 'progress')).toBe(true);
    expect(events.at(-1)).toMatchObject({ type: 'end', status: 'completed' });
    expect(out.checkpoints).toMatchObject({ ok: true, value: [{ name: 'smoke' }] });
    expect(out.foreign).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(JSON.parse(readFileSync(join(userData, 'settings.json'), 'utf8'))).toEqual({
      lastProject: project,
    });
  });
});
