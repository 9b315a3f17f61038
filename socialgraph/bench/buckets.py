"""Link metrics by user degree bucket.

A test pair's bucket is the *smaller* training degree of its two ends (a pair is as hard as its least-known user);
the negatives stay shared, so a bucket's Hits@K ranks its positives against every negative.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

BUCKETS: tuple[tuple[str, int, float], ...] = (("1-2", 1, 2), ("3-5", 3, 5), ("6-20", 6, 20), (">20", 21, np.inf))


def pair_buckets(pairs: np.ndarray, degree: np.ndarray) -> np.ndarray:
    """Bucket label of each pair (``"0"`` when an end has no training friend)."""
    d = np.minimum(degree[pairs[:, 0]], degree[pairs[:, 1]])
    out = np.full(len(pairs), "0", dtype=object)
    for name, lo, hi in BUCKETS:
        out[(d >= lo) & (d <= hi)] = name
    return out


def by_bucket(pos: np.ndarray, neg: np.ndarray, labels: np.ndarray,
              evaluate: Callable[[np.ndarray, np.ndarray], dict]) -> dict[str, dict]:
    """``{bucket: {"n": positives, **evaluate(pos_in_bucket, neg)}}`` for every non-empty bucket."""
    out = {}
    for name in ["0"] + [b[0] for b in BUCKETS]:
        sel = labels == name
        if sel.any():
            out[name] = {"n": int(sel.sum()), **evaluate(pos[sel], neg)}
    return out
