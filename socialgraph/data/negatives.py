"""Negative sampling for link prediction: uniform non-edges, hard 2-hop non-edges, HeaRT-style per-positive sets.

Every sampler takes ``exclude``, the pairs that must never be drawn -- pass the *full* friend edge set (train,
validation and test) so that no true edge of any split becomes a negative -- and never returns a self-pair.
Pairs are unordered: ``(u, v)`` and ``(v, u)`` are the same pair and a negative is returned as ``(min, max)``
(except HeaRT negatives, which keep the positive's source ``u`` as their first endpoint).

Membership tests use a hashed key per unordered pair, ``key(u, v) = min(u, v) * n + max(u, v)``, looked up by
binary search in a sorted key array (:mod:`socialgraph.data.adjacency`): sampling is vectorised in batches with
rejection, with no Python set of pairs, and the same ``seed`` gives the same negatives.
"""
from __future__ import annotations

from typing import Callable, Optional, Union

import numpy as np
import scipy.sparse as sp

from socialgraph.data.adjacency import FOF_METHODS, fof_method, friends_of_friends, sorted_member, unordered_keys

_MAX_ROUNDS = 200  # rejection rounds before a sampler declares the request impossible

def _excluded_keys(exclude: Optional[np.ndarray], num_nodes: int, adj: Optional[sp.spmatrix] = None) -> np.ndarray:
    parts = [] if exclude is None else [unordered_keys(exclude, num_nodes)]
    if adj is not None:
        c = sp.coo_matrix(adj)
        parts.append(unordered_keys(np.c_[c.row, c.col], num_nodes))
    return np.unique(np.concatenate(parts)) if parts else np.zeros(0, np.int64)


def _first_occurrences(keys: np.ndarray) -> np.ndarray:
    """Mask of the first occurrence of each key, in the given order (keeps sampling order, hence seed-stable)."""
    _, first = np.unique(keys, return_index=True)
    mask = np.zeros(len(keys), dtype=bool)
    mask[first] = True
    return mask


