// A similarity score with its permutation test: the score and its definition (as the analysis labels it),
// the null's mean and sd, the p-value with its formula, and the null histogram figure.
import type { Histogram } from '../../../core/api.js';
import { formatPValue } from '../../../shared/figures/index.js';
import { Figure } from '../components/Figure.js';
import { hasNull, nullSpec } from '../../../shared/specs/viewFigures.js';
import { dec3, int } from '../neurons/format.js';

export interface ScoreWithNull {
  label: string;
  score: number;
  n: number;
  kA?: number;
  kB?: number;
  warnings?: string[];
  nullMean?: number;
  nullSd?: number;
  pValue?: number;
  pFormula?: string;
  shuffles: number;
}

export function NullResult({
  title,
  result,
  nullHistogram,
  statistic,
  fileName,
  caption,
  datapoints = 'tokens',
}: {
  title: string;
  result: ScoreWithNull;
  /** The null's scores in the core's bins (null without a null). */
  nullHistogram: Histogram | null;
  statistic: string;
  fileName: string;
  caption: Record<string, string | number | boolean>;
  /** What the score's n counts, in the figure's caption: tokens, or the matched pairs. */
  datapoints?: 'tokens' | 'pairs';
}) {
  const z =
    result.nullSd && result.nullSd > 0 && result.nullMean !== undefined
      ? (result.score - result.nullMean) / result.nullSd
      : undefined;
  const spec = hasNull(result, nullHistogram)
    ? nullSpec(result, nullHistogram, title, caption, { statistic, datapoints })
    : undefined;
  return (
    <div className="ms-null-result" data-measure={title}>
      <h4>{title}</h4>
      <p className="ms-what">{result.label}</p>
      <dl className="ms-kv">
        <div>
          <dt>Score</dt>
          <dd data-field="score">{dec3(result.score)}</dd>
        </div>
        <div title="Datapoints the score is computed over (tokens, or matched pairs)">
          <dt>n</dt>
          <dd>{int(result.n)}</dd>
        </div>
        {result.kA !== undefined && (
          <div title="SVD directions kept on each side before CCA">
            <dt>Directions kept (A, B)</dt>
            <dd>
              {result.kA}, {result.kB}
            </dd>
          </div>
        )}
        {result.shuffles > 0 && result.pValue !== undefined ? (
          <>
            <div title="Mean and standard deviation of the score over the shuffles (B's rows permuted, A kept)">
              <dt>Null mean ± sd</dt>
              <dd>
                {dec3(result.nullMean)} ± {dec3(result.nullSd)}
                {z !== undefined && <span className="ms-muted"> (z = {dec3(z)})</span>}
              </dd>
            </div>
            <div title={`p = ${result.pFormula ?? ''} over N = ${result.shuffles} shuffles`}>
              <dt>p</dt>
              <dd data-field="p">
                {formatPValue(result.pValue)}{' '}
                <span className="ms-muted ms-small">
                  = {result.pFormula}, N = {int(result.shuffles)}
                </span>
              </dd>
            </div>
          </>
        ) : (
          <div>
            <dt>p</dt>
            <dd className="ms-muted">no null (0 shuffles)</dd>
          </div>
        )}
      </dl>
      {result.warnings && result.warnings.length > 0 && (
        <ul className="ms-warnings">
          {result.warnings.map((w) => (
            <li key={w}>{w}</li>
          ))}
        </ul>
      )}
      {spec && <Figure spec={spec} fileName={fileName} />}
    </div>
  );
}
