"""The one typed container for a social graph.

A :class:`SocialGraph` holds users (and optionally content items) as rows ``0..n-1`` with a map to their external
ids, friend edges between user rows, engagement edges from user rows to item rows, per-user and per-item attribute
tables whose columns are tagged with a :class:`~socialgraph.data.schema.Role` (the modality), and optional blocked
pairs. Everything is numpy / pandas: the data layer knows nothing of neural networks.

Friend edges of an undirected graph are stored once per pair with ``src < dst``; a directed graph keeps every row as
given (reciprocal rows are kept apart and put on the same side of every split by :mod:`socialgraph.data.splits`).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Iterable, Optional

import numpy as np
import pandas as pd
import scipy.sparse as sp

from socialgraph.data.adjacency import adjacency_from_edges
from socialgraph.data.schema import AttributeTable


@dataclass
class SocialGraph:
    """Users, items, friend and engagement edges, attributes.

    Attributes:
        user_ids: external id of each user row, shape ``[num_users]``.
        friends: friend edges as user rows, int64 ``[num_friend_edges, 2]``.
        directed: whether ``friends`` is directed (trust, follow) or undirected (friendship).
        friend_weight / friend_time: optional per-edge float weight and int64 unix-seconds timestamp.
        item_ids: external id of each item row, or ``None`` when the graph has no content.
        engagements: user row -> item row, int64 ``[num_engagements, 2]``.
        engagement_value / engagement_time: optional per-engagement value (count, rating) and timestamp.
        user_attrs / item_attrs: attribute tables aligned to rows, columns tagged with their modality.
        blocked: pairs of user rows that must never be suggested to each other, ``[num_blocked, 2]``.
        name: a short name for messages and reports.
    """

    user_ids: np.ndarray
    friends: np.ndarray
    directed: bool = False
    friend_weight: Optional[np.ndarray] = None
    friend_time: Optional[np.ndarray] = None
    item_ids: Optional[np.ndarray] = None
    engagements: Optional[np.ndarray] = None
    engagement_value: Optional[np.ndarray] = None
    engagement_time: Optional[np.ndarray] = None
    user_attrs: Optional[AttributeTable] = None
    item_attrs: Optional[AttributeTable] = None
    blocked: Optional[np.ndarray] = None
    name: str = "graph"
    _user_index: Optional[dict] = field(default=None, init=False, repr=False, compare=False)
    _item_index: Optional[dict] = field(default=None, init=False, repr=False, compare=False)

    # ------------------------------------------------------------------ sizes
    @property
    def num_users(self) -> int:
        return int(len(self.user_ids))

    @property
    def num_items(self) -> int:
        return 0 if self.item_ids is None else int(len(self.item_ids))

    @property
    def num_friend_edges(self) -> int:
        """Rows of ``friends`` (directed edges, or undirected pairs)."""
        return int(len(self.friends))

    @property
    def num_friend_pairs(self) -> int:
        """Distinct unordered user pairs joined by at least one friend edge."""
        return int(len(self.undirected_pairs()))

    @property
    def num_engagements(self) -> int:
        return 0 if self.engagements is None else int(len(self.engagements))

    def modalities(self) -> dict[str, list[str]]:
        """Which modalities exist: ``{"user": [...roles...], "item": [...]}``, plus edge-borne signals."""
        out: dict[str, list[str]] = {
            "user": sorted({r.value for r in self.user_attrs.roles.values()}) if self.user_attrs else [],
            "item": sorted({r.value for r in self.item_attrs.roles.values()}) if self.item_attrs else [],
        }
        if self.num_engagements:
            out["user"] = sorted(set(out["user"]) | {"interactions"})
        return out

    # ------------------------------------------------------------------ ids
    def user_index(self, external_ids: Iterable) -> np.ndarray:
        """Rows of the given external user ids; raises ``KeyError`` naming the first unknown id."""
        if self._user_index is None:
            self._user_index = {_key(u): i for i, u in enumerate(self.user_ids.tolist())}
        return _lookup(self._user_index, external_ids, "user", f"{self.num_users} users of {self.name!r}")

    def item_index(self, external_ids: Iterable) -> np.ndarray:
        """Rows of the given external item ids; raises ``KeyError`` naming the first unknown id."""
        if self.item_ids is None:
            raise KeyError(f"{self.name!r} has no items")
        if self._item_index is None:
            self._item_index = {_key(u): i for i, u in enumerate(self.item_ids.tolist())}
        return _lookup(self._item_index, external_ids, "item", f"{self.num_items} items of {self.name!r}")

    # ------------------------------------------------------------------ structure
    def undirected_pairs(self) -> np.ndarray:
        """Distinct unordered friend pairs ``(a, b)`` with ``a < b``, sorted, int64 ``[P, 2]``."""
        return canonical_pairs(self.friends)

    def adjacency(self, edges: Optional[np.ndarray] = None, weighted: bool = False) -> sp.csr_matrix:
        """Symmetric user-user adjacency (CSR, float64) from ``edges`` (default: all friend edges).

        Directed edges are symmetrised: heuristics and message passing treat a trust edge as a tie.
        """
        e = self.friends if edges is None else np.asarray(edges, dtype=np.int64).reshape(-1, 2)
        n = self.num_users
        if not weighted:
            return adjacency_from_edges(e, n).astype(np.float64)
        w = np.ones(len(e)) if self.friend_weight is None or edges is not None \
            else self.friend_weight.astype(np.float64)
        a = sp.coo_matrix((np.r_[w, w], (np.r_[e[:, 0], e[:, 1]], np.r_[e[:, 1], e[:, 0]])), shape=(n, n)).tocsr()
        a.sum_duplicates()
        a.setdiag(0)
        a.eliminate_zeros()
        return a

    def degrees(self, edges: Optional[np.ndarray] = None) -> np.ndarray:
        """Number of distinct friends of each user, counting both directions."""
        return np.diff(self.adjacency(edges).indptr).astype(np.int64)

    def engagement_matrix(self, rows: Optional[np.ndarray] = None) -> sp.csr_matrix:
        """User x item matrix of engagement values (1 where no value is given); ``rows`` selects engagements."""
        if self.engagements is None or self.item_ids is None:
            raise ValueError(f"{self.name!r} has no engagements")
        sel = slice(None) if rows is None else rows
        e = self.engagements[sel]
        v = np.ones(len(e)) if self.engagement_value is None else self.engagement_value[sel].astype(np.float64)
        m = sp.coo_matrix((v, (e[:, 0], e[:, 1])), shape=(self.num_users, self.num_items)).tocsr()
        m.sum_duplicates()
        return m

    def with_friends(self, friends: np.ndarray, keep: Optional[np.ndarray] = None) -> "SocialGraph":
        """A copy with other friend edges; ``keep`` (row mask/indices into ``friends``) carries weight and time."""
        w = self.friend_weight[keep] if (keep is not None and self.friend_weight is not None) else None
        t = self.friend_time[keep] if (keep is not None and self.friend_time is not None) else None
        return replace(self, friends=np.asarray(friends, dtype=np.int64).reshape(-1, 2), friend_weight=w,
                       friend_time=t)

    def with_engagements(self, rows: np.ndarray) -> "SocialGraph":
        """A copy keeping only the engagement rows ``rows``."""
        if self.engagements is None:
            return self
        return replace(
            self, engagements=self.engagements[rows],
            engagement_value=None if self.engagement_value is None else self.engagement_value[rows],
            engagement_time=None if self.engagement_time is None else self.engagement_time[rows])

    def summary(self) -> dict:
        """Counts and modalities, as ``socialgraph datasets info`` prints them."""
        return {
            "name": self.name,
            "users": self.num_users,
            "directed": self.directed,
            "friend_edges": self.num_friend_edges,
            "friend_pairs": self.num_friend_pairs,
            "items": self.num_items,
            "engagements": self.num_engagements,
            "blocked": 0 if self.blocked is None else int(len(self.blocked)),
            "has_friend_time": self.friend_time is not None,
            "has_engagement_time": self.engagement_time is not None,
            "modalities": self.modalities(),
        }


def canonical_pairs(edges: np.ndarray) -> np.ndarray:
    """Distinct unordered pairs ``(min, max)`` of ``edges`` without self-loops, sorted lexicographically."""
    e = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    e = np.sort(e, axis=1)
    e = e[e[:, 0] != e[:, 1]]
    return np.unique(e, axis=0) if len(e) else e


def _key(u):
    """Integral ids compare as Python ints (numpy ints and integral floats from CSVs included); others as given."""
    if isinstance(u, np.integer):
        return int(u)
    if isinstance(u, float) and u.is_integer():
        return int(u)
    return u


def _lookup(index: dict, external_ids: Iterable, kind: str, among: str) -> np.ndarray:
    out = []
    for u in external_ids:
        k = _key(u)
        row = index.get(k)
        if row is None and isinstance(k, str) and k.lstrip("-").isdigit():
            row = index.get(int(k))  # ids typed on a command line arrive as strings
        if row is None:
            raise KeyError(f"unknown {kind} id {u!r}: not among the {among}")
        out.append(row)
    return np.asarray(out, dtype=np.int64)