def _collect(draw, num: int, excluded: np.ndarray, num_nodes: int, what: str) -> np.ndarray:
    """Draw candidate pairs batch by batch until ``num`` distinct valid ones are found (first-come order)."""
    found = np.zeros(0, dtype=np.int64)
    stale = 0
    for _ in range(_MAX_ROUNDS):
        need = num - len(found)
        if need <= 0:
            break
        cand = draw(max(2 * need, 1024))
        cand = cand[cand[:, 0] != cand[:, 1]]
        keys = unordered_keys(cand, num_nodes)
        keys = keys[~sorted_member(excluded, keys)]
        keys = keys[_first_occurrences(keys)]
        keys = keys[~np.isin(keys, found)]
        stale = stale + 1 if len(keys) == 0 else 0
        if stale >= 5:
            break
        found = np.r_[found, keys[:need]]
    if len(found) < num:
        raise ValueError(f"could only find {len(found)} of the {num} {what} requested; ask for fewer")
    return np.c_[found // num_nodes, found % num_nodes]


def uniform_negatives(num_nodes: int, num: int, exclude: Optional[np.ndarray] = None, *,
                      seed: int = 0) -> np.ndarray:
    """``num`` distinct unordered non-edges ``(a, b)``, ``a < b``, drawn uniformly among pairs not in ``exclude``.

    Returns int64 ``[num, 2]`` in sampling order. Raises ``ValueError`` when fewer than ``num`` such pairs exist.
    """
    excluded = _excluded_keys(exclude, num_nodes)
    available = num_nodes * (num_nodes - 1) // 2 - len(excluded)
    if num > available:
        raise ValueError(f"asked for {num} negatives but only {available} non-edges exist among {num_nodes} users")
    rng = np.random.default_rng(seed)
    return _collect(lambda b: rng.integers(0, num_nodes, size=(b, 2), dtype=np.int64), num, excluded, num_nodes,
                    "uniform negatives")


def hard_negatives(adj: sp.spmatrix, num: int, exclude: Optional[np.ndarray] = None, *,
                   seed: int = 0) -> np.ndarray:
    """``num`` distinct pairs at distance exactly 2 in the graph ``adj`` (friends of friends who are not friends).

    Pairs are drawn by a random 2-step walk ``u -> w -> v`` started from a uniformly chosen edge, so a pair is
    drawn in proportion to (roughly) its number of mutual friends: the hardest negatives are the most likely.
    Edges of ``adj`` and pairs in ``exclude`` are rejected. Returns int64 ``[num, 2]`` with ``a < b``.
    """
    a = sp.csr_matrix(adj)
    a.sum_duplicates()
    n = a.shape[0]
    excluded = _excluded_keys(exclude, n, a)
    if a.nnz == 0:
        raise ValueError("the graph has no edges, so no pair is at distance 2")
    deg = np.diff(a.indptr)
    src = np.repeat(np.arange(n, dtype=np.int64), deg)
    rng = np.random.default_rng(seed)

    def draw(b: int) -> np.ndarray:
        e = rng.integers(0, a.nnz, size=b)
        u, w = src[e], a.indices[e].astype(np.int64)
        v = a.indices[a.indptr[w] + (rng.random(b) * deg[w]).astype(np.int64)]
        return np.c_[u, v]

    return _collect(draw, num, excluded, n, "2-hop negatives")


def heart_negatives(adj: sp.spmatrix, positives: np.ndarray, k: int, exclude: Optional[np.ndarray] = None, *,
                    num_hard: Optional[int] = None,
                    method: Union[str, Callable[[sp.csr_matrix, np.ndarray, int], np.ndarray]] = "ra",
                    seed: int = 0) -> np.ndarray:
    """HeaRT-style per-positive negatives: for each positive ``(u, v)``, ``k`` users ``w`` so that ``(u, w)`` is a
    negative.

    The first ``num_hard`` (default ``k // 2``) are the best-ranked candidates of ``u`` on the training graph
    ``adj``: its friends-of-friends by ``method`` (``"ra"``, ``"aa"`` or ``"cn"``, see
    :func:`socialgraph.data.adjacency.friends_of_friends`), or whatever ranking a callable ``method(adj, users,
    n_cand)`` returns as int64 ``[len(users), n_cand]`` (``-1`` in empty slots; e.g. PPR through
    :func:`socialgraph.eval.heuristics.top_candidates`). The rest, and any hard slot left empty because ``u`` has
    too few scored candidates, are uniform random users. No ``w`` is ``u``, a neighbour of ``u`` in ``adj``, a
    partner of ``u`` in ``exclude`` or in ``positives``, or repeated in a row.

    Returns:
        int64 ``[len(positives), k]`` of users ``w``; the negative pairs are ``(positives[i, 0], w[i, j])``.
    """
    a = sp.csr_matrix(adj)
    n = a.shape[0]
    pos = np.asarray(positives, dtype=np.int64).reshape(-1, 2)
    num_hard = k // 2 if num_hard is None else int(num_hard)
    if not 0 <= num_hard <= k:
        raise ValueError(f"num_hard must be within 0..k={k}, got {num_hard}")
    if not callable(method) and fof_method(method) is None:
        raise ValueError(f"method must be one of {', '.join(FOF_METHODS)} or a callable ranking, got {method!r}")
    excl = _excluded_keys(pos if exclude is None else np.r_[np.asarray(exclude, np.int64).reshape(-1, 2), pos], n, a)
    u = pos[:, 0]
    out = np.full((len(pos), k), -1, dtype=np.int64)
    if num_hard:
        sources, inv = np.unique(u, return_inverse=True)
        rank = method if callable(method) else lambda g, s, c: friends_of_friends(g, s, c, method)
        # Ask for extra candidates: some of them are validation / test edges that ``exclude`` removes.
        cand = rank(a, sources, 2 * num_hard + 8)[inv]
        bad = (cand < 0) | sorted_member(excl, unordered_keys(np.c_[np.repeat(u, cand.shape[1]), cand.ravel()],
                                                         n)).reshape(cand.shape)
        # Keep the best ``num_hard`` valid candidates of each row, in rank order.
        order = np.argsort(bad, axis=1, kind="stable")[:, :num_hard]
        hard = np.take_along_axis(cand, order, 1)
        hard[np.take_along_axis(bad, order, 1)] = -1
        out[:, :num_hard] = hard
    rng = np.random.default_rng(seed)
    rows = np.repeat(np.arange(len(pos), dtype=np.int64), k)
    for _ in range(_MAX_ROUNDS):
        flat = out.ravel()
        keys = unordered_keys(np.c_[np.repeat(u, k), flat], n)
        invalid = (flat < 0) | (flat == np.repeat(u, k)) | sorted_member(excl, keys)
        invalid |= ~_first_occurrences(np.where(invalid, -1 - np.arange(len(flat)), rows * n + flat))
        if not invalid.any():
            return out
        flat[invalid] = rng.integers(0, n, size=int(invalid.sum()))
        out = flat.reshape(out.shape)
    raise ValueError(f"could not find {k} negatives for every positive: some users are linked to almost everyone; "
                     f"ask for a smaller k")


__all__ = ["hard_negatives", "heart_negatives", "uniform_negatives"]
