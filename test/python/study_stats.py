"""Independent references for the study's statistics (src/core/analysis/stats.ts, src/core/study/summary.ts),
written from the definitions with numpy and scipy, never from our TypeScript.

  /usr/bin/python3 test/python/study_stats.py stats IN.json      # JSON of reference numbers on stdout
  /usr/bin/python3 test/python/study_stats.py summary CELLS.csv SUMMARY.csv   # recomputes summary.csv
  /usr/bin/python3 test/python/study_stats.py read FILE.csv      # the CSV as pandas reads it, as JSON

`stats` reads {"samples": [[x...]...], "pairs": [{"a": [...], "b": [...]}...], "levels": [...],
"integers": [[d...]...], "quantiles": [[p, df]...]} and gives, per [p, df], the t quantile to 30 digits with
mpmath (from the incomplete beta function; needs mpmath), per sample and level, scipy's t-interval of the mean; per pair and level,
scipy.stats.ttest_rel's confidence interval and the sign-flip p by enumerating every sign pattern; per
integer vector, the exact sign-flip p from the null distribution of sum s_i d_i built by convolution (any n).

`summary` reads cells.csv with pandas and recomputes every cell of summary.csv: mean and t-interval per task
x method x metric, and against dpo over the seeds both have the paired difference, its interval, the sign-flip
p, Holm's adjustment across the comparisons of one task and metric, and d_z. It prints
{"checked": N, "mismatches": [...]}.

`read` gives {"columns": [...], "rows": [{column: value}...]} as pandas.read_csv parses the file (NaN as
null), so a test can check that every number reads back exactly. It passes float_precision='round_trip':
pandas 1.5's default parser can be 1 ulp off (0.06384768974967302 reads as 0.063847689749673).
"""

import itertools
import json
import math
import sys

import numpy as np
import scipy.stats as st


def t_interval(x, level):
    x = np.asarray(x, dtype=np.float64)
    n = len(x)
    if n < 2:
        return [float('nan'), float('nan')]
    low, high = st.t.interval(level, n - 1, loc=x.mean(), scale=x.std(ddof=1) / math.sqrt(n))
    return [float(low), float(high)]


def t_quantile_mpmath(p, df):
    """The Student t quantile to 30 digits: the root of I_{df/(df+t^2)}(df/2, 1/2) / 2 = 1 - p for p > 1/2
    (the upper tail of t in the regularized incomplete beta function), polished from SciPy's t.ppf."""
    import mpmath

    mpmath.mp.dps = 30
    p = mpmath.mpf(p)
    tail = lambda t: mpmath.betainc(df / 2, 0.5, 0, df / (df + t * t), regularized=True) / 2 - (1 - p)
    return float(mpmath.findroot(tail, mpmath.mpf(st.t.ppf(float(p), df))))


def sign_flip_enumerated(d):
    """Two-sided p = #{s in {-1,1}^n : |sum s d| >= |sum d|} / 2^n, every pattern listed."""
    d = np.asarray(d, dtype=np.float64)
    signs = np.array(list(itertools.product([1.0, -1.0], repeat=len(d))))
    sums = np.abs(signs @ d)
    observed = abs(d.sum())
    return float(np.mean(sums >= observed * (1 - 1e-12)))


def sign_flip_integer(d):
    """The same p for integer d, from the exact null distribution of sum s_i d_i (convolution of +/-d_i)."""
    total = int(sum(abs(v) for v in d))
    counts = np.zeros(2 * total + 1, dtype=object)
    counts[total] = 1
    for v in d:
        v = abs(int(v))
        shifted = np.zeros_like(counts)
        shifted[: len(counts) - v] += counts[v:]
        shifted[v:] += counts[: len(counts) - v]
        counts = shifted
    observed = abs(int(sum(d)))
    values = np.arange(-total, total + 1)
    hits = sum(int(c) for c, s in zip(counts, values) if abs(s) >= observed)
    return hits / 2 ** len(d)


def holm(p):
    """Holm (1979): adj_(i) = max_{j<=i} min(1, (m-j+1) p_(j)), back in input order."""
    p = np.asarray(p, dtype=np.float64)
    m = len(p)
    order = np.argsort(p, kind='stable')
    adj = np.empty(m)
    running = 0.0
    for rank, idx in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[idx]))
        adj[idx] = running
    return adj


