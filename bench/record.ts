/**
 * Recording benchmark at a real size: `npm run bench:record [-- --arch gpt_neox|gpt2 --tokens 20000
 * --window 128 --runs 3 --probe-tokens 10000 --torch-threads 2]`.
 *
 * The model: a random-weight checkpoint of Pythia-160m's exact shape (gpt_neox, 12 layers, d_model 768,
 * 12 heads, 3,072 neurons, vocab 50,304, rotary_pct 0.25, parallel residual, 2,048 positions; F32), written
 * in the Hugging Face layout by test/python/reference/run.py and cached under test-output/bench-record/
 * with a word-level tokenizer.json of 50,304 tokens (our loader wants a tokenizer; the token ids are what
 * matter here). `--arch gpt2` takes a GPT-2 of the same size instead.
 *
 * The work: all 12 `blocks.*.mlp.post` taps over `--tokens` tokens of a seeded random token stream (ids
 * uniform over the ordinary tokens 3 .. vocab - 1, Rng seed 1234) cut into windows of `--window`, recorded
 * by the `record` operation (src/core/ops/record.ts: checkpoint loading, the forward passes, float16 rows,
 * statistics and examples) into a fresh project store, on the backend the CLI picks here (`auto`). Each
 * recording runs in a process of its own, so peak RSS is that recording's.
 *
 * Against it, in the same run on the same CPU: bench/record_torch.py, a float32 PyTorch forward pass of the
 * same checkpoint over the same windows in the same batches (32 windows, padded to the window), keeping the
 * same taps as float16. Ours and PyTorch's runs alternate, `--runs` times each; figures are medians.
 *
 * Prints one JSON object:
 *   tokens_per_s        tokens / seconds of our recording proper (forward passes, writer, statistics);
 *   op_tokens_per_s     tokens / seconds of the whole operation, checkpoint loading included;
 *   torch_tokens_per_s  tokens / seconds of PyTorch's forward passes; ratio = tokens_per_s / torch's;
 *   peak_rss_mb         our recording process's peak resident set (process.resourceUsage().maxRSS);
 *   bytes_on_disk       the project folder's growth (store file and WAL, after closing);
 *   streaming           peak RSS at `--probe-tokens` and at `--tokens` tokens, each in its own process,
 *                       and the resident set after each committed batch of both. Memory is bounded by the
 *                       batch (32 windows x 12 taps x 3,072 neurons = 604 MB of float32 per batch, two
 *                       batches in flight), so the smaller probe must have two full batches too: 10,000
 *                       tokens does (5,000 tokens, 40 windows, never has two full batches in flight);
 * and the machine (cores, CPU model, 1-minute load average before and after), backend, counts and timings.
 */
import { spawnSync, fork } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { initBackend } from '../src/core/backend/index.js';
import { makeProbeSet } from '../src/core/data/probe.js';
import type { ProbeSet } from '../src/core/data/types.js';
import { Rng } from '../src/core/model/rng.js';
import { WordLevelTokenizer } from '../src/core/model/tokenizers.js';
import { recordOp } from '../src/core/ops/record.js';
import type { Reporter } from '../src/core/ops/progress.js';
import { parseInput } from '../src/core/api.js';
import { openProject } from '../src/core/store/project.js';

const PYTHON = '/usr/bin/python3';
const ROOT = resolve(import.meta.dirname, '..');
const CACHE = join(ROOT, 'test-output', 'bench-record');
const TAPS = 'blocks.*.mlp.post';
const VOCAB = 50_304;
const SEED = 1234;
const BATCH = 32;
/** The checkpoint's name in the benchmark's project. */
const NAME = 'bench-160m';

/** config.json overrides giving each architecture Pythia-160m's size (the rest: the reference's defaults). */
const SHAPES: Record<string, Record<string, unknown>> = {
  gpt_neox: {
    num_hidden_layers: 12,
    hidden_size: 768,
    num_attention_heads: 12,
    intermediate_size: 3072,
    vocab_size: VOCAB,
    rotary_pct: 0.25,
    use_parallel_residual: true,
    max_position_embeddings: 2048,
  },
  gpt2: {
    n_layer: 12,
    n_embd: 768,
    n_head: 12,
    n_inner: 3072,
    vocab_size: VOCAB,
    n_positions: 2048,
    n_ctx: 2048,
  },
};

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const round = (x: number, digits = 1): number => Number(x.toFixed(digits));
const load1 = (): number => round(loadavg()[0], 2);

interface Args {
  arch: string;
  tokens: number;
  window: number;
  runs: number;
  probeTokens: number;
  torchThreads: number;
  child?: number;
}

