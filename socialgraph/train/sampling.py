"""Sampling for training steps: negative pairs and neighbour-sampled subgraphs.

Neighbour sampling is written here in numpy over CSR arrays so that mini-batch training needs neither ``pyg-lib``
nor ``torch-sparse`` (which PyG's ``NeighborLoader`` needs and which cannot always be installed).
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch


def is_edge(adj: sp.csr_matrix, pairs: np.ndarray) -> np.ndarray:
    """Whether each pair ``[B, 2]`` is an edge of ``adj`` (vectorised CSR lookup via sorted keys)."""
    if len(pairs) == 0:
        return np.zeros(0, dtype=bool)
    n = adj.shape[1]
    rows = np.repeat(np.arange(adj.shape[0], dtype=np.int64), np.diff(adj.indptr))
    keys = rows * n + adj.indices.astype(np.int64)  # CSR with sorted indices gives sorted keys
    q = pairs[:, 0].astype(np.int64) * n + pairs[:, 1]
    pos = np.searchsorted(keys, q)
    pos = np.minimum(pos, len(keys) - 1) if len(keys) else pos
    return (keys[pos] == q) if len(keys) else np.zeros(len(q), dtype=bool)


def training_negatives(known: sp.csr_matrix, mp: sp.csr_matrix, num: int, hard_ratio: float,
                       rng: np.random.Generator) -> np.ndarray:
    """``num`` non-edges of ``known`` (all training friendships): uniform pairs, and a ``hard_ratio`` share of
    friends-of-friends in the step's message-passing graph ``mp`` (two random steps from a random node)."""
    n = known.shape[0]
    num_hard = int(round(num * hard_ratio))
    parts = []
    if num_hard:
        deg = np.diff(mp.indptr)
        start = rng.choice(np.flatnonzero(deg > 0), size=num_hard) if (deg > 0).any() else np.zeros(0, np.int64)
        mid = mp.indices[mp.indptr[start] + (rng.random(len(start)) * deg[start]).astype(np.int64)]
        end = mp.indices[mp.indptr[mid] + (rng.random(len(mid)) * deg[mid]).astype(np.int64)]
        parts.append(np.c_[start, end])
    parts.append(rng.integers(0, n, size=(num - sum(len(p) for p in parts), 2)))
    pairs = np.concatenate(parts).astype(np.int64)
    keep = (pairs[:, 0] != pairs[:, 1]) & ~is_edge(known, pairs)
    return pairs[keep]


def sample_subgraph(adj: sp.csr_matrix, seeds: np.ndarray, fanouts: list[int],
                    rng: np.random.Generator) -> tuple[np.ndarray, torch.Tensor]:
    """Nodes reached from ``seeds`` by sampling up to ``fanouts[l]`` neighbours per node at hop ``l``, and the
    sampled edges among them as a local ``edge_index`` ``[2, E]`` (messages flow from neighbour to node).

    Returns ``(nodes, edge_index)`` where ``nodes[:len(seeds)] == unique(seeds)`` and local index ``i`` is
    ``nodes[i]``.
    """
    nodes = np.unique(np.asarray(seeds, dtype=np.int64))
    frontier = nodes
    src_all, dst_all = [], []
    indptr, indices = adj.indptr, adj.indices
    for fanout in fanouts:
        deg = np.diff(indptr)[frontier]
        take = np.minimum(deg, fanout)
        owner = np.repeat(frontier, take)
        # For nodes with more neighbours than the fanout, draw offsets with replacement (cheap, unbiased enough);
        # otherwise take every neighbour.
        full = np.repeat(deg <= fanout, take)
        rank = np.arange(take.sum()) - np.repeat(np.cumsum(take) - take, take)
        rand = (rng.random(take.sum()) * np.repeat(deg, take)).astype(np.int64)
        offset = np.where(full, rank, rand)
        nbr = indices[indptr[owner] + offset].astype(np.int64)
        src_all.append(nbr)
        dst_all.append(owner)
        new = np.setdiff1d(np.unique(nbr), nodes, assume_unique=True)
        nodes = np.concatenate([nodes, new])
        frontier = new
    src = np.concatenate(src_all) if src_all else np.zeros(0, np.int64)
    dst = np.concatenate(dst_all) if dst_all else np.zeros(0, np.int64)
    order = np.argsort(nodes)
    local = lambda g: order[np.searchsorted(nodes[order], g)]  # noqa: E731
    ei = np.unique(np.vstack([local(src), local(dst)]), axis=1)
    return nodes, torch.from_numpy(ei)
