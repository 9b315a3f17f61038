"""Ranking and regression metrics for link prediction and recommendation.

Link prediction (scores of positive pairs ``pos`` against scores of negative pairs ``neg``):

* :func:`hits_at_k` -- OGB's Hits@K with negatives shared by all positives: a positive is a hit when its score is
  *strictly* above the K-th highest negative score, ``mean(pos > sort(neg)[-K])`` (1.0 when there are fewer than
  ``K`` negatives, as in OGB). With per-positive negatives (``neg`` of shape ``[P, M]``, HeaRT style) a positive is
  a hit when fewer than ``K`` of its own negatives score at least as high as it does.
* :func:`mrr` -- mean reciprocal rank of each positive among its negatives. Ties are resolved as OGB does for
  ogbl-citation2: ``rank = (optimistic + pessimistic) / 2`` with ``optimistic = 1 + #{neg > pos}`` and
  ``pessimistic = 1 + #{neg >= pos}``, so a constant scorer gets the mean of the best and worst case, never
  the best case alone.
* :func:`auc`, :func:`average_precision` -- ROC-AUC and AP with positives labelled 1 (scikit-learn).

Per-user ranking of items (recommendation, ``relevant`` are each user's held-out items):

* :func:`recall_at_k` -- ``|top_k(u) & rel(u)| / |rel(u)|`` averaged over users with at least one relevant item
  (the LightGCN / NGCF convention).
* :func:`ndcg_at_k` -- binary-relevance NDCG: ``DCG = sum_{i<K} rel_i / log2(i + 2)`` divided by the DCG of an
  ideal list holding ``min(K, |rel(u)|)`` relevant items.
* :func:`top_k_items` -- turns a score matrix into ranked lists, optionally masking items seen in training.

Regression: :func:`rmse`, :func:`mae`.
"""
from __future__ import annotations

from typing import Optional, Sequence, Union

import numpy as np
import scipy.sparse as sp

ArrayLike = Union[np.ndarray, Sequence[float]]
Relevant = Union[sp.spmatrix, Sequence[np.ndarray]]


def _as_1d(x: ArrayLike, name: str) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {a.shape}")
    return a


def _check_per_positive(pos: np.ndarray, neg: np.ndarray) -> None:
    if neg.shape[0] != len(pos):
        raise ValueError(f"per-positive negatives need one row per positive: neg {neg.shape}, pos {pos.shape}")


def hits_at_k(pos: ArrayLike, neg: ArrayLike, k: int) -> float:
    """Hits@K of positive scores against shared (1-D) or per-positive (2-D ``[P, M]``) negative scores."""
    pos = _as_1d(pos, "pos")
    neg = np.asarray(neg, dtype=np.float64)
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if len(pos) == 0:
        return float("nan")
    if neg.ndim == 1:
        if len(neg) < k:
            return 1.0
        kth = np.partition(neg, len(neg) - k)[len(neg) - k]  # the K-th highest negative score
        return float(np.mean(pos > kth))
    _check_per_positive(pos, neg)
    # Pessimistic rank among a positive's own negatives: ties count against the positive, as with strict ``>``.
    rank = 1 + (neg >= pos[:, None]).sum(1)
    return float(np.mean(rank <= k))


def ranks(pos: ArrayLike, neg: ArrayLike) -> np.ndarray:
    """Each positive's rank among its negatives (1 = above all), ties averaged: ``(optimistic + pessimistic) / 2``.

    ``neg`` is 1-D (shared by all positives; ranked through one sort, ``O((P + N) log N)``) or ``[P, M]``.
    """
    pos = _as_1d(pos, "pos")
    neg = np.asarray(neg, dtype=np.float64)
    if neg.ndim == 1:
        s = np.sort(neg)
        above = len(s) - np.searchsorted(s, pos, side="right")      # #{neg > pos}
        at_or_above = len(s) - np.searchsorted(s, pos, side="left")  # #{neg >= pos}
    else:
        _check_per_positive(pos, neg)
        above = (neg > pos[:, None]).sum(1)
        at_or_above = (neg >= pos[:, None]).sum(1)
    return 1.0 + 0.5 * (above + at_or_above)


def mrr(pos: ArrayLike, neg: ArrayLike) -> float:
    """Mean reciprocal rank of each positive among shared (1-D) or per-positive (2-D) negatives, ties averaged."""
    r = ranks(pos, neg)
    return float(np.mean(1.0 / r)) if len(r) else float("nan")


