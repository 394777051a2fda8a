import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { withLock, type LockHolder } from '../../../src/core/store/locks.js';
import { openProject } from '../../../src/core/store/project.js';
import { createService } from '../../../src/core/service.js';
import { ApiError } from '../../../src/core/api.js';

const root = mkdtempSync(join(tmpdir(), 'monoscope-locks-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** The pid of a process that has ended. */
function deadPid(): number {
  return Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout);
}

/** Writes the lock file a writer of `name` left behind. */
function plantLock(dir: string, name: string, holder: Partial<LockHolder>): void {
  mkdirSync(join(dir, '.locks'), { recursive: true });
  const full = {
    kind: 'run',
    name,
    hostname: hostname(),
    startedAt: '2026-01-01T00:00:00Z',
    token: 'old',
    ...holder,
  };
  writeFileSync(join(dir, '.locks', `run.${name}.lock`), JSON.stringify(full));
}

describe('locks', () => {
  it('refuses a second writer of the same thing in the same process, naming the holder', async () => {
    const dir = join(root, 'same-process');
    let release!: () => void;
    const first = withLock(dir, 'run', 'dpo', () => new Promise<void>((ok) => (release = ok)));
    await expect(withLock(dir, 'run', 'dpo', async () => 1)).rejects.toMatchObject({
      name: 'StoreError',
      code: 'locked',
      message: expect.stringContaining(
        `run 'dpo' is being written by process ${process.pid} on ${hostname()}`,
      ),
    });
    expect(await withLock(dir, 'run', 'other', async () => 2)).toBe(2); // another name is free
    expect(await withLock(dir, 'recording', 'dpo', async () => 3)).toBe(3); // another kind too
    release();
    await first;
    expect(await withLock(dir, 'run', 'dpo', async () => 4)).toBe(4); // released
    expect(readdirSync(join(dir, '.locks'))).toEqual([]);
  });

  it('releases the lock when the writer fails', async () => {
    const dir = join(root, 'fails');
    await expect(withLock(dir, 'sae', 'x', async () => Promise.reject(new Error('boom')))).rejects.toThrow(
      'boom',
    );
    expect(await withLock(dir, 'sae', 'x', async () => 'free')).toBe('free');
  });

  it('takes over the lock of a dead process and tells the writer whose it was', async () => {
    const dir = join(root, 'stale');
    const pid = deadPid();
    plantLock(dir, 'dpo', { pid });
    const seen = await withLock(dir, 'run', 'dpo', async (stale) => stale);
    expect(seen).toMatchObject({ pid, name: 'dpo' });
  });

  it("keeps a live process's lock, and one held on another host", async () => {
    const dir = join(root, 'live');
    plantLock(dir, 'a', { pid: process.ppid, token: 'x' });
    await expect(withLock(dir, 'run', 'a', async () => 0)).rejects.toMatchObject({ code: 'locked' });
    plantLock(dir, 'b', { pid: deadPid(), hostname: 'elsewhere' });
    await expect(withLock(dir, 'run', 'b', async () => 0)).rejects.toThrow(/on elsewhere/);
  });
});

describe('opening a project', () => {
  it('sweeps the locks of dead writers, marking their runs interrupted, and keeps live ones', () => {
    const dir = join(root, 'sweep');
    const p = openProject(dir, { create: true });
    for (const id of ['killed', 'live', 'done'])
      p.store.runs.create({ id, stage: 'dpo', config: {}, backend: {}, seed: 0 });
    p.store.runs.setStatus('done', 'completed');
    p.close();
    const dead = deadPid();
    plantLock(dir, 'killed', { pid: dead });
    plantLock(dir, 'done', { pid: dead });
    plantLock(dir, 'live', { pid: process.pid });
    const leftover = readFileSync(join(dir, '.locks', 'run.killed.lock'));
    writeFileSync(join(dir, '.locks', 'run.killed.lock.0123456789abcdef'), leftover); // killed while locking

    const q = openProject(dir);
    expect(q.store.runs.get('killed')).toMatchObject({
      status: 'interrupted',
      message: expect.stringContaining(`process ${dead} ended without finishing`),
    });
    expect(q.store.runs.get('done')!.status).toBe('completed');
    expect(q.store.runs.get('live')!.status).toBe('running');
    q.close();
    expect(readdirSync(join(dir, '.locks'))).toEqual(['run.live.lock']);
  });
});

describe('two writers of one thing through the service', () => {
  it('refuses the second train of a name as a conflict while the first trains to the end, and so for a recording', async () => {
    const dir = join(root, 'service');
    const service = createService(openProject(dir, { create: true }));
    const input = (lr: number) => ({
      name: 'base',
      stage: 'pretrain',
      model: { nLayer: 1, nEmbd: 16, nHead: 2, nInner: 32, nCtx: 16 },
      steps: 3,
      batchSize: 2,
      examples: 50,
      lr,
      backend: 'wasm',
      threads: 1,
    });
    const [a, b] = await Promise.allSettled([
      service.call('train', input(0.001)),
      service.call('train', input(0.002)),
    ]);
    expect(a.status).toBe('fulfilled');
    expect(b.status).toBe('rejected');
    const e = (b as PromiseRejectedResult).reason;
    expect(e).toBeInstanceOf(ApiError);
    expect(e.code).toBe('conflict');
    expect(e.message).toMatch(/run 'base' is being written by process/);
    const run = service.project.store.runs.get('base')!;
    expect(run.status).toBe('completed');
    expect((run.config as { spec: { lr: number } }).spec.lr).toBe(0.001);

    // Two recordings of one checkpoint over one probe set conflict too; an analysis that needs the
    // recording waits for the writer instead, and reads what it stored.
    const record = { checkpoint: 'base', taps: 'blocks.0.mlp.post', backend: 'wasm' };
    const [r1, r2, table] = await Promise.allSettled([
      service.call('record', record),
      service.call('record', record),
      service.call('neurons.table', { checkpoint: 'base', tap: 'blocks.0.mlp.post' }),
    ]);
    expect(r1.status).toBe('fulfilled');
    expect((r2 as PromiseRejectedResult).reason).toMatchObject({
      code: 'conflict',
      message: expect.stringMatching(/^recording 'base\+[0-9a-f]+' is being written by process/),
    });
    expect(table.status, String((table as PromiseRejectedResult).reason)).toBe('fulfilled');
    expect(service.project.store.activations.list({ checkpoint: 'base' })).toHaveLength(1);
    service.close();
  });
});
