// The mission's answer from a crosscoder record: on a hand-made record over base, dpo and decpo (7
// latents), the latents specific to each fine-tune against the base, their concepts, mean score, ν and
// the seed baseline, checked against values worked out by hand.
import { describe, expect, it } from 'vitest';
import { diffingFindings, specificLatents } from '../../../src/core/diff/findings.js';
import type { CrosscoderRecord, LatentConcept, LatentPair, LatentTag } from '../../../src/core/diff/types.js';

function pair(a: number, b: number, tag: LatentTag[], nu: (number | null)[]): LatentPair {
  const counts: Record<LatentTag, number> = { 'a-only': 0, 'b-only': 0, shared: 0, other: 0 };
  for (const t of tag) counts[t]++;
  return { a, b, delta: tag.map(() => 0.5), tag, cosine: tag.map(() => 1), nuError: nu, nuRecon: nu, counts };
}

const concept = (c: string | null, score: number, monosemantic = false, fires = true): LatentConcept => ({
  concept: c,
  score,
  monosemantic,
  density: fires ? [0.1, 0.1, 0.1] : [0, 0, 0],
});

const record = {
  name: 'cc',
  checkpoints: ['base', 'dpo', 'decpo'],
  concepts: [
    concept('colour', 0.9, true),
    concept('food', 0.5),
    concept(null, 0, false, false), // never fires
    concept('colour', 0.7),
    concept('animal', 1, true),
    concept('food', 0.2),
    concept(null, 0), // fires, on tokens without a concept
  ],
  pairs: [
    // (base, dpo): latents 1, 2, 5, 6 specific to dpo.
    pair(
      0,
      1,
      ['shared', 'b-only', 'b-only', 'a-only', 'shared', 'b-only', 'b-only'],
      [null, 0.2, null, null, null, 0.4, null],
    ),
    // (base, decpo): latents 0, 3, 4 specific to decpo.
    pair(
      0,
      2,
      ['b-only', 'shared', 'other', 'b-only', 'b-only', 'shared', 'shared'],
      [0.1, null, null, 0.3, 0.5, null, null],
    ),
    pair(1, 2, Array(7).fill('shared'), Array(7).fill(null)),
  ],
} as unknown as CrosscoderRecord;

describe('diffingFindings', () => {
  it('lists the latents of a tag in index order', () => {
    expect(specificLatents(record.pairs[0], 'b-only')).toEqual([1, 2, 5, 6]);
    expect(specificLatents(record.pairs[1], 'shared')).toEqual([1, 5, 6]);
  });

  it('counts, scores and names the latents specific to each fine-tune against the base, beside the seed baseline', () => {
    const f = diffingFindings(record, {
      name: 'cc-seed1',
      seed: 1,
      allShared: 0.5,
      allFound: 0.75,
      specific: [
        { b: 1, shared: 1 / 3, found: 2 / 3, twinCount: 4 },
        { b: 2, shared: 2 / 3, found: 1, twinCount: 2 },
      ],
    });
    expect(f.base).toBe('base');
    expect(f.shared).toEqual([
      { checkpoint: 'dpo', count: 2 },
      { checkpoint: 'decpo', count: 3 },
    ]);
    const [dpo, decpo] = f.specific;
    expect(dpo).toMatchObject({
      checkpoint: 'dpo',
      versus: 'base',
      latents: [1, 2, 5, 6],
      count: 4,
      firing: 3,
    });
    expect(dpo.monosemantic).toBe(0);
    expect(dpo.meanScore).toBeCloseTo((0.5 + 0.2 + 0) / 3, 12);
    expect(dpo.concepts).toEqual([{ concept: 'food', latents: 2 }]);
    expect(dpo.meanNuError).toBeCloseTo(0.3, 12);
    expect(dpo).toMatchObject({ seedShared: 1 / 3, seedFound: 2 / 3, seedTwinCount: 4 });
    expect(decpo).toMatchObject({
      checkpoint: 'decpo',
      latents: [0, 3, 4],
      count: 3,
      firing: 3,
      monosemantic: 2,
    });
    expect(decpo.meanScore).toBeCloseTo((0.9 + 0.7 + 1) / 3, 12);
    expect(decpo.concepts).toEqual([
      { concept: 'colour', latents: 2 },
      { concept: 'animal', latents: 1 },
    ]);
    expect(decpo.meanNuRecon).toBeCloseTo(0.3, 12);
    expect(f.scoreDifference).toBeCloseTo((0.9 + 0.7 + 1) / 3 - 0.7 / 3, 12);
    expect(f.seed).toEqual({ name: 'cc-seed1', seed: 1, allShared: 0.5, allFound: 0.75 });
  });
});
