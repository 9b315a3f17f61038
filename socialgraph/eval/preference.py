"""Content-preference metric: how well a predicted category distribution ranks a user's own categories.

The categories are ranked by their predicted scores (:func:`~socialgraph.eval.metrics.top_k_items`) and judged by
binary-relevance :func:`~socialgraph.eval.metrics.ndcg_at_k` against the categories the user actually has (the
categories of held-out engagements, or a held-out user's own category column).
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from socialgraph.eval.metrics import ndcg_at_k, top_k_items


def preference_metrics(scores: np.ndarray, relevant: sp.spmatrix, k: int = 10) -> dict:
    """NDCG@K of the categories ranked by ``scores``.

    Args:
        scores: float ``[U, C]`` predicted category scores of ``U`` users.
        relevant: ``[U, C]`` (nonzero: the category is one of the user's).
        k: the length of the ranked lists.

    Returns:
        ``{"ndcg@K": float, "users": U}``.
    """
    ranked = top_k_items(scores, k)
    return {f"ndcg@{k}": ndcg_at_k(ranked, relevant, k), "users": int(np.shape(scores)[0])}


__all__ = ["preference_metrics"]