function parseArgs(argv: string[]): Args {
  const args: Args = {
    arch: 'gpt_neox',
    tokens: 20_000,
    window: 128,
    runs: 3,
    probeTokens: 10_000,
    torchThreads: 2,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[++i];
    if (v === undefined) throw new Error(`bench:record: ${a} needs a value`);
    if (a === '--arch') args.arch = v;
    else if (a === '--tokens') args.tokens = Number(v);
    else if (a === '--window') args.window = Number(v);
    else if (a === '--runs') args.runs = Number(v);
    else if (a === '--probe-tokens') args.probeTokens = Number(v);
    else if (a === '--torch-threads') args.torchThreads = Number(v);
    else if (a === '--child') args.child = Number(v);
    else
      throw new Error(
        `bench:record: unknown argument '${a}' (expected --arch, --tokens, --window, --runs, --probe-tokens, --torch-threads)`,
      );
  }
  if (!SHAPES[args.arch])
    throw new Error(`bench:record: --arch must be one of ${Object.keys(SHAPES).join(', ')}`);
  return args;
}

/** The cached checkpoint folder of `arch` at Pythia-160m's size, written first when missing. */
function ensureCheckpoint(arch: string): string {
  const dir = join(CACHE, `${arch}-160m`);
  if (existsSync(join(dir, 'tokenizer.json'))) return dir;
  const tmp = `${dir}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  const sets = Object.entries(SHAPES[arch]).flatMap(([k, v]) => ['--set', `${k}=${JSON.stringify(v)}`]);
  const run = join(ROOT, 'test/python/reference/run.py');
  const r = spawnSync(PYTHON, [run, 'make', '--model-type', arch, '--out', tmp, '--seed', '0', ...sets], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`bench:record: run.py make failed: ${r.stderr || r.error?.message}`);
  const words = Array.from({ length: VOCAB - 3 }, (_, i) => `t${i + 3}`);
  WordLevelTokenizer.fromWords(words).save(tmp);
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return dir;
}

/** `tokens` seeded random token ids (ordinary tokens only) cut into windows of `window`, the last shorter. */
function windows(tokens: number, window: number): number[][] {
  const rng = new Rng(SEED);
  const out: number[][] = [];
  for (let left = tokens; left > 0; left -= window)
    out.push(Array.from({ length: Math.min(window, left) }, () => 3 + rng.int(VOCAB - 3)));
  return out;
}

function probeSet(tokens: number, window: number): ProbeSet {
  const seqs = windows(tokens, window).map((ids) => ({ ids, concepts: ids.map(() => null) }));
  return makeProbeSet(`random-${tokens}`, seqs);
}

/** Total bytes of the files under `dir`. */
function folderBytes(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true }))
    if (e.isFile()) n += statSync(join(e.parentPath, e.name)).size;
  return n;
}

interface OursRun {
  tokens: number;
  backend: string;
  device: string;
  opSeconds: number;
  recordSeconds: number;
  timing: { forwardSeconds: number; writerWaitSeconds: number; finishSeconds: number };
  peakRssMb: number;
  bytesOnDisk: number;
  sequencesPerForward: number;
  /** The process's resident set after each committed batch. */
  rssByBatchMb: number[];
}

/** The resident set after each committed batch, sampled by {@link stderrReporter}. */
const rssByBatchMb: number[] = [];

/** Progress on stderr, one line per committed batch (a 20,000-token run takes minutes). */
const stderrReporter: Reporter = {
  progress: (e) => {
    rssByBatchMb.push(round(process.memoryUsage().rss / 2 ** 20));
    process.stderr.write(
      `bench:record: ${e.done} / ${e.total} tokens, ${round(e.metrics?.tokens_per_s ?? 0)} tokens/s\n`,
    );
  },
  message: (text) => process.stderr.write(`bench:record: ${text}\n`),
};

/** One recording in this process (the child's side): a fresh project, the `record` operation, its figures. */
async function recordOnce(checkpoint: string, tokens: number, window: number): Promise<OursRun> {
  const backend = await initBackend('auto');
  const dir = mkdtempSync(join(tmpdir(), 'bench-record-'));
  try {
    const project = openProject(dir, { create: true });
    const probe = probeSet(tokens, window);
    project.store.probes.put(probe);
    // The cached folder, as a checkpoint of the project (a link: the weights are not copied).
    symlinkSync(checkpoint, project.checkpointDir(NAME));
    project.close();
    const before = folderBytes(dir);
    const reopened = openProject(dir);
    const t0 = performance.now();
    const req = parseInput('record', { checkpoint: NAME, probe: probe.hash, taps: TAPS, batchSize: BATCH });
    const result = await recordOp(reopened, req, stderrReporter);
    const opSeconds = (performance.now() - t0) / 1000;
    reopened.close();
    const { forwardSeconds, writerWaitSeconds, finishSeconds } = result.timing;
    return {
      tokens: result.rowsComputed,
      backend: backend.backend,
      device: backend.device,
      opSeconds,
      recordSeconds: forwardSeconds + writerWaitSeconds + finishSeconds,
      timing: result.timing,
      peakRssMb: process.resourceUsage().maxRSS / 1024,
      bytesOnDisk: folderBytes(dir) - before,
      sequencesPerForward: result.sequencesPerForward,
      rssByBatchMb,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs {@link recordOnce} in a child process (`--child TOKENS`) and returns its figures. */
function oursInChild(args: Args, tokens: number): Promise<OursRun> {
  return new Promise((done, fail) => {
    const child = fork(process.argv[1], [
      '--arch',
      args.arch,
      '--window',
      String(args.window),
      '--child',
      String(tokens),
    ]);
    let got: OursRun | undefined;
    child.on('message', (m) => (got = m as OursRun));
    child.on('exit', (code) =>
      got ? done(got) : fail(new Error(`bench:record: the recording child exited with code ${code}`)),
    );
  });
}

interface TorchRun {
  torch_seconds: number;
  tokens: number;
  torch_tokens_per_s: number;
  torch_peak_rss_mb: number;
  torch_threads: number;
  torch: string;
}

/** bench/record_torch.py over the same windows, in the same batches, padded as ours pads (pad id 1). */
function torchRun(args: Args, checkpoint: string, windowsFile: string): TorchRun {
  const script = join(ROOT, 'bench/record_torch.py');
  const r = spawnSync(
    PYTHON,
    [
      script,
      '--checkpoint',
      checkpoint,
      '--windows',
      windowsFile,
      '--batch',
      String(BATCH),
      '--pad',
      '1',
    ].concat(['--threads', String(args.torchThreads)]),
    { encoding: 'utf8', maxBuffer: 1 << 20 },
  );
  if (r.status !== 0)
    throw new Error(`bench:record: record_torch.py failed: ${r.stderr || r.error?.message}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as TorchRun;
}

