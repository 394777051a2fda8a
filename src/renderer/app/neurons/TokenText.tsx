// Tokens on a background whose strength is the activation, as the tokenContexts figure draws them (orange
// positive, blue negative, opacity |value| / max), with the value, the token and its concept (or, for an
// ambiguous word, its candidate concepts) on hover.
import { useContext } from 'react';
import { displayToken, themeOf } from '../../../shared/figures/index.js';
import { ThemeContext } from '../theme.js';
import { num } from './format.js';

/** Background of a token with activation `v` on a scale whose full colour is at `max`. */
export function tokenBackground(
  v: number,
  max: number,
  positive: string,
  negative: string,
  alphaMax: number,
): string | undefined {
  const alpha = Math.min(1, Math.abs(v) / (max || 1)) * alphaMax;
  if (!(alpha >= 0.02)) return undefined;
  const hex = Math.round(alpha * 255)
    .toString(16)
    .padStart(2, '0');
  return `${v >= 0 ? positive : negative}${hex}`;
}

export function TokenText({
  tokens,
  values,
  max,
  focus,
  concepts,
  ambiguous,
}: {
  tokens: string[];
  values: number[];
  /** Activation that gets full colour. */
  max: number;
  /** Index of the token the row is about (outlined). */
  focus?: number;
  concepts?: (string | null)[];
  /** Per token, the candidate concepts of an ambiguous word (which has no concept), or null. */
  ambiguous?: (readonly string[] | null)[];
}) {
  const theme = themeOf(useContext(ThemeContext));
  const alphaMax = theme.name === 'dark' ? 0.8 : 0.9;
  return (
    <span className="ms-tokens">
      {tokens.map((t, i) => {
        const v = values[i];
        const bg = tokenBackground(v, max, theme.positive, theme.negative, alphaMax);
        const strong = theme.name === 'dark' && Math.abs(v) / (max || 1) > 0.6;
        const candidates = ambiguous?.[i];
        const concept = concepts?.[i] ?? (candidates ? `ambiguous: ${candidates.join(', ')}` : null);
        return (
          <span
            key={i}
            className={i === focus ? 'ms-token focus' : 'ms-token'}
            style={{ background: bg, color: strong ? '#111317' : undefined }}
            data-tip={`${num(v)}${concept ? ` · ${concept}` : ''}`}
            data-value={v}
          >
            {displayToken(t)}
          </span>
        );
      })}
    </span>
  );
}
