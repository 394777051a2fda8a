// Run by electron-smoke.test.ts in a child process (node --import tsx): starts the *built* main process,
// dist/main/electron.js, with the fake electron module in place of the real one but the real engine host
// (worker threads, better-sqlite3, TF.js), then plays the renderer's part over the registered IPC handlers
// and prints what came back as JSON.
import { register } from 'node:module';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

register('./electron-loader.mjs', import.meta.url);
const fake = await import('./fake-electron.js');

const [userData, project] = process.argv.slice(2);
const REPO = resolve(import.meta.dirname, '../../..');
// The page from a (never started) dev server: this test does not depend on dist-renderer/, which other
// suites rebuild (and wipe) while tests run. The built page is covered by electron-main.test.ts.
const DEV_SERVER = 'http://127.0.0.1:5173/';
process.env.MONOSCOPE_DEV_SERVER = DEV_SERVER;

// EngineHost's workers are unref'd (Electron's own loop keeps the app alive): here a timer does.
const keepAlive = setInterval(() => {}, 1000);
// A hang fails fast, saying where it stopped.
let step = 'starting';
const watchdog = setTimeout(() => {
  const { errors, calls } = fake.state;
  console.error(`electron-smoke-driver: stuck at ${step} after 60 s (${JSON.stringify({ errors, calls })})`);
  process.exit(2);
}, 60_000);
fake.state.userData = userData;
process.argv.push('--project', project);
step = 'importing dist/main/electron.js';
await import(pathToFileURL(join(REPO, 'dist', 'main', 'electron.js')).href);
step = 'waiting for the window';
fake.ready();
while (fake.state.windows.length === 0) await new Promise((r) => setTimeout(r, 20));
const contents = fake.state.contents[0];
const event = { senderFrame: { url: `${DEV_SERVER}#/project`, parent: null }, sender: { id: contents.id } };
// Replies are copied when sent, as Electron's structured clone does (a JobInfo changes later).
const invoke = async (channel: string, ...args: unknown[]) =>
  structuredClone(await fake.state.ipc.get(channel)!(event, ...args));

step = 'project.summary';
const summary = await invoke('monoscope:call', 'project.summary', {});
const tiny = { nLayer: 1, nEmbd: 32, nHead: 2, nInner: 64, nCtx: 64 };
step = 'start-job';
const job = (await invoke('monoscope:start-job', 'train', {
  name: 'smoke',
  stage: 'pretrain',
  model: tiny,
  steps: 2,
  batchSize: 4,
  examples: 200,
})) as { ok: boolean; value: { id: string } };
step = 'waiting for the end of the job';
const isEnd = ([ch, e]: [string, unknown]) =>
  ch === 'monoscope:job-event' && (e as { type: string }).type === 'end';
while (!contents.sent.some(isEnd)) await new Promise((r) => setTimeout(r, 50));
step = 'checkpoints.list';
const checkpoints = await invoke('monoscope:call', 'checkpoints.list', {});
const foreignPage = { ...event, senderFrame: { url: 'https://example.com/', parent: null } };
const foreign = await fake.state.ipc.get('monoscope:call')!(foreignPage, 'runs.list', {});

step = 'quit';
fake.electron.app.emit('before-quit', { preventDefault: () => {} });
while (!fake.state.calls.includes('quit')) await new Promise((r) => setTimeout(r, 20));
console.log(
  JSON.stringify({
    summary,
    job,
    sent: contents.sent,
    checkpoints,
    foreign,
    errors: fake.state.errors,
    loaded: fake.state.windows[0].loaded,
  }),
);
// Now nothing may keep the process alive: the test checks that it exits.
clearInterval(keepAlive);
clearTimeout(watchdog);
