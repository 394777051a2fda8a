"""Reference values for Monoscope's analysis numerics, from numpy, SciPy and scikit-learn.

Usage: /usr/bin/python3 crosscheck_analysis.py DIR
DIR holds x.npy [n, p], a.npy [n, dA], b.npy [n, dB], act.npy [n, q] with labels.json (one concept or
null per row) and cost.npy [r, c]. Prints one JSON object with the reference numbers.
"""
import json
import sys

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.stats import spearmanr
from sklearn.metrics import normalized_mutual_info_score


def svcca_reference(a, b, threshold=0.99):
    """SVCCA as Raghu et al. intend it: SVD of each centred view, keep 99% of the variance, CCA by QR + SVD."""

    def reduce(x):
        x = x - x.mean(axis=0)
        _, s, vt = np.linalg.svd(x, full_matrices=False)
        frac = np.cumsum(s**2) / np.sum(s**2)
        k = int(np.searchsorted(frac, threshold) + 1)
        return x @ vt[:k].T, k

    ra, ka = reduce(a)
    rb, kb = reduce(b)
    qa, _ = np.linalg.qr(ra - ra.mean(axis=0))
    qb, _ = np.linalg.qr(rb - rb.mean(axis=0))
    rho = np.linalg.svd(qa.T @ qb, compute_uv=False)
    return float(np.mean(rho)), ka, kb


def main(d):
    x = np.load(f"{d}/x.npy").astype(np.float64)
    a = np.load(f"{d}/a.npy").astype(np.float64)
    b = np.load(f"{d}/b.npy").astype(np.float64)
    act = np.load(f"{d}/act.npy").astype(np.float64)
    labels = ["none" if c is None else c for c in json.load(open(f"{d}/labels.json"))]
    cost = np.load(f"{d}/cost.npy").astype(np.float64)
    out = {}

    out["pearson"] = np.corrcoef(x, rowvar=False).ravel().tolist()

    eig = np.clip(np.linalg.eigvalsh(np.cov(x, rowvar=False)), 0, None)
    p = eig / eig.sum()
    p = p[p > 0]
    out["effective_rank"] = float(np.exp(-np.sum(p * np.log(p))))

    dim = x.shape[1]
    l1 = np.abs(x).sum(axis=1)
    l2 = np.sqrt((x**2).sum(axis=1))
    out["hoyer"] = ((np.sqrt(dim) - l1 / l2) / (np.sqrt(dim) - 1)).tolist()

    score, ka, kb = svcca_reference(a, b)
    out["svcca"] = {"score": score, "kA": ka, "kB": kb}

    n = a.shape[0]
    iu = np.triu_indices(n, 1)
    out["rsa"] = float(spearmanr(np.corrcoef(a)[iu], np.corrcoef(b)[iu]).correlation)

    bins = 10
    nmi = []
    for j in range(act.shape[1]):
        col = act[:, j]
        lo, hi = col.min(), col.max()
        idx = np.zeros(len(col), dtype=int) if hi <= lo else np.minimum(bins - 1, np.floor((col - lo) / (hi - lo) * bins)).astype(int)
        nmi.append(float(normalized_mutual_info_score(labels, idx)))
    out["nmi"] = nmi

    rows, cols = linear_sum_assignment(cost, maximize=True)
    out["assignment_total"] = float(cost[rows, cols].sum())

    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1])
