/** Sparsity and diversity of a tap's activations. */
import {
  fractionActive,
  hoyerSparsity,
  effectiveRank,
  activationVariance,
  takeRows,
} from '../analysis/index.js';
import type { Project } from '../store/project.js';
import { cachedTap, usableRows, type TapRef } from './tap.js';
import type { Reporter } from './progress.js';

export interface SparsityResult {
  n: number;
  /** Mean over neurons of the share of tokens where the neuron is active (> 0). */
  fractionActive: number;
  /** Mean over tokens of the Hoyer sparsity of the activation vector. */
  hoyer: number;
  /** exp(entropy of the normalised covariance eigenvalues). */
  effectiveRank: number;
  /** The paper's variance across dimensions, averaged over tokens. */
  activationVariance: number;
}

/** Sparsity and diversity of a tap over its non-special tokens. */
export async function sparsityOp(project: Project, ref: TapRef, reporter?: Reporter, signal?: AbortSignal) {
  return cachedTap<SparsityResult>(
    project,
    ref,
    'sparsity',
    { rows: 'non-special' },
    (t) => {
      const x = takeRows(t.x, usableRows(t));
      const fa = fractionActive(x);
      return {
        result: {
          n: x.rows,
          fractionActive: fa.reduce((s, v) => s + v, 0) / fa.length,
          hoyer: hoyerSparsity(x).mean,
          effectiveRank: effectiveRank(x).effectiveRank,
          activationVariance: activationVariance(x).mean,
        },
      };
    },
    reporter,
    signal,
  );
}
