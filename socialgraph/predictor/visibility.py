"""The graph an asker may see when some users are hidden from them: every edge of those users taken out.

Leaving hidden users out of a list of names is not enough. Adamic-Adar sums :math:`1 / \\log d_w` over common
friends :math:`w`, so the total minus the visible terms is :math:`1 / \\log d_h` and gives away a hidden friend's
degree, which often singles that friend out; a visible friend's degree that counts a hidden friend gives away an
edge of the hidden one too. So explanations are computed on :math:`G \\setminus H`, the message-passing graph with
every friendship and engagement of the hidden users :math:`H` removed: degrees, heuristics, mutual friends, user
states after message passing (hence the score) and attention. What an explanation says is then a function of
:math:`G \\setminus H` alone, whatever the hidden users' friends are.

What training learned from the whole graph (weights, calibration, the users' spectral positions) stays as it is:
it is part of the model, not of one asker's view.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
import scipy.sparse as sp
import torch

from socialgraph.data.adjacency import adjacency_from_edges
from socialgraph.data.graph import SocialGraph, canonical_pairs


@dataclass(frozen=True)
class VisibleGraph:
    """The message-passing graph without the hidden users' edges (the users stay, as isolated rows).

    Attributes:
        hidden: the hidden user rows.
        mp_edges: canonical friend pairs ``[E', 2]`` (sorted, so two graphs that differ only in hidden users'
            edges give identical arrays, hence identical message passing).
        mp_engagements: rows of ``graph.engagements`` kept as edges (``None`` when the model has none).
        adjacency: symmetric binary CSR of ``mp_edges`` (degrees recomputed without the hidden users).
    """

    hidden: frozenset
    mp_edges: np.ndarray
    mp_engagements: Optional[np.ndarray]
    adjacency: sp.csr_matrix

    def edge_index(self, graph: SocialGraph) -> dict[tuple, torch.Tensor]:
        """PyG edge indices of this graph, as :meth:`FittedModel.edge_index` builds them for the whole one."""
        from socialgraph.bundle.fitted import build_edge_index

        return build_edge_index(self.mp_edges, graph, self.mp_engagements)


def touches(edges: np.ndarray, hidden: np.ndarray) -> np.ndarray:
    """Bool ``[E]``: whether each pair of ``edges`` ``[E, 2]`` has a hidden end."""
    edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    return np.isin(edges[:, 0], hidden) | np.isin(edges[:, 1], hidden)


def visible_graph(mp_edges: np.ndarray, num_users: int, hidden: frozenset, graph: SocialGraph,
                  mp_engagements: Optional[np.ndarray] = None) -> VisibleGraph:
    """:class:`VisibleGraph` of the message-passing graph ``mp_edges`` over ``num_users`` rows without ``hidden``.

    Args:
        mp_edges: undirected friend pairs ``[E, 2]`` (rows).
        num_users: rows of the adjacency.
        hidden: user rows whose friendships and engagements are removed.
        graph: the graph whose ``engagements`` ``mp_engagements`` indexes.
        mp_engagements: engagement rows used as message-passing edges, or ``None``.
    """
    rows = np.fromiter(hidden, np.int64, len(hidden))
    edges = canonical_pairs(np.asarray(mp_edges, dtype=np.int64).reshape(-1, 2))
    edges = edges[~touches(edges, rows)]
    eng = None
    if mp_engagements is not None:
        eng = np.asarray(mp_engagements, dtype=np.int64)
        if graph.engagements is not None and len(rows):
            eng = eng[~np.isin(graph.engagements[eng, 0], rows)]
    return VisibleGraph(frozenset(hidden), edges, eng, adjacency_from_edges(edges, num_users))


def visible_friends(adjacency: sp.csr_matrix, hidden: np.ndarray) -> sp.csr_matrix:
    """``adjacency`` (CSR) with the hidden users' columns emptied: row ``x`` lists ``x``'s visible friends.

    This is the graph candidates and mutual friends are found on: nobody reaches anyone through a hidden user,
    and a row's length (the degree Adamic-Adar weighs by) counts visible friends only. A hidden user's own row
    keeps its visible friends, since hiding is from others: their own suggestions still go through their friends.
    The matrix is no longer symmetric where hidden users have friends; row-wise consumers (friends-of-friends,
    mutual-friend counts) read it as said. Same shape and dtype; ``adjacency`` itself when nobody is hidden.
    """
    hidden = np.asarray(hidden, dtype=np.int64)
    if not len(hidden):
        return adjacency
    keep = np.ones(adjacency.shape[0], dtype=adjacency.dtype)
    keep[hidden] = 0
    out = sp.csr_matrix(adjacency @ sp.diags(keep))
    out.eliminate_zeros()
    out.sort_indices()
    return out


def hides_edges(mp_edges: np.ndarray, hidden: np.ndarray, graph: SocialGraph,
                mp_engagements: Optional[np.ndarray] = None) -> bool:
    """Whether any message-passing friendship or engagement has a hidden user (else the visible graph is the
    whole one)."""
    hidden = np.asarray(hidden, dtype=np.int64)
    if not len(hidden):
        return False
    if touches(mp_edges, hidden).any():
        return True
    return bool(mp_engagements is not None and graph.engagements is not None
                and np.isin(graph.engagements[np.asarray(mp_engagements, np.int64), 0], hidden).any())
