"""Leakage-safe train / validation / test splits of friend links and of engagements.

The unit that is split is a *pair*, never a row: every row of ``graph.friends`` joining the same unordered user
pair -- a duplicate, or the reverse edge ``v -> u`` of a directed graph -- lands on the same side, and so does every
engagement row of the same (user, item) pair. A link held out for evaluation therefore never leaks into the
training graph through its twin.

Methods (``val`` and ``test`` are fractions):

* ``random``: a seeded permutation of the pairs; the first ``int(test * P)`` go to test, the next
  ``int(val * P)`` to validation.
* ``temporal``: pairs ordered by the time they first appeared (the earliest timestamp among their rows); the
  newest go to test, the next newest to validation, training keeps the oldest. Pairs sharing a timestamp at a
  cut are ordered by the seed.
* ``inductive``: ``val`` and ``test`` are fractions of the *users* with at least one link. Held-out users keep all
  their links on their side (a link between a validation and a test user goes to test), so the training graph
  has no edge touching a held-out user: they are new users at evaluation time.

Engagements also offer ``per_user`` (each user with at least two items holds out ``round(test * c)`` and
``round(val * c)`` of their ``c`` items, always keeping one for training: the holdout recommender benchmarks
rank for Recall@K / NDCG@K) and ``per_user_temporal`` (the same counts, each user's newest items held out).

Self-loops are not links and belong to no side. All splits are deterministic functions of ``seed``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Optional

import numpy as np

from socialgraph.data.adjacency import unordered_keys
from socialgraph.data.errors import DataError
from socialgraph.data.graph import SocialGraph

LinkMethod = Literal["random", "temporal", "inductive"]
EngagementMethod = Literal["random", "temporal", "inductive", "per_user", "per_user_temporal"]
TRAIN, VAL, TEST = 0, 1, 2


class _HeldOutUsers:
    """Shared by the split results: the users an inductive split keeps out of training."""

    val_users: Optional[np.ndarray]
    test_users: Optional[np.ndarray]

    @property
    def held_out_users(self) -> Optional[np.ndarray]:
        """Users held out of training (inductive splits), sorted; ``None`` for edge-level splits."""
        if self.val_users is None or self.test_users is None:
            return None
        return np.union1d(self.val_users, self.test_users)


@dataclass(frozen=True)
class LinkSplit(_HeldOutUsers):
    """Friend edges on each side of a split.

    Attributes:
        train, val, test: int64 ``[*, 2]`` edges. For an undirected graph these are canonical pairs ``(a, b)``,
            ``a < b``; for a directed graph they are rows of ``graph.friends`` as given, every row of an unordered
            pair on the same side.
        method: the split method.
        train_rows: indices of the rows of ``graph.friends`` that make up ``train`` (carry weights / times with
            :meth:`train_graph`).
        val_users, test_users: for ``inductive`` splits, the held-out user rows of each side; else ``None``.
    """

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    method: str
    train_rows: np.ndarray
    val_users: Optional[np.ndarray] = None
    test_users: Optional[np.ndarray] = None


    def train_graph(self, graph: SocialGraph) -> SocialGraph:
        """``graph`` with only the training friend edges (weights and times kept)."""
        return graph.with_friends(graph.friends[self.train_rows], keep=self.train_rows)

    def sizes(self) -> dict[str, int]:
        return {"train": len(self.train), "val": len(self.val), "test": len(self.test)}


@dataclass(frozen=True)
class EngagementSplit(_HeldOutUsers):
    """Row indices into ``graph.engagements`` on each side of a split (every row of a (user, item) pair together).

    Attributes:
        train, val, test: sorted int64 row indices.
        method: the split method.
        val_users, test_users: for ``inductive`` splits, the held-out user rows; else ``None``.
    """

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    method: str
    val_users: Optional[np.ndarray] = None
    test_users: Optional[np.ndarray] = None


    def sizes(self) -> dict[str, int]:
        return {"train": len(self.train), "val": len(self.val), "test": len(self.test)}


# ---------------------------------------------------------------------------------------------------- helpers
def _check_fractions(val: float, test: float) -> None:
    if not (0 <= val < 1 and 0 <= test < 1 and val + test < 1):
        raise ValueError(f"val and test must be fractions in [0, 1) with val + test < 1, got val={val}, test={test}")


def _group(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct keys (sorted) and, per row, the index of its group."""
    uniq, inv = np.unique(keys, return_inverse=True)
    return uniq, inv.ravel()


