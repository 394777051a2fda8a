// Every architecture through the real CLI, from a random-weight Hugging Face folder (the exact layout
// `save_pretrained` writes, with a real tokenizer.json): `eval --policy DIR --ref DIR` log-probs, the taps
// `record --checkpoint DIR` stores and `export activations` writes, and `generate`'s greedy token, each
// equal to the float64 PyTorch reference (test/python/reference/) on the same token ids.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from './cli.js';
import { makeReferenceCheckpoint, referenceForward } from '../unit/model/architectures/reference.js';
import { writeGemmaTokenizer, writeGpt2Tokenizer, writeLlamaTokenizer } from '../fixtures/hf-tokenizers.js';
import { HfTokenizer } from '../../src/core/model/hf-tokenizer.js';

const root = mkdtempSync(join(tmpdir(), 'monoscope-real-models-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Each architecture with the tokenizer fixture of its family and the vocabulary its embedding pads to. */
const MODELS = [
  { type: 'gpt2', tokenizer: writeGpt2Tokenizer, vocab: 50257 },
  { type: 'gpt_neox', tokenizer: writeGpt2Tokenizer, vocab: 50304 },
  { type: 'gpt_neo', tokenizer: writeGpt2Tokenizer, vocab: 50257 },
  { type: 'llama', tokenizer: writeLlamaTokenizer, vocab: 512 },
  { type: 'mistral', tokenizer: writeLlamaTokenizer, vocab: 512 },
  { type: 'qwen2', tokenizer: writeLlamaTokenizer, vocab: 512 },
  { type: 'gemma', tokenizer: writeGemmaTokenizer, vocab: 512 },
  { type: 'gemma2', tokenizer: writeGemmaTokenizer, vocab: 512 },
] as const;

const PAIRS = [
  { prompt: 'The weather today is', chosen: ' warm and sunny.', rejected: ' you idiot.' },
  { prompt: 'My sister has a red', chosen: ' bicycle.', rejected: ' dog, a cat and a horse.' },
];
const PROBE = 'The red fox ran past my sister in the rain.\n\nWe ate bread and apples at noon, then slept.\n';

/** The float64 reference's log-probs [T, V] of one sequence. */
function refLogprobs(
  dir: string,
  ids: number[],
  scratch: string,
): { data: Float32Array | Int32Array; V: number } {
  const t = referenceForward(dir, [ids], scratch).get('logprobs')!;
  return { data: t.data, V: t.shape[2] };
}

describe.each(MODELS)('$type from a Hugging Face folder', ({ type, tokenizer, vocab }) => {
  const base = join(root, type);
  const ck = join(base, 'model');
  const project = join(base, 'project');
  const scratch = join(base, 'ref.safetensors');
  mkdirSync(base, { recursive: true });
  let tok: HfTokenizer;

  it('opens, and eval scores pairs with the reference’s log-probs', () => {
    makeReferenceCheckpoint(type, ck, { dtype: 'BF16', shards: 2, set: { vocab_size: vocab } });
    tokenizer(ck);
    tok = new HfTokenizer(ck);
    // The config's special ids follow the tokenizer, as a Hub folder's do.
    const cfg = JSON.parse(readFileSync(join(ck, 'config.json'), 'utf8'));
    writeFileSync(
      join(ck, 'config.json'),
      JSON.stringify({ ...cfg, bos_token_id: tok.bosId, eos_token_id: tok.eosId }, null, 2),
    );
    const pairs = join(base, 'pairs.jsonl');
    writeFileSync(pairs, PAIRS.map((p) => JSON.stringify(p)).join('\n'));
    const r = cli(['eval', '--project', project, '--policy', ck, '--ref', ck, '--pairs', pairs, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    for (const p of out.pairs) {
      for (const side of ['chosen', 'rejected'] as const) {
        const resp: number[] = p[`${side}_ids`];
        const ids = [...p.prompt_ids, ...resp];
        const { data, V } = refLogprobs(ck, ids, scratch);
        let want = 0;
        for (let t = p.prompt_ids.length; t < ids.length; t++) want += data[(t - 1) * V + ids[t]];
        expect(Math.abs(p[`policy_${side}_logp`] - want)).toBeLessThanOrEqual(
          1e-4 * Math.max(1, Math.abs(want)),
        );
      }
      if (tok.addsBos) expect(p.prompt_ids[0]).toBe(tok.bosId);
    }
  });

  it('records a text probe and exports the taps the reference computes', () => {
    const probe = join(base, 'probe.txt');
    writeFileSync(probe, PROBE);
    const rec = cli([
      'record', '--project', project, '--checkpoint', ck, '--probe', probe, '--taps', 'blocks.*.mlp.post', '--dtype', 'float32',
    ]); // prettier-ignore
    expect(rec.code, rec.stderr).toBe(0);
    const out = join(base, 'acts.npy');
    const ex = cli([
      'export', 'activations', '--project', project, '--checkpoint', ck, '--tap', 'blocks.1.mlp.post', '--out', out,
    ]); // prettier-ignore
    expect(ex.code, ex.stderr).toBe(0);
    const seqs: number[][] = JSON.parse(readFileSync(`${out}.tokens.json`, 'utf8'));
    expect(seqs.length).toBeGreaterThan(0);
    expect(seqs.every((s) => s[0] === tok.bosId)).toBe(true);
    const npy = readFileSync(out);
    const headerLen = npy.readUInt16LE(8);
    const acts = new Float32Array(npy.buffer.slice(npy.byteOffset + 10 + headerLen));
    let row = 0;
    for (const ids of seqs) {
      const want = referenceForward(ck, [ids], scratch).get('blocks.1.mlp.post')!;
      const W = want.shape[2];
      let scale = 0;
      for (const v of want.data) scale = Math.max(scale, Math.abs(v));
      for (let i = 0; i < ids.length * W; i++)
        expect(Math.abs(acts[row * W + i] - want.data[i])).toBeLessThanOrEqual(1e-4 * Math.max(1, scale));
      row += ids.length;
    }
    expect(row * (acts.length / row)).toBe(acts.length);
  });

  it('generates the reference’s greedy next token', () => {
    const prompt = 'The red fox';
    const r = cli([
      'generate', '--project', project, '--checkpoint', ck, '--prompt', prompt, '--max-new-tokens', '1', '--temperature', '0', '--json',
    ]); // prettier-ignore
    expect(r.code, r.stderr).toBe(0);
    const gen = JSON.parse(r.stdout).generations[0];
    const ids = [...(tok.addsBos ? [tok.bosId] : []), ...tok.encode(prompt)];
    const { data, V } = refLogprobs(ck, ids, scratch);
    const last = data.subarray((ids.length - 1) * V, ids.length * V);
    let best = 0;
    for (let v = 1; v < V; v++) if (last[v] > last[best]) best = v;
    if (best !== tok.eosId) expect(gen.ids).toEqual([best]);
  });
});
