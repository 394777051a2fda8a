import { afterEach, describe, expect, it, vi } from 'vitest';
import { printCompare } from '../../../src/main/cli-analysis.js';
import type { CompareResult } from '../../../src/core/ops/compare.js';
import { compareCaption } from '../../../src/shared/specs/compare.js';

afterEach(() => vi.restoreAllMocks());

const result: CompareResult = {
  base: 'base',
  taps: [],
  rows: [],
  scores: [
    {
      checkpoint: 'dpo',
      stage: 'dpo',
      rewardAccuracy: 0.75,
      rewardMargin: 0.5,
      judgeMetric: 'toxicity_rate',
      judgeValue: 0.1,
      meanAbsCorr: 0.2,
      layer: 1,
      tap: 'blocks.1.mlp.post',
    },
  ],
  task: 'toxicity',
  probeHash: '',
  beta: 0.25,
  svccaMode: 'svcca',
};

describe('the beta of a comparison', () => {
  it('printCompare prints the beta the result carries, not a literal', () => {
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
    printCompare(result);
    expect(lines.join('\n')).toContain('Held-out toxicity pairs (reference = base, beta 0.25)');
  });
  it('the figure caption names the beta the result carries', () => {
    expect(compareCaption({ ...result, rows: [] }).beta).toBe(0.25);
  });
});
