"""Real graphs for tests, from the data root where present and from what the project ships everywhere.

``dataset_params(...)`` turns dataset names into pytest parameters that carry the ``dataset`` mark, so a test
parametrised over a licensed dataset and a shipped one runs the shipped one on every machine and skips the other,
with its reason, where it is absent.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import pytest
import scipy.sparse as sp

from socialgraph.data import SocialGraph, load

#: Graphs every checkout has (MIT-licensed MUSAE copies in the project's datasets/ folder).
SHIPPED = ("musae-facebook", "twitch-de", "twitch-engb")


def dataset_params(*names: str) -> list:
    """One ``pytest.param`` per name, marked with the dataset it needs and named after it."""
    return [pytest.param(n, marks=pytest.mark.dataset(n), id=n) for n in names]


@lru_cache(maxsize=None)
def friend_graph(name: str) -> SocialGraph:
    """The friendships of dataset ``name`` alone (no attributes, items or engagements)."""
    g = load(name)
    return SocialGraph(user_ids=g.user_ids, friends=g.friends, directed=g.directed, name=name)


def core_graph(name: str, size: int) -> SocialGraph:
    """The friendships among ``size`` users of ``name`` reached breadth-first from its best-connected user."""
    a = sp.triu(dense_core(name, size), k=1).tocoo()
    return SocialGraph(user_ids=np.arange(size, dtype=np.int64), name=f"{name}-core{size}",
                       friends=np.stack([a.row, a.col], 1).astype(np.int64))


def dense_core(name: str, size: int = 400) -> sp.csr_matrix:
    """The symmetric 0/1 adjacency induced on ``size`` users reached breadth-first from the best-connected user:
    a small real graph on which dense matrix powers and brute force stay cheap."""
    g = friend_graph(name)
    a = g.adjacency()
    a = ((a + a.T) > 0).astype(np.float64).tocsr()
    a.setdiag(0)
    a.eliminate_zeros()
    order = sp.csgraph.breadth_first_order(a, int(np.argmax(np.diff(a.indptr))), directed=False,
                                           return_predecessors=False)[:size]
    core = a[order][:, order].tocsr()
    core.eliminate_zeros()
    return core
