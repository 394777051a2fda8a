/**
 * The mission's question read from a crosscoder over base and its fine-tunes (base first): per fine-tuned
 * model, how many latents are specific to it against the base (tagged B-only in the pair (base, model)),
 * what concepts they carry (the probe's concept labels, as neurons are scored), how monosemantic they are
 * (mean top-k share, and how many are labelled monosemantic), and what Latent Scaling says of them (mean
 * ν^ε and ν^r: near 0 truly specific, near 1 an artifact of the L1 objective; Minder et al. 2025 §4). Beside
 * each count, a seed baseline: how many of the latents reappear in a crosscoder that differs only in seed.
 */
import type {
  CrosscoderRecord,
  DiffingFindings,
  LatentPair,
  LatentTag,
  SeedBaseline,
  SpecificSet,
} from './types.js';

/** The latents with a tag in one pair of models, in index order. */
export function specificLatents(p: LatentPair, tag: LatentTag): number[] {
  const out: number[] = [];
  p.tag.forEach((t, i) => {
    if (t === tag) out.push(i);
  });
  return out;
}

/** Mean of the finite values; NaN when there is none. */
function finiteMean(v: (number | null)[]): number {
  let s = 0;
  let n = 0;
  for (const x of v) {
    if (x !== null && Number.isFinite(x)) {
      s += x;
      n++;
    }
  }
  return n ? s / n : NaN;
}

/** The findings of a crosscoder record whose first checkpoint is the base (see the module comment). */
export function diffingFindings(r: CrosscoderRecord, baseline?: SeedBaseline): DiffingFindings {
  const fromBase = r.pairs.filter((p) => p.a === 0);
  const specific = fromBase.map((p): SpecificSet => {
    const latents = specificLatents(p, 'b-only');
    const firing = latents.filter((i) => r.concepts[i].density.some((d) => d > 0));
    const tally = new Map<string, number>();
    for (const i of firing) {
      const c = r.concepts[i].concept;
      if (c !== null) tally.set(c, (tally.get(c) ?? 0) + 1);
    }
    const seed = baseline?.specific.find((s) => s.b === p.b);
    return {
      checkpoint: r.checkpoints[p.b],
      versus: r.checkpoints[0],
      latents,
      count: latents.length,
      firing: firing.length,
      monosemantic: firing.filter((i) => r.concepts[i].monosemantic).length,
      meanScore: finiteMean(firing.map((i) => r.concepts[i].score)),
      concepts: [...tally]
        .map(([concept, n]) => ({ concept, latents: n }))
        .sort((a, b) => b.latents - a.latents || a.concept.localeCompare(b.concept)),
      meanNuError: finiteMean(latents.map((i) => p.nuError[i])),
      meanNuRecon: finiteMean(latents.map((i) => p.nuRecon[i])),
      ...(seed && { seedShared: seed.shared, seedFound: seed.found, seedTwinCount: seed.twinCount }),
    };
  });
  return {
    name: r.name,
    base: r.checkpoints[0],
    shared: fromBase.map((p) => ({ checkpoint: r.checkpoints[p.b], count: p.counts.shared })),
    specific,
    ...(specific.length === 2 && { scoreDifference: specific[1].meanScore - specific[0].meanScore }),
    ...(baseline && {
      seed: {
        name: baseline.name,
        seed: baseline.seed,
        allShared: baseline.allShared,
        allFound: baseline.allFound,
      },
    }),
  };
}
