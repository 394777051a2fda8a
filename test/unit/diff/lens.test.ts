// The activation-difference lens (`diff.lens`) against a float64 PyTorch reference written from its
// definition (test/python/reference/lens.py): two random-weight GPT-2 checkpoints written by the reference
// (random LayerNorm weights and biases, so the final norm matters), in the world's vocabulary so that the
// built-in probe records on them. Also: checkpoints of other widths or tokenizers and taps that are not
// the residual stream are refused with a clear error.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { worldTokenizer } from '../../../src/core/data/world.js';
import type { Tokenizer } from '../../../src/core/model/tokenizer.js';
import { WordLevelTokenizer } from '../../../src/core/model/tokenizers.js';
import { openProject, type Project } from '../../../src/core/store/project.js';
import { createService, type Service } from '../../../src/core/service.js';
import type { DiffLensResult } from '../../../src/core/diff/types.js';
import { makeReferenceCheckpoint } from '../model/architectures/reference.js';
import { gptConfig, initParamArrays } from '../../../src/core/model/arch/gpt2.js';
import { saveCheckpoint } from '../../../src/core/model/checkpoint.js';

const root = mkdtempSync(join(tmpdir(), 'monoscope-lens-'));
const tok = worldTokenizer();
/** A 2-block GPT-2 of width 16 in the world's vocabulary, written by the reference with random weights. */
function referenceCheckpoint(name: string, seed: number): string {
  const dir = join(root, name);
  makeReferenceCheckpoint('gpt2', dir, {
    seed,
    set: {
      vocab_size: tok.vocabSize,
      n_embd: 16,
      n_head: 2,
      n_layer: 2,
      n_positions: 16,
      n_ctx: 16,
      bos_token_id: tok.eosId,
      eos_token_id: tok.eosId,
    },
  });
  tok.save(dir);
  return dir;
}

/** A 2-block GPT-2 of width `nEmbd` with `tokenizer`, written by us (for the refusals). */
function otherCheckpoint(name: string, nEmbd: number, tokenizer: Tokenizer): string {
  const dir = join(root, name);
  const ids = { bosTokenId: tokenizer.eosId, eosTokenId: tokenizer.eosId };
  const cfg = gptConfig({
    vocabSize: tokenizer.vocabSize,
    nEmbd,
    nLayer: 2,
    nHead: 2,
    nInner: 64,
    nCtx: 16,
    ...ids,
  });
  saveCheckpoint(dir, cfg, initParamArrays(cfg, 5), tokenizer, { stage: 'base' });
  return dir;
}

let project: Project;
let service: Service;
let a: string;
let b: string;
beforeAll(async () => {
  project = openProject(join(root, 'project'), { create: true });
  service = createService(project);
  a = referenceCheckpoint('a', 1);
  b = referenceCheckpoint('b', 2);
  // Recorded in float32, so that the reference's float64 activations are compared without float16 rounding.
  for (const ck of [a, b])
    await service.call('record', { checkpoint: ck, taps: 'blocks.*.resid_post', dtype: 'float32' });
});
afterAll(() => {
  service?.close();
  rmSync(root, { recursive: true, force: true });
});

interface Reference {
  tokens: number;
  layers: { tap: string; norm: number; base_norm: number; logits: number[] }[];
}

/** The reference lens of checkpoints a and b over the probe's sequences. */
function referenceLens(sequences: number[][], taps: string[]): Reference {
  const probe = join(root, 'probe.json');
  const out = join(root, 'lens.json');
  writeFileSync(probe, JSON.stringify({ sequences, special: [...tok.specialIds], taps }));
  const script = join(import.meta.dirname, '../../python/reference/lens.py');
  const r = spawnSync('/usr/bin/python3', [script, '--a', a, '--b', b, '--probe', probe, '--out', out], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`lens.py failed: ${r.stderr}`);
  return JSON.parse(readFileSync(out, 'utf8'));
}

describe('the activation-difference lens', () => {
  it("equals the float64 reference: the difference's norms, B's logits of it, the top tokens", async () => {
    const r: DiffLensResult = await service.call('diff.lens', { a, b, topK: 5 });
    expect(r).toMatchObject({ a: 'a', b: 'b', probe: 'builtin' });
    const [rec] = await service.call('recordings.list', { checkpoint: 'a' });
    const probe = project.store.probes.get(rec.probeHash)!;
    const ref = referenceLens(
      probe.sequences.map((s) => s.ids),
      r.layers.map((l) => l.tap),
    );
    expect(r.layers.map((l) => l.tap)).toEqual(['blocks.0.resid_post', 'blocks.1.resid_post']);
    expect(r.tokens).toBe(ref.tokens);
    for (const [i, layer] of r.layers.entries()) {
      const want = ref.layers[i];
      expect(layer.layer).toBe(i);
      expect(Math.abs(layer.norm - want.norm)).toBeLessThanOrEqual(1e-4 * want.norm);
      expect(Math.abs(layer.baseNorm - want.base_norm)).toBeLessThanOrEqual(1e-4 * want.base_norm);
      const tol = 1e-4 * Math.max(...want.logits.map(Math.abs));
      const desc = [...want.logits].sort((x, y) => y - x);
      const asc = [...desc].reverse();
      for (const [list, sorted] of [
        [layer.promoted, desc],
        [layer.suppressed, asc],
      ] as const) {
        expect(list).toHaveLength(5);
        list.forEach((t, k) => {
          expect(t.token).toBe(tok.tokenString(t.id));
          expect(Math.abs(t.logit - want.logits[t.id])).toBeLessThanOrEqual(tol);
          // The k-th token's reference logit is the k-th largest (smallest), up to near-ties.
          expect(Math.abs(want.logits[t.id] - sorted[k])).toBeLessThanOrEqual(tol);
        });
      }
    }
  });

  it('refuses checkpoints of another width or vocabulary, and taps outside the residual stream', async () => {
    const wide = otherCheckpoint('wide', 24, tok);
    const small = WordLevelTokenizer.fromWords(['the', 'cat', 'is', 'red', '.']);
    const other = otherCheckpoint('other', 16, small);
    await expect(service.call('diff.lens', { a, b: wide })).rejects.toThrow(
      /a is 16 wide \(d_model\) and wide is 24/,
    );
    await expect(service.call('diff.lens', { a, b: other })).rejects.toThrow(
      `a has a vocabulary of ${tok.vocabSize} tokens and other of ${small.vocabSize}`,
    );
    await expect(service.call('diff.lens', { a, b, taps: 'blocks.*.mlp.post' })).rejects.toThrow(
      /blocks\.0\.mlp\.post is 64 wide, not d_model \(16\)/,
    );
  });
});
