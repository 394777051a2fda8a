/**
 * The data shapes every room shares: preference pairs, token sequences with ground-truth concept labels,
 * and probe sets. Plain data, no behaviour.
 */

/** One preference example, the HH-RLHF / UltraFeedback-binarized layout. */
export interface PreferencePair {
  prompt: string;
  chosen: string;
  rejected: string;
}

/** A tokenized preference pair: ids of the prompt and of each response (no padding). */
export interface TokenizedPair {
  prompt: number[];
  chosen: number[];
  rejected: number[];
}

/**
 * A token sequence with one concept label per token (null = no concept). Concept names are lower-case
 * identifiers such as `colour`, `animal`, `number`, `emotion`, `place`, `family`, `weather`, `food`, `time`,
 * `toxic`.
 */
export interface LabelledSequence {
  ids: number[];
  concepts: (string | null)[];
  /**
   * Per token, the candidate concepts of an ambiguous word (one a lexicon lists under several concepts;
   * its label is null), sorted, or null. Present only when some token of the sequence is ambiguous.
   */
  ambiguous?: (string[] | null)[];
}

/** A named, fixed set of sequences run through every checkpoint so that comparisons mean something. */
export interface ProbeSet {
  /** `builtin` or the source file's name. */
  name: string;
  /** A content hash of the ids and labels: the store keys recordings by it. */
  hash: string;
  /** Every concept that occurs, sorted. */
  concepts: string[];
  sequences: LabelledSequence[];
}