def stats(path):
    spec = json.load(open(path))
    out = {'samples': [], 'pairs': [], 'integers': [], 'quantiles': []}
    for p, df in spec.get('quantiles', []):
        out['quantiles'].append(t_quantile_mpmath(p, df))
    for x in spec['samples']:
        x = np.asarray(x, dtype=np.float64)
        out['samples'].append(
            {
                'mean': float(x.mean()),
                'sd': float(x.std(ddof=1)) if len(x) > 1 else float('nan'),
                'ci': {str(level): t_interval(x, level) for level in spec['levels']},
            }
        )
    for pair in spec['pairs']:
        a = np.asarray(pair['a'], dtype=np.float64)
        b = np.asarray(pair['b'], dtype=np.float64)
        d = a - b
        res = st.ttest_rel(a, b)
        out['pairs'].append(
            {
                'diff': float(d.mean()),
                'ci': {str(level): list(map(float, res.confidence_interval(level))) for level in spec['levels']},
                'p': sign_flip_enumerated(d),
                'dz': float(d.mean() / d.std(ddof=1)),
            }
        )
    for d in spec['integers']:
        out['integers'].append(sign_flip_integer(d))
    print(json.dumps(out).replace('NaN', 'null'))


def close(x, y):
    if (x is None or (isinstance(x, float) and math.isnan(x))) and (y is None or math.isnan(y)):
        return True
    return x is not None and y is not None and abs(x - y) <= 1e-12 + 1e-9 * abs(y)


def summary(cells_path, summary_path):
    import pandas as pd

    cells = pd.read_csv(cells_path)
    table = pd.read_csv(summary_path)
    metrics = [c for c in cells.columns if c not in ('method', 'seed', 'task')]
    expected = []
    for task, metric in itertools.product(cells.task.unique(), metrics):
        rows = []
        for method in cells.method.unique():
            mine = cells[(cells.task == task) & (cells.method == method)].set_index('seed')[metric].dropna()
            if len(mine) == 0:
                continue
            low, high = t_interval(mine.values, 0.95)
            row = {'task': task, 'metric': metric, 'method': method, 'mean': float(mine.mean()),
                   'ci_low': low, 'ci_high': high, 'n': len(mine)}
            dpo = cells[(cells.task == task) & (cells.method == 'dpo')].set_index('seed')[metric].dropna()
            seeds = sorted(set(mine.index) & set(dpo.index))
            if method != 'dpo' and len(seeds) >= 2:
                a = mine.loc[seeds].values
                b = dpo.loc[seeds].values
                d = a - b
                ci = st.ttest_rel(a, b).confidence_interval(0.95)
                row.update({'diff_vs_dpo': float(d.mean()), 'diff_ci_low': float(ci[0]),
                            'diff_ci_high': float(ci[1]), 'p_value': sign_flip_enumerated(d),
                            'effect_size_dz': float(d.mean() / d.std(ddof=1)), 'n_pairs': len(seeds)})
            rows.append(row)
        compared = [r for r in rows if 'p_value' in r]
        for r, adj in zip(compared, holm([r['p_value'] for r in compared])):
            r['p_holm'] = float(adj)
        expected.extend(rows)
    mismatches = []
    checked = 0
    if len(expected) != len(table):
        mismatches.append(f'{len(table)} summary rows, expected {len(expected)}')
    for want, (_, got) in zip(expected, table.iterrows()):
        for key in ('task', 'metric', 'method'):
            if want[key] != got[key]:
                mismatches.append(f'row key {key}: {got[key]} != {want[key]}')
        for key in ('mean', 'ci_low', 'ci_high', 'n', 'diff_vs_dpo', 'diff_ci_low', 'diff_ci_high', 'p_value',
                    'p_holm', 'effect_size_dz', 'n_pairs'):
            checked += 1
            if not close(want.get(key), float(got[key])):
                mismatches.append(f'{want["task"]}/{want["metric"]}/{want["method"]} {key}: '
                                  f'{got[key]} != {want.get(key)}')
    print(json.dumps({'checked': checked, 'metrics': metrics, 'mismatches': mismatches}))


def read(path):
    import pandas as pd

    frame = pd.read_csv(path, float_precision='round_trip')
    rows = [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()}
            for r in frame.to_dict('records')]
    print(json.dumps({'columns': list(frame.columns), 'rows': rows}, default=lambda v: v.item()))


if __name__ == '__main__':
    if sys.argv[1] == 'stats':
        stats(sys.argv[2])
    elif sys.argv[1] == 'summary':
        summary(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == 'read':
        read(sys.argv[2])
    else:
        sys.exit(f'unknown command {sys.argv[1]}')
