"""Engagement metrics on held-out engagements: ratings (RMSE, MAE) and per-user item rankings (Recall@K, NDCG@K).

A model enters as a callable, so nothing here knows how a model scores:

* explicit feedback (ratings): ``predict(users, items) -> [E]`` predicted ratings of the held-out (user, item)
  rows, clipped to the rating range of the *training* rows (never the held-out values) before
  :func:`~socialgraph.eval.metrics.rmse` and :func:`~socialgraph.eval.metrics.mae`;
* implicit feedback (counts, clicks): ``score_items(users) -> [len(users), num_items]`` scores of every item; each
  user's training items are left out, the top K ranked (:func:`~socialgraph.eval.metrics.top_k_items`) and judged
  against the user's held-out items by :func:`~socialgraph.eval.metrics.recall_at_k` and
  :func:`~socialgraph.eval.metrics.ndcg_at_k` (users with at least one held-out item).
"""
from __future__ import annotations

from typing import Callable, Literal, Optional

import numpy as np
import scipy.sparse as sp

from socialgraph.data.graph import SocialGraph
from socialgraph.eval.metrics import mae, ndcg_at_k, recall_at_k, rmse, top_k_items

#: ``predict(users, items)``: int64 ``[E]`` user and item rows -> float ``[E]`` predicted ratings.
RatingFn = Callable[[np.ndarray, np.ndarray], np.ndarray]
#: ``score_items(users)``: int64 ``[U]`` user rows -> float ``[U, num_items]`` scores.
ItemScoreFn = Callable[[np.ndarray], np.ndarray]


def rating_metrics(pred: np.ndarray, truth: np.ndarray, train_values: np.ndarray) -> dict:
    """RMSE and MAE of ``pred`` against ``truth`` (both ``[E]``), ``pred`` clipped to
    ``[train_values.min(), train_values.max()]`` (the rating scale as training shows it).

    Returns:
        ``{"rmse": float, "mae": float, "n": E}``.
    """
    pred = np.clip(pred, train_values.min(), train_values.max())
    return {"rmse": rmse(pred, truth), "mae": mae(pred, truth), "n": int(len(truth))}


def ranking_metrics(score_items: ItemScoreFn, users: np.ndarray, seen: sp.spmatrix, relevant: sp.spmatrix,
                    k: int = 20, batch_size: int = 2048) -> dict:
    """Recall@K and NDCG@K of the items ``score_items`` ranks for ``users``.

    Args:
        score_items: see :data:`ItemScoreFn`; called on ``batch_size`` users at a time.
        users: int64 ``[U]`` user rows.
        seen: ``[U, I]`` items each user engaged with in training (nonzero), left out of the ranking.
        relevant: ``[U, I]`` each user's held-out items (nonzero).
        k: the length of the ranked lists.

    Returns:
        ``{"recall@K": float, "ndcg@K": float, "users": U}``.
    """
    ranked = np.concatenate([top_k_items(score_items(users[i:i + batch_size]), k, exclude=seen[i:i + batch_size])
                             for i in range(0, len(users), batch_size)])
    return {f"recall@{k}": recall_at_k(ranked, relevant, k), f"ndcg@{k}": ndcg_at_k(ranked, relevant, k),
            "users": int(len(users))}


def engagement_metrics(graph: SocialGraph, train: np.ndarray, held: np.ndarray,
                       kind: Literal["explicit", "implicit"], *, predict: Optional[RatingFn] = None,
                       score_items: Optional[ItemScoreFn] = None) -> dict:
    """Metrics of the held-out engagement rows ``held`` (into ``graph.engagements``), ``train`` the training rows:
    :func:`rating_metrics` of ``predict`` for ``kind == "explicit"``, else :func:`ranking_metrics` (K = 20) of
    ``score_items`` over the users of the held-out rows."""
    rows = graph.engagements[held]
    if kind == "explicit":
        if predict is None:
            raise ValueError("explicit feedback is judged by predicted ratings: pass predict=")
        return rating_metrics(predict(rows[:, 0], rows[:, 1]), graph.engagement_value[held],
                              graph.engagement_value[train])
    if score_items is None:
        raise ValueError("implicit feedback is judged by item rankings: pass score_items=")
    users = np.unique(rows[:, 0])
    seen = graph.with_engagements(train).engagement_matrix()[users]
    relevant = graph.with_engagements(held).engagement_matrix()[users]
    return ranking_metrics(score_items, users, seen, relevant, k=20)


__all__ = ["ItemScoreFn", "RatingFn", "engagement_metrics", "ranking_metrics", "rating_metrics"]