async function main(args: Args): Promise<void> {
  const checkpoint = ensureCheckpoint(args.arch);
  mkdirSync(CACHE, { recursive: true });
  const windowsFile = join(CACHE, `windows-${args.tokens}-${args.window}.json`);
  writeFileSync(windowsFile, JSON.stringify(windows(args.tokens, args.window)));
  const loadBefore = load1();
  const ours: OursRun[] = [];
  const torch: TorchRun[] = [];
  for (let i = 0; i < args.runs; i++) {
    ours.push(await oursInChild(args, args.tokens));
    torch.push(torchRun(args, checkpoint, windowsFile));
  }
  const probe = await oursInChild(args, args.probeTokens);
  const loadAfter = load1();
  const tokensPerS = median(ours.map((r) => r.tokens / r.recordSeconds));
  const torchTokensPerS = median(torch.map((r) => r.torch_tokens_per_s));
  const shape = SHAPES[args.arch];
  console.log(
    JSON.stringify({
      bench: 'record',
      arch: args.arch,
      shape,
      checkpoint: checkpoint.slice(ROOT.length + 1),
      taps: TAPS,
      tokens: ours[0].tokens,
      window: args.window,
      batch: BATCH,
      sequences_per_forward: ours[0].sequencesPerForward,
      probe: `seeded random token stream (Rng ${SEED}), ids uniform over 3..${VOCAB - 1}`,
      runs: args.runs,
      backend: ours[0].backend,
      device: ours[0].device,
      cores: availableParallelism(),
      cpu: cpus()[0]?.model,
      load_before: loadBefore,
      load_after: loadAfter,
      tokens_per_s: round(tokensPerS),
      op_tokens_per_s: round(median(ours.map((r) => r.tokens / r.opSeconds))),
      torch_tokens_per_s: round(torchTokensPerS),
      ratio: round(tokensPerS / torchTokensPerS, 3),
      peak_rss_mb: round(median(ours.map((r) => r.peakRssMb))),
      bytes_on_disk: median(ours.map((r) => r.bytesOnDisk)),
      streaming: {
        probe_tokens: [args.probeTokens, args.tokens],
        peak_rss_mb: [round(probe.peakRssMb), round(median(ours.map((r) => r.peakRssMb)))],
        rss_after_each_batch_mb: [probe.rssByBatchMb, ours[0].rssByBatchMb],
      },
      runs_tokens_per_s: ours.map((r) => round(r.tokens / r.recordSeconds)),
      runs_torch_tokens_per_s: torch.map((r) => r.torch_tokens_per_s),
      timing_s: {
        op: round(median(ours.map((r) => r.opSeconds)), 2),
        forward: round(median(ours.map((r) => r.timing.forwardSeconds)), 2),
        writer_wait: round(median(ours.map((r) => r.timing.writerWaitSeconds)), 2),
        finish: round(median(ours.map((r) => r.timing.finishSeconds)), 2),
        torch_forward: round(median(torch.map((r) => r.torch_seconds)), 2),
      },
      torch: {
        version: torch[0].torch,
        threads: torch[0].torch_threads,
        forward: 'bench/record_torch.py: hand-written float32 forward, taps kept as float16, no logits',
        peak_rss_mb: round(median(torch.map((r) => r.torch_peak_rss_mb))),
      },
    }),
  );
}

const args = parseArgs(process.argv.slice(2));
if (args.child !== undefined) {
  const run = await recordOnce(ensureCheckpoint(args.arch), args.child, args.window);
  process.send!(run);
} else {
  await main(args);
}
