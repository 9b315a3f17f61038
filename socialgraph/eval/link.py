"""Link-prediction metrics of the benchmark protocol: one function every model and baseline is judged by.

:func:`evaluate_link_scores` takes the scores of the positive pairs and the scores of the negatives shared by all of
them (:func:`socialgraph.data.protocol.benchmark_split` draws those) and reports

* ``hits@K`` for each K in ``ks`` (default :data:`HITS_KS`): a positive is a hit when its score is strictly above the
  K-th highest negative score (OGB's Hits@K, :func:`~socialgraph.eval.metrics.hits_at_k`);
* ``mrr``: each positive ranked against all shared negatives, ties counted half (the mean of OGB's optimistic and
  pessimistic rank, :func:`~socialgraph.eval.metrics.ranks`);
* ``auc`` and ``ap``: ROC-AUC and average precision of the positives against the negatives.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from socialgraph.eval.metrics import auc, average_precision, hits_at_k, mrr

#: The K of the protocol's Hits@K.
HITS_KS: tuple[int, ...] = (20, 50, 100)


def evaluate_link_scores(pos: np.ndarray, neg: np.ndarray, ks: Sequence[int] = HITS_KS) -> dict[str, float]:
    """Link metrics of positive against shared negative scores.

    Args:
        pos: ``[P]`` scores of the positive pairs (any shape; flattened).
        neg: ``[N]`` scores of the negatives shared by every positive (any shape; flattened).
        ks: the K of the ``hits@K`` entries.

    Returns:
        ``{"hits@K": float for K in ks, "mrr": float, "auc": float, "ap": float}``.
    """
    pos = np.asarray(pos, dtype=np.float64).ravel()
    neg = np.asarray(neg, dtype=np.float64).ravel()
    out = {f"hits@{k}": hits_at_k(pos, neg, k) for k in ks}
    out.update(mrr=mrr(pos, neg), auc=auc(pos, neg), ap=average_precision(pos, neg))
    return out


__all__ = ["HITS_KS", "evaluate_link_scores"]
