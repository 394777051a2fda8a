"""numpy / SciPy timings for the cases of `npm run bench:analysis`, on the same machine.

Usage: /usr/bin/python3 bench_analysis.py [SCALE]   (SCALE multiplies the token count; default 1)
Prints one JSON object: seconds for np.corrcoef of 50,000 x 2,048 (float32 input), SVCCA of
2 x 1,000 x 512 (SVD + QR + SVD, as test/python/crosscheck_analysis.py), one permutation-null shuffle of
it (qa.T @ qb[perm] and its singular values) and np.linalg.eigvalsh of a 2,048 x 2,048 covariance, each
the median of 3 runs (the shuffle: of 20).
"""
import json
import sys
import time

import numpy as np

from crosscheck_analysis import svcca_reference


def median_time(f, repeat=3):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def svcca_bases(a, b, threshold=0.99):
    """The orthonormal reduced views of svcca_reference, kept for the permutation null."""

    def reduce(x):
        x = x - x.mean(axis=0)
        _, s, vt = np.linalg.svd(x, full_matrices=False)
        k = int(np.searchsorted(np.cumsum(s**2) / np.sum(s**2), threshold) + 1)
        r = x @ vt[:k].T
        return np.linalg.qr(r - r.mean(axis=0))[0]

    return reduce(a), reduce(b)


def main(scale):
    rng = np.random.default_rng(0)
    n = int(50_000 * scale)
    x = rng.standard_normal((n, 2048), dtype=np.float32)
    a = rng.standard_normal((1000, 512))
    b = a @ rng.standard_normal((512, 512)) + rng.standard_normal((1000, 512))
    cov = np.cov(x[:4096].astype(np.float64), rowvar=False)
    qa, qb = svcca_bases(a, b)
    perms = [rng.permutation(1000) for _ in range(20)]
    out = {
        "numpy": np.__version__,
        "corrcoef_s": median_time(lambda: np.corrcoef(x, rowvar=False)),
        "corrcoef_rows": n,
        "svcca_s": median_time(lambda: svcca_reference(a, b)),
        "svcca_shuffle_s": median_time(
            lambda: np.mean(np.linalg.svd(qa.T @ qb[perms.pop()], compute_uv=False)), 20
        ),
        "eigvalsh_2048_s": median_time(lambda: np.linalg.eigvalsh(cov)),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 1.0)
