// src/main/electron.ts when better-sqlite3 does not load (the Node build under Electron's ABI): the app must
// say which command builds one, and stop before opening a window or a project. Electron and better-sqlite3
// are faked (see fake-electron.ts); the error text is the one Node prints for an ABI mismatch.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import * as fake from './fake-electron.js';

vi.mock('electron', async () => {
  const { electron } = await import('./fake-electron.js');
  return { ...electron, default: electron };
});
vi.mock('../../../src/main/engine-host.js', async () => ({
  EngineHost: (await import('./fake-electron.js')).FakeHost,
}));
vi.mock('better-sqlite3', () => ({
  default: class {
    constructor() {
      throw new Error(
        "The module '/app/node_modules/better-sqlite3/build/Release/better_sqlite3.node' was compiled against a " +
          'different Node.js version using NODE_MODULE_VERSION 115. This version of Node.js requires NODE_MODULE_VERSION 150.',
      );
    }
  },
}));

describe('the Electron main process without a usable better-sqlite3', () => {
  beforeAll(async () => {
    fake.state.userData = mkdtempSync(join(tmpdir(), 'monoscope-userdata-'));
    vi.spyOn(console, 'error').mockImplementation(() => {});
    await import('../../../src/main/electron.js');
    fake.ready();
    await vi.waitFor(() => expect(fake.state.calls).toContain('exit 1'));
  });
  afterAll(() => rmSync(fake.state.userData, { recursive: true, force: true }));

  it('names the command that builds one, and stops', () => {
    expect(fake.state.errors.length).toBe(1);
    const [title, text] = fake.state.errors[0];
    expect(title).toBe('Monoscope cannot open its database');
    expect(text).toContain(`Node ABI ${process.versions.modules}`);
    expect(text).toContain('npm run rebuild:electron');
    expect(text).toMatch(/native[\\/]better_sqlite3\.abi\d+\.node/);
    expect(fake.state.windows).toEqual([]);
    expect(fake.state.hosts).toEqual([]);
    expect(fake.state.ipc.size).toBe(0);
  });
});