def _labels(pos: np.ndarray, neg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.r_[np.ones(len(pos)), np.zeros(len(neg))], np.r_[pos, neg]


def auc(pos: ArrayLike, neg: ArrayLike) -> float:
    """ROC-AUC of positives (label 1) against negatives (label 0); ``neg`` may be 2-D (flattened)."""
    from sklearn.metrics import roc_auc_score

    y, s = _labels(_as_1d(pos, "pos"), np.asarray(neg, dtype=np.float64).ravel())
    return float(roc_auc_score(y, s))


def average_precision(pos: ArrayLike, neg: ArrayLike) -> float:
    """Average precision of positives (label 1) against negatives (label 0); ``neg`` may be 2-D (flattened)."""
    from sklearn.metrics import average_precision_score

    y, s = _labels(_as_1d(pos, "pos"), np.asarray(neg, dtype=np.float64).ravel())
    return float(average_precision_score(y, s))


# ---------------------------------------------------------------------------------------------- per-user ranking
def top_k_items(scores: np.ndarray, k: int, exclude: Optional[sp.spmatrix] = None) -> np.ndarray:
    """Ranked item lists ``[U, k]`` (best first) from a dense score matrix ``[U, I]``.

    ``exclude`` (``[U, I]``, nonzero = seen in training) is masked out before ranking, as recommender benchmarks do.
    """
    s = np.array(scores, dtype=np.float64, copy=True)
    if s.ndim != 2:
        raise ValueError(f"scores must be a [users, items] matrix, got shape {s.shape}")
    k = min(k, s.shape[1])
    if exclude is not None:
        ex = sp.coo_matrix(exclude)
        s[ex.row, ex.col] = -np.inf
    part = np.argpartition(-s, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(s, part, 1), axis=1, kind="stable")
    return np.take_along_axis(part, order, 1).astype(np.int64)


def _hit_matrix(ranked: np.ndarray, relevant: Relevant, k: int) -> tuple[np.ndarray, np.ndarray]:
    """``hit[u, i]`` = whether the i-th ranked item of user u is relevant, and ``|rel(u)|``; ranked ``-1`` = padding."""
    ranked = np.asarray(ranked, dtype=np.int64)
    if ranked.ndim != 2:
        raise ValueError(f"ranked must be [users, >=k] item ids, got shape {ranked.shape}")
    ranked = ranked[:, :k]
    if sp.issparse(relevant):
        rel = sp.csr_matrix(relevant, dtype=bool)
    else:
        lists = [np.unique(np.asarray(r, dtype=np.int64)) for r in relevant]
        rows = np.repeat(np.arange(len(lists)), [len(r) for r in lists])
        cols = np.concatenate(lists) if lists else np.zeros(0, np.int64)
        width = max(int(cols.max()) + 1 if len(cols) else 0, int(ranked.max()) + 1 if ranked.size else 0)
        rel = sp.csr_matrix((np.ones(len(cols), bool), (rows, cols)), shape=(len(lists), width))
    if rel.shape[0] != ranked.shape[0]:
        raise ValueError(f"ranked has {ranked.shape[0]} users but relevant has {rel.shape[0]}")
    rel.sum_duplicates()
    n_rel = np.diff(rel.indptr)
    # Membership test through hashed (user, item) keys: one sorted search instead of a loop over users.
    width = max(rel.shape[1], int(ranked.max()) + 1 if ranked.size else 0)
    rel_keys = np.repeat(np.arange(rel.shape[0], dtype=np.int64), n_rel) * width + rel.indices
    rk = np.arange(ranked.shape[0], dtype=np.int64)[:, None] * width + ranked
    hit = np.isin(rk, rel_keys) & (ranked >= 0)
    return hit, n_rel


def recall_at_k(ranked: np.ndarray, relevant: Relevant, k: int) -> float:
    """Recall@K averaged over users with at least one relevant item.

    Args:
        ranked: item ids ``[U, >=k]`` best first (``-1`` pads short lists), e.g. from :func:`top_k_items`.
        relevant: held-out items per user, a sparse ``[U, I]`` matrix or a list of ``U`` id arrays.
    """
    hit, n_rel = _hit_matrix(ranked, relevant, k)
    users = n_rel > 0
    return float(np.mean(hit[users].sum(1) / n_rel[users])) if users.any() else float("nan")


def ndcg_at_k(ranked: np.ndarray, relevant: Relevant, k: int) -> float:
    """Binary-relevance NDCG@K averaged over users with at least one relevant item (arguments as in recall)."""
    hit, n_rel = _hit_matrix(ranked, relevant, k)
    discount = 1.0 / np.log2(np.arange(hit.shape[1]) + 2.0)
    dcg = (hit * discount).sum(1)
    ideal_cum = np.r_[0.0, np.cumsum(1.0 / np.log2(np.arange(k) + 2.0))]
    idcg = ideal_cum[np.minimum(n_rel, k)]
    users = n_rel > 0
    return float(np.mean(dcg[users] / idcg[users])) if users.any() else float("nan")


# ---------------------------------------------------------------------------------------------- regression
def rmse(pred: ArrayLike, target: ArrayLike) -> float:
    """Root mean squared error ``sqrt(mean((pred - target)^2))``."""
    p, t = _as_1d(pred, "pred"), _as_1d(target, "target")
    return float(np.sqrt(np.mean((p - t) ** 2)))


def mae(pred: ArrayLike, target: ArrayLike) -> float:
    """Mean absolute error ``mean(|pred - target|)``."""
    p, t = _as_1d(pred, "pred"), _as_1d(target, "target")
    return float(np.mean(np.abs(p - t)))


__all__ = ["auc", "average_precision", "hits_at_k", "mae", "mrr", "ndcg_at_k", "ranks", "recall_at_k", "rmse",
           "top_k_items"]
