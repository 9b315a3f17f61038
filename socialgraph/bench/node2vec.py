"""node2vec link baseline without torch-cluster: uniform random walks in numpy, skip-gram by hand in torch, and the
published link scorer (logistic regression on the Hadamard product of the two ends' embeddings).

Walks are DeepWalk / node2vec with ``p = q = 1`` (each step picks a uniform neighbour): ``walks_per_node`` walks of
``walk_length`` nodes from every node with a neighbour; defaults are the node2vec paper's and the reference code's
(10 walks of 80 nodes, window 10, 128 dimensions, 5 negatives), which SEAL also used for its node2vec baseline.
Skip-gram with negative sampling maximises :math:`\\log\\sigma(e_u^\\top c_v) + \\sum_{k} \\log\\sigma(-e_u^\\top
c_{w_k})` for pairs ``(u, v)`` at most ``window`` steps apart on a walk (both directions), ``w_k`` drawn from the
walk-visit distribution to the power 3/4, trained like word2vec: plain SGD on summed per-pair gradients, learning
rate 0.025 decaying linearly to zero. Two shortcuts keep it at a few minutes for 20k nodes on one core:

* the ``negatives`` noise samples per pair are estimated from ``shared_negatives`` draws shared by a batch, each
  weighted ``negatives / shared_negatives`` (same expected objective, one matrix product instead of a gather);
* training sees ``pairs_per_node`` pairs per node drawn uniformly from all window pairs of the walks (3,000 by
  default, about a fifth of one pass over them; word2vec's single pass with its shrunk windows is about half of
  one: on SEAL USAir and C.elegans a full pass scored no better, 84 and 80 AUC against 90 and 86).

Links are scored as in SEAL's node2vec baseline: a logistic regression (standardised features) on the Hadamard
product ``e_u * e_v``, trained on the observed pairs against as many uniformly drawn unobserved pairs. (The raw dot
product ``e_u . e_v`` of trained skip-gram vectors ranks poorly: SEAL USAir AUC 64 against 89 for the classifier.)
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import scipy.sparse as sp
import torch
from tqdm.auto import tqdm

from socialgraph.data.adjacency import adjacency_from_edges


def random_walks(adj: sp.csr_matrix, walks_per_node: int, walk_length: int, rng: np.random.Generator) -> np.ndarray:
    """``[walks, walk_length]`` uniform random walks from every node with at least one neighbour."""
    deg = np.diff(adj.indptr)
    starts = np.repeat(np.flatnonzero(deg > 0), walks_per_node)
    walks = np.empty((len(starts), walk_length), dtype=np.int64)
    walks[:, 0] = starts
    for t in range(1, walk_length):
        cur = walks[:, t - 1]
        walks[:, t] = adj.indices[adj.indptr[cur] + (rng.random(len(cur)) * deg[cur]).astype(np.int64)]
    return walks


def window_pairs(walks: np.ndarray, window: int, num: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``num`` (centre, context) pairs drawn uniformly from every pair at most ``window`` steps apart on a walk, in
    either direction (without building that pool, which is ``2 * walks * ~window * walk_length`` pairs)."""
    n_walks, length = walks.shape
    window = min(window, length - 1)
    offsets = np.arange(1, window + 1)
    p = (length - offsets) / (length - offsets).sum()
    o = rng.choice(offsets, size=num, p=p)
    start = (rng.random(num) * (length - o)).astype(np.int64)
    w = rng.integers(0, n_walks, size=num)
    a, b = walks[w, start], walks[w, start + o]
    flip = rng.random(num) < 0.5
    return np.where(flip, b, a), np.where(flip, a, b)


def fit_node2vec(num_nodes: int, train: np.ndarray, *, dim: int = 128, walks_per_node: int = 10,
                 walk_length: int = 80, window: int = 10, negatives: int = 5, pairs_per_node: int = 3000,
                 lr: float = 0.025, batch_size: int = 1024, shared_negatives: int = 64, seed: int = 0,
                 progress: bool = False) -> np.ndarray:
    """Node embeddings ``[num_nodes, dim]`` from walks over the ``train`` pairs (isolated nodes keep their small
    random initial vector). Deterministic for a given ``seed``."""
    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(seed)
    adj = adjacency_from_edges(train, num_nodes)
    walks = random_walks(adj, walks_per_node, walk_length, rng)
    emb = (torch.rand(num_nodes, dim, generator=gen) - 0.5) / dim
    ctx = torch.zeros(num_nodes, dim)
    if walk_length < 2 or not len(walks):
        return emb.numpy()
    noise = torch.from_numpy(np.bincount(walks.ravel(), minlength=num_nodes) ** 0.75)
    total = pairs_per_node * len(walks) // walks_per_node
    weight = negatives / shared_negatives
    for i in tqdm(range(0, total, batch_size), desc="node2vec", disable=not progress, leave=False):
        b = min(batch_size, total - i)
        step = lr * max(1e-4, 1.0 - i / total)
        u, v = (torch.from_numpy(x) for x in window_pairs(walks, window, b, rng))
        w = torch.multinomial(noise, shared_negatives, replacement=True, generator=gen)
        eu, cv, cw = emb[u], ctx[v], ctx[w]
        g_pos = torch.sigmoid((eu * cv).sum(-1)) - 1.0          # d loss / d score, positive pairs
        g_neg = torch.sigmoid(eu @ cw.T) * weight               # [b, shared], noise pairs
        grad_u = g_pos[:, None] * cv + g_neg @ cw
        ctx.index_add_(0, v, g_pos[:, None] * eu, alpha=-step)
        ctx.index_add_(0, w, g_neg.T @ eu, alpha=-step)
        emb.index_add_(0, u, grad_u, alpha=-step)
    return emb.numpy()


def hadamard_classifier(emb: np.ndarray, observed: np.ndarray, *, seed: int = 0,
                        max_pairs: int = 100_000) -> Callable[[np.ndarray], np.ndarray]:
    """``score(pairs)``: logistic regression on ``emb[a] * emb[b]`` fitted on (at most ``max_pairs`` of) the
    ``observed`` pairs against as many uniform pairs not observed."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from socialgraph.data.negatives import uniform_negatives

    observed = np.asarray(observed, dtype=np.int64).reshape(-1, 2)
    rng = np.random.default_rng(seed)
    pos = observed if len(observed) <= max_pairs else observed[rng.choice(len(observed), max_pairs, replace=False)]
    free = len(emb) * (len(emb) - 1) // 2 - len(observed)
    neg = uniform_negatives(len(emb), min(len(pos), max(free // 2, 1)), exclude=observed, seed=seed)
    pairs = np.r_[pos, neg]
    clf = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000))
    clf.fit(emb[pairs[:, 0]] * emb[pairs[:, 1]], np.r_[np.ones(len(pos)), np.zeros(len(neg))])
    return lambda p: clf.decision_function(emb[p[:, 0]] * emb[p[:, 1]])


def node2vec_scorer(num_nodes: int, observed: np.ndarray, *, seed: int = 0, progress: bool = False,
                    **fit_kwargs) -> Callable[[np.ndarray], np.ndarray]:
    """Embeddings from walks over ``observed``, then :func:`hadamard_classifier` on the same pairs."""
    emb = fit_node2vec(num_nodes, observed, seed=seed, progress=progress, **fit_kwargs)
    return hadamard_classifier(emb, observed, seed=seed)
