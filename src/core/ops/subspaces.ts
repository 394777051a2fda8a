/**
 * Semantic subspaces by concept category: features of each category on each side (by their top tokens),
 * paired within the category, scored with SVCCA and RSA against a null.
 */
import { semanticSubspaceSimilarity, type PermutationNull, type SubspaceResult } from '../analysis/index.js';
import type { Tokenizer } from '../model/tokenizer.js';
import type { OpParsed } from '../api.js';
import type { Project } from '../store/project.js';
import { cached, cancellable } from './tap.js';
import { featureReps, featureSides, sidesKey, tokenStrings, type SideKey } from './features.js';
import { silentReporter, type Reporter } from './progress.js';

export interface SubspacesResult {
  categories: SubspaceResult[];
}

/** The stored key of a subspaces analysis: both sides by content (tap, SAE weights) and the options. */
export function subspacesKey(req: OpParsed<'subspaces'>, a: SideKey, b: SideKey) {
  return {
    ...sidesKey(a, b),
    categories: 'default',
    shuffles: req.shuffles,
    seed: req.seed,
  };
}

/**
 * Semantic subspaces (see the module comment). Categories: the world's concepts (words from the concept
 * lexicon) for word-level models, Lan et al.'s lists otherwise.
 */
export async function subspacesOp(
  project: Project,
  req: OpParsed<'subspaces'>,
  reporter: Reporter = silentReporter,
  signal?: AbortSignal,
): Promise<SubspacesResult> {
  const { fa, fb, a, b } = await featureSides(project, req, reporter, signal);
  const { shuffles, seed } = req;
  const inputs = subspacesKey(req, a, b);
  const r = await cached<SubspacesResult>(project, 'subspaces', inputs, async () => {
    const categories = await defaultCategories(fa.t.tokenizer);
    const { repA, repB } = featureReps(fa, fb, seed);
    const result = await cancellable(signal, () =>
      semanticSubspaceSimilarity({
        actsA: fa.acts,
        actsB: fb.acts,
        tokens: tokenStrings(fa.t),
        repA,
        repB,
        sequenceIds: fa.t.seqOf,
        categories,
        similarity: { shuffles, seed, signal },
      }),
    );
    return { result: { categories: result.map((c) => stripNull(c)) } };
  });
  return r.result;
}

/** Null distributions are large; keep their summaries in the JSON result. */
function stripNull(c: SubspaceResult): SubspaceResult {
  if (!c.similarity) return c;
  const s = c.similarity;
  const strip = <T extends { null?: PermutationNull }>(x: T): T =>
    x.null ? { ...x, null: { ...x.null, null: Array.from(x.null.null) as unknown as Float64Array } } : x;
  return { ...c, similarity: { svcca: strip(s.svcca), rsa: strip(s.rsa) } };
}

async function defaultCategories(tokenizer: Tokenizer): Promise<Record<string, string[]> | undefined> {
  if (tokenizer.kind !== 'word-level') return undefined;
  const { worldWordSenses } = await import('../data/world.js');
  const out: Record<string, string[]> = {};
  for (const [word, senses] of worldWordSenses()) for (const c of senses) (out[c] ??= []).push(word);
  return out;
}