def _first_time(inv: np.ndarray, times: np.ndarray, groups: int) -> np.ndarray:
    t = np.full(groups, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(t, inv, np.asarray(times, dtype=np.int64))
    return t


def _by_order(order: np.ndarray, val: float, test: float) -> np.ndarray:
    """Side of each unit given an order whose head goes to test and the following units to validation."""
    n = len(order)
    n_test, n_val = int(test * n), int(val * n)
    side = np.full(n, TRAIN, dtype=np.int8)
    side[order[:n_test]] = TEST
    side[order[n_test:n_test + n_val]] = VAL
    return side


def _newest_first(times: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return np.lexsort((rng.permutation(len(times)), -times))  # ties at a cut ordered by the seed


def _held_out_users(active: np.ndarray, val: float, test: float,
                    rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The sorted test and validation users drawn from ``active`` (users with at least one link or item)."""
    perm = rng.permutation(active)
    n_test, n_val = int(test * len(perm)), int(val * len(perm))
    test_users, val_users = np.sort(perm[:n_test]), np.sort(perm[n_test:n_test + n_val])
    return test_users, val_users


def _time_required(times: Optional[np.ndarray], what: str, name: str) -> np.ndarray:
    if times is None:
        raise DataError(f"{name!r} has no {what} timestamps, so a temporal split is impossible",
                        hint="use method='random' (or 'inductive'), or load a dataset with timestamps")
    return np.asarray(times)


# ---------------------------------------------------------------------------------------------------- links
def split_links(graph: SocialGraph, method: LinkMethod = "random", val: float = 0.05, test: float = 0.10,
                seed: int = 0) -> LinkSplit:
    """Split the friend links of ``graph`` into train / validation / test (see the module docstring).

    Raises:
        DataError: ``temporal`` on a graph without friend timestamps.
        ValueError: unknown method or bad fractions.
    """
    _check_fractions(val, test)
    rng = np.random.default_rng(seed)
    n = graph.num_users
    e = np.asarray(graph.friends, dtype=np.int64).reshape(-1, 2)
    real = e[:, 0] != e[:, 1]
    rows = np.flatnonzero(real)
    keys = unordered_keys(e[rows], n)
    pairs_key, inv = _group(keys)
    pairs = np.c_[pairs_key // n, pairs_key % n]
    val_users = test_users = None
    if method == "random":
        side = _by_order(rng.permutation(len(pairs)), val, test)
    elif method == "temporal":
        times = _time_required(graph.friend_time, "friend", graph.name)[rows]
        side = _by_order(_newest_first(_first_time(inv, times, len(pairs)), rng), val, test)
    elif method == "inductive":
        test_users, val_users = _held_out_users(np.unique(pairs), val, test, rng)
        user_side = np.zeros(n, dtype=np.int8)
        user_side[val_users] = VAL
        user_side[test_users] = TEST  # test wins: a val-test link is evaluated with the test users
        side = np.maximum(user_side[pairs[:, 0]], user_side[pairs[:, 1]])
    else:
        raise ValueError(f"unknown link split method {method!r}; choose random, temporal or inductive")
    row_side = side[inv]

    def take(s: int) -> np.ndarray:
        if graph.directed:
            return e[rows[row_side == s]]
        return pairs[side == s]

    return LinkSplit(train=take(TRAIN), val=take(VAL), test=take(TEST), method=method,
                     train_rows=rows[row_side == TRAIN], val_users=val_users, test_users=test_users)


# ---------------------------------------------------------------------------------------------------- engagements
def split_engagements(graph: SocialGraph, method: EngagementMethod = "random", val: float = 0.05,
                      test: float = 0.10, seed: int = 0) -> EngagementSplit:
    """Split ``graph.engagements`` into train / validation / test row indices (see the module docstring).

    Raises:
        DataError: the graph has no engagements, or a temporal method without engagement timestamps.
        ValueError: unknown method or bad fractions.
    """
    _check_fractions(val, test)
    if graph.engagements is None or graph.num_engagements == 0:
        raise DataError(f"{graph.name!r} has no engagements to split", hint="pick a dataset with user->item data")
    rng = np.random.default_rng(seed)
    e = np.asarray(graph.engagements, dtype=np.int64)
    width = max(graph.num_items, int(e[:, 1].max()) + 1)
    unit_key, inv = _group(e[:, 0] * width + e[:, 1])
    unit_user = unit_key // width
    val_users = test_users = None
    if method == "random":
        side = _by_order(rng.permutation(len(unit_key)), val, test)
    elif method == "temporal":
        times = _first_time(inv, _time_required(graph.engagement_time, "engagement", graph.name), len(unit_key))
        side = _by_order(_newest_first(times, rng), val, test)
    elif method in ("per_user", "per_user_temporal"):
        if method == "per_user":
            within = rng.permutation(len(unit_key))  # a random rank key inside each user
        else:
            times = _first_time(inv, _time_required(graph.engagement_time, "engagement", graph.name),
                                len(unit_key))
            within = _newest_first(times, rng).argsort()  # position in newest-first order
        order = np.lexsort((within, unit_user))
        counts = np.bincount(unit_user, minlength=graph.num_users)
        n_test = np.round(test * counts).astype(np.int64)
        n_val = np.round(val * counts).astype(np.int64)
        # Keep at least one training item per user: trim validation first, then test.
        n_val = np.minimum(n_val, np.maximum(counts - 1 - n_test, 0))
        n_test = np.minimum(n_test, np.maximum(counts - 1, 0))
        u_sorted = unit_user[order]
        rank = np.arange(len(order)) - np.searchsorted(u_sorted, u_sorted)
        side_sorted = np.where(rank < n_test[u_sorted], TEST,
                               np.where(rank < n_test[u_sorted] + n_val[u_sorted], VAL, TRAIN)).astype(np.int8)
        side = np.empty(len(order), dtype=np.int8)
        side[order] = side_sorted
    elif method == "inductive":
        test_users, val_users = _held_out_users(np.unique(unit_user), val, test, rng)
        user_side = np.zeros(graph.num_users, dtype=np.int8)
        user_side[val_users] = VAL
        user_side[test_users] = TEST
        side = user_side[unit_user]
    else:
        raise ValueError(f"unknown engagement split method {method!r}; choose random, temporal, inductive, "
                         f"per_user or per_user_temporal")
    row_side = side[inv]
    return EngagementSplit(train=np.flatnonzero(row_side == TRAIN), val=np.flatnonzero(row_side == VAL),
                           test=np.flatnonzero(row_side == TEST), method=method, val_users=val_users,
                           test_users=test_users)


__all__ = ["EngagementSplit", "LinkSplit", "split_engagements", "split_links"]
