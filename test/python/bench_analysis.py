"""numpy / SciPy timings for the cases of `npm run bench:analysis`, on the same machine.

Usage: /usr/bin/python3 bench_analysis.py [SCALE]   (SCALE multiplies the token count; default 1)
Prints one JSON object: seconds for np.corrcoef of 50,000 x 2,048 (float32 input), SVCCA of
2 x 1,000 x 512 (SVD + QR + SVD, as test/python/crosscheck_analysis.py) and np.linalg.eigvalsh of a
2,048 x 2,048 covariance, each the best of 2 runs.
"""
import json
import sys
import time

import numpy as np

from crosscheck_analysis import svcca_reference


def best(f, repeat=2):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return min(times)


def main(scale):
    rng = np.random.default_rng(0)
    n = int(50_000 * scale)
    x = rng.standard_normal((n, 2048), dtype=np.float32)
    a = rng.standard_normal((1000, 512))
    b = a @ rng.standard_normal((512, 512)) + rng.standard_normal((1000, 512))
    cov = np.cov(x[:4096].astype(np.float64), rowvar=False)
    out = {
        "numpy": np.__version__,
        "corrcoef_s": best(lambda: np.corrcoef(x, rowvar=False)),
        "corrcoef_rows": n,
        "svcca_s": best(lambda: svcca_reference(a, b)),
        "eigvalsh_2048_s": best(lambda: np.linalg.eigvalsh(cov)),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 1.0)
