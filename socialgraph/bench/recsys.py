"""Engagement baselines on the trainer's engagement split, scored exactly as the trainer scores its model.

* implicit feedback (listens, clicks): each test user's top 20 items not engaged with in training, Recall@20 and
  NDCG@20 against the held-out items; ``popularity`` ranks items by training engagement count, ``lightgcn`` is
  PyG's :class:`~torch_geometric.nn.models.LightGCN` on the user-item training graph trained with BPR.
* explicit feedback (ratings): RMSE / MAE on held-out ratings, predictions clipped to the observed rating range;
  ``global-mean``, ``item-mean`` (an item's training mean shrunk towards the global mean with weight 5, the
  popularity baseline of rating prediction) and ``lightgcn`` (dot product + global mean, trained with MSE).
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch
from torch.nn import functional as F

from socialgraph.data.graph import SocialGraph
from socialgraph.eval.metrics import mae, ndcg_at_k, recall_at_k, rmse, top_k_items


def implicit_metrics(graph: SocialGraph, train: np.ndarray, test: np.ndarray, score_users) -> dict:
    """Recall@20 / NDCG@20 of ``score_users(users) -> [len(users), num_items]`` as the trainer computes them."""
    users = np.unique(graph.engagements[test, 0])
    seen = graph.with_engagements(train).engagement_matrix()[users]
    held = graph.with_engagements(test).engagement_matrix()[users]
    ranked = np.concatenate([top_k_items(score_users(users[i:i + 2048]), 20, exclude=seen[i:i + 2048])
                             for i in range(0, len(users), 2048)])
    return {"recall@20": recall_at_k(ranked, held, 20), "ndcg@20": ndcg_at_k(ranked, held, 20),
            "users": int(len(users))}


def explicit_metrics(graph: SocialGraph, test: np.ndarray, pred: np.ndarray) -> dict:
    truth = graph.engagement_value[test].astype(np.float64)
    p = np.clip(pred, truth.min(), truth.max())
    return {"rmse": rmse(p, truth), "mae": mae(p, truth), "n": int(len(test))}


def popularity(graph: SocialGraph, train: np.ndarray):
    counts = np.bincount(graph.engagements[train, 1], minlength=graph.num_items).astype(np.float64)
    return lambda users: np.broadcast_to(counts, (len(users), graph.num_items))


def item_mean(graph: SocialGraph, train: np.ndarray, shrink: float = 5.0) -> np.ndarray:
    """Per-item predicted rating for every engagement row's item (``[num_items]``)."""
    e, v = graph.engagements[train], graph.engagement_value[train].astype(np.float64)
    mu = v.mean()
    s = np.bincount(e[:, 1], weights=v, minlength=graph.num_items)
    c = np.bincount(e[:, 1], minlength=graph.num_items)
    return (s + shrink * mu) / (c + shrink)


def fit_lightgcn(graph: SocialGraph, train: np.ndarray, *, explicit: bool, dim: int = 64, layers: int = 2,
                 steps: int = 300, batch_size: int = 8192, lr: float = 0.01, seed: int = 0):
    """PyG LightGCN over users ``0..U-1`` and items ``U..U+I-1``; returns ``predict(users, items)`` for pairs and
    ``score_users(users)`` for every item."""
    from torch_geometric.nn import LightGCN

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    u_n, i_n = graph.num_users, graph.num_items
    e = graph.engagements[train]
    src, dst = torch.from_numpy(e[:, 0]), torch.from_numpy(e[:, 1] + u_n)
    ei = torch.stack([torch.cat([src, dst]), torch.cat([dst, src])])
    model = LightGCN(u_n + i_n, dim, layers)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    mu = float(graph.engagement_value[train].mean()) if explicit else 0.0
    values = torch.from_numpy(graph.engagement_value[train].astype(np.float32)) if explicit else None
    for _ in range(steps):
        pick = rng.choice(len(e), size=min(batch_size, len(e)), replace=False)
        z = model.get_embedding(ei)
        u, i = src[pick], dst[pick]
        pos = (z[u] * z[i]).sum(-1)
        if explicit:
            loss = F.mse_loss(pos + mu, values[pick])
        else:
            j = torch.from_numpy(rng.integers(0, i_n, len(pick)) + u_n)
            neg = (z[u] * z[j]).sum(-1)
            loss = model.recommendation_loss(pos, neg, node_id=torch.cat([u, i, j]))
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        z = model.get_embedding(ei)
    zu, zi = z[:u_n], z[u_n:]

    def predict(users: np.ndarray, items: np.ndarray) -> np.ndarray:
        return ((zu[torch.from_numpy(users)] * zi[torch.from_numpy(items)]).sum(-1) + mu).numpy()

    def score_users(users: np.ndarray) -> np.ndarray:
        return (zu[torch.from_numpy(np.asarray(users))] @ zi.T).numpy()

    return predict, score_users


def engagement_baselines(graph: SocialGraph, train: np.ndarray, test: np.ndarray, *, explicit: bool,
                         steps: int = 300, seed: int = 0) -> dict[str, dict]:
    """``{baseline: metrics}`` on the given engagement rows."""
    predict, score_users = fit_lightgcn(graph, train, explicit=explicit, steps=steps, seed=seed)
    t = graph.engagements[test]
    if explicit:
        mu = float(graph.engagement_value[train].mean())
        return {"global-mean": explicit_metrics(graph, test, np.full(len(test), mu)),
                "item-mean": explicit_metrics(graph, test, item_mean(graph, train)[t[:, 1]]),
                "lightgcn": explicit_metrics(graph, test, predict(t[:, 0], t[:, 1]))}
    return {"popularity": implicit_metrics(graph, train, test, popularity(graph, train)),
            "lightgcn": implicit_metrics(graph, train, test, score_users)}


def category_popularity_ndcg(matrix: sp.csr_matrix, train_users: np.ndarray, test_users: np.ndarray) -> float:
    """NDCG@10 of ranking every category by its total target mass over ``train_users``, for ``test_users``."""
    mass = np.asarray(matrix[train_users].sum(0)).ravel()
    order = np.argsort(-mass, kind="stable")[:10]
    ranked = np.broadcast_to(order, (len(test_users), len(order)))
    return ndcg_at_k(np.ascontiguousarray(ranked), matrix[test_users], 10)
