/**
 * The independent LoRA reference (test/python/reference/lora.py: PEFT's layout and update W + s B A,
 * float64 PyTorch, written from PEFT's definition), driven from TypeScript: random adapters for a base
 * checkpoint in PEFT's layout, and the log-probs of base + adapter.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSafetensors } from '../../../src/core/model/safetensors.js';
import { runScript } from '../../helpers/python-script.js';

const LORA = join(import.meta.dirname, '../../python/reference/lora.py');

/** Runs lora.py with `args` (by the interpreter this process keeps for it); throws with its stderr on failure. */
function run(args: string[]): void {
  const r = runScript(LORA, args);
  if (r.status !== 0) throw new Error(`lora reference ${args[0]} failed: ${r.stderr}`);
}

/** Runs `fn` with a fresh scratch folder, removed afterwards. */
function scratch<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'monoscope-lora-ref-'));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface ReferenceAdapterOptions {
  /** PEFT's target_modules (a list). */
  targets: string[];
  r?: number;
  alpha?: number;
  rslora?: boolean;
  seed?: number;
  /** base_model_name_or_path; left out: null. */
  baseName?: string;
}

/** Writes a random PEFT adapter (A and B both non-zero) for the base checkpoint `baseDir` into `out`. */
export function makeReferenceAdapter(baseDir: string, out: string, o: ReferenceAdapterOptions): string {
  const args = ['make', '--checkpoint', baseDir, '--out', out, '--targets', o.targets.join(',')];
  args.push('--r', String(o.r ?? 4), '--alpha', String(o.alpha ?? 8), '--seed', String(o.seed ?? 0));
  if (o.rslora) args.push('--rslora');
  if (o.baseName !== undefined) args.push('--base-name', o.baseName);
  run(args);
  return out;
}

/** The reference's log-probs [B, T, V] (flattened, float64) of base + adapter (the base alone without one). */
export function referenceLoraForward(
  baseDir: string,
  adapterDir: string | undefined,
  ids: number[][],
): Float32Array | Int32Array {
  return scratch((dir) => {
    const out = join(dir, 'logprobs.safetensors');
    const args = ['forward', '--checkpoint', baseDir, '--ids', JSON.stringify(ids), '--out', out];
    run(adapterDir ? [...args, '--adapter', adapterDir] : args);
    return readSafetensors(out).tensors.get('logprobs')!.data;
  });
}

/** A preference pair as token ids. */
export interface IdPair {
  prompt: number[];
  chosen: number[];
  rejected: number[];
}

/**
 * The reference's summed response log-probs of base + adapter (the base alone without one) on each pair:
 * sum_t log p(response_t | prompt, response_<t), each sequence run alone.
 */
export function referenceLoraLogps(
  baseDir: string,
  adapterDir: string | undefined,
  pairs: IdPair[],
): { chosen: number[]; rejected: number[] } {
  return scratch((dir) => {
    const file = join(dir, 'pairs.json');
    const out = join(dir, 'logps.json');
    writeFileSync(file, JSON.stringify(pairs));
    const args = ['logps', '--checkpoint', baseDir, '--pairs', file, '--out', out];
    run(adapterDir ? [...args, '--adapter', adapterDir] : args);
    return JSON.parse(readFileSync(out, 'utf8'));
  });
}
