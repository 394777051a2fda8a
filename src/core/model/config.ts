/**
 * Reading Hugging Face `config.json` fields with errors that name the file and the field. Architectures
 * read their configs through it; where Hugging Face renamed a field, `pick` takes the first spelling
 * present.
 */
export interface ConfigReader {
  /** An integer >= `min` (default 1); `fallback` when the field is absent or null. */
  int(key: string, fallback?: number, min?: number): number;
  /** A finite number; `fallback` when absent or null. */
  num(key: string, fallback?: number): number;
  /** A token id: an integer >= 0, or the first of a list (Llama 3.1's several `eos_token_id`s). */
  tokenId(key: string, fallback: number): number;
  /** A boolean; `fallback` when absent or null. */
  bool(key: string, fallback: boolean): boolean;
  /** The first of `keys` present (not undefined or null), or undefined. */
  pick(...keys: string[]): string | undefined;
  /** The value of a field, as JSON has it. */
  raw(key: string): unknown;
  fail(key: string, why: string): never;
}

export function configReader(json: Record<string, unknown>, file: string): ConfigReader {
  const present = (key: string): boolean => json[key] !== undefined && json[key] !== null;
  const fail = (key: string, why: string): never => {
    throw new Error(`${file}: field '${key}' ${why}, got ${JSON.stringify(json[key])}`);
  };
  const num = (key: string, fallback?: number): number => {
    if (!present(key)) return fallback ?? fail(key, 'is required');
    const v = json[key];
    return typeof v === 'number' && Number.isFinite(v) ? v : fail(key, 'must be a number');
  };
  return {
    int(key, fallback, min = 1) {
      const v = num(key, fallback);
      return Number.isInteger(v) && v >= min ? v : fail(key, `must be an integer >= ${min}`);
    },
    num,
    tokenId(key, fallback) {
      const v = json[key];
      const id = Array.isArray(v) ? v[0] : v;
      if (id === undefined || id === null) return fallback;
      return Number.isInteger(id) && (id as number) >= 0 ? (id as number) : fail(key, 'must be a token id');
    },
    bool(key, fallback) {
      if (!present(key)) return fallback;
      return typeof json[key] === 'boolean' ? (json[key] as boolean) : fail(key, 'must be true or false');
    },
    pick: (...keys) => keys.find(present),
    raw: (key) => json[key],
    fail,
  };
}
