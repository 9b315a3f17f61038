"""Graph primitives written once for every layer: adjacency matrices, pair keys, friends-of-friends.

* **Adjacency.** :func:`adjacency_from_edges` builds the symmetric binary CSR matrix of undirected friend pairs;
  :func:`sorted_csr` gives any sparse matrix as CSR with sorted neighbour lists (what the kernels read).
* **Pair keys.** An unordered pair ``(a, b)`` of ``n`` nodes has the int64 key ``min(a, b) * n + max(a, b)``
  (:func:`unordered_keys`; valid while ``n < 3e9``); a directed CSR entry ``(i, j)`` the key ``i * n + j``.
  Membership is a binary search in a sorted key array (:func:`sorted_member`), which :func:`pair_member` (is an
  unordered pair among :func:`pair_keys`?) and :func:`is_edge` (is a directed pair stored in a CSR matrix?) use.
* **Per-graph arrays.** :class:`GraphArrays` holds what the compiled kernels read of one graph (sorted CSR,
  degrees, neighbour weights). :func:`graph_arrays` computes it in O(nnz); there is no cache: a caller that
  scores the same graph many times computes it once, keeps it and passes it wherever a graph is asked for.
* **Friends-of-friends.** :func:`friends_of_friends` ranks, per user, the users two hops away by Adamic-Adar,
  resource allocation or common neighbours (self and friends excluded) in a compiled kernel
  (:func:`socialgraph.data.kernels.fof_topk`); :func:`count_common` counts common neighbours of pairs.

Every function allocates its own scratch arrays: nothing here keeps state between calls or threads.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Union

import numpy as np
import scipy.sparse as sp

#: the friends-of-friends rankings the kernel computes, with the names they are also known by
FOF_METHODS: tuple[str, ...] = ("aa", "ra", "cn")
_FOF_ALIASES = {"adamic_adar": "aa", "resource_allocation": "ra", "common_neighbours": "cn",
                "common_neighbors": "cn"}


def adjacency_from_edges(edges: np.ndarray, num_nodes: int) -> sp.csr_matrix:
    """Symmetric binary adjacency of undirected ``edges``.

    Args:
        edges: int ``[E, 2]`` node rows (either direction; duplicates are merged, self-loops dropped).
        num_nodes: ``n``, the matrix size.

    Returns:
        float32 ``[n, n]`` CSR matrix, sorted neighbour lists, 1 at ``(a, b)`` and ``(b, a)`` for every edge.
    """
    e = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    e = e[e[:, 0] != e[:, 1]]
    a = sp.csr_matrix((np.ones(2 * len(e), dtype=np.float32), (np.r_[e[:, 0], e[:, 1]], np.r_[e[:, 1], e[:, 0]])),
                      shape=(num_nodes, num_nodes))
    a.sum_duplicates()
    a.data[:] = 1.0
    return a


def sorted_csr(adj: sp.spmatrix) -> sp.csr_matrix:
    """``adj`` (any scipy sparse matrix or array) as CSR with sorted neighbour lists; the same object when it
    already is one. Values and stored entries are unchanged (duplicates are not summed)."""
    if not sp.isspmatrix_csr(adj) and not isinstance(adj, sp.csr_array):
        adj = sp.csr_matrix(adj)
    if not adj.has_sorted_indices:
        adj = adj.sorted_indices()
    return adj


def unordered_keys(pairs: np.ndarray, n: int) -> np.ndarray:
    """int64 key ``min * n + max`` of each pair of ``pairs`` ``[P, 2]`` in their order (``(a, b)`` and ``(b, a)``
    share a key); ``[P]``."""
    p = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    return np.minimum(p[:, 0], p[:, 1]) * np.int64(n) + np.maximum(p[:, 0], p[:, 1])


def pair_keys(pairs: np.ndarray, n: int) -> np.ndarray:
    """The sorted distinct :func:`unordered_keys` of ``pairs`` ``[P, 2]`` (the set :func:`pair_member` looks up)."""
    return np.unique(unordered_keys(pairs, n))


def sorted_member(sorted_keys: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Whether each of ``keys`` (any shape) is in the sorted int64 array ``sorted_keys``: ``np.isin`` by binary
    search; a bool array shaped like ``keys``."""
    keys = np.asarray(keys)
    if len(sorted_keys) == 0:
        return np.zeros(keys.shape, dtype=bool)
    i = np.minimum(np.searchsorted(sorted_keys, keys), len(sorted_keys) - 1)
    return sorted_keys[i] == keys


def pair_member(keys_sorted: np.ndarray, a: np.ndarray, b: np.ndarray, n: int) -> np.ndarray:
    """Whether each unordered pair ``(a[i], b[i])`` is among ``keys_sorted`` (:func:`pair_keys` of ``n`` nodes);
    ``a`` and ``b`` broadcast, the result is a bool array of their shape."""
    a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
    return sorted_member(keys_sorted, np.minimum(a, b) * np.int64(n) + np.maximum(a, b))


def is_edge(adj: sp.spmatrix, pairs: np.ndarray) -> np.ndarray:
    """Whether each directed pair ``(i, j)`` of ``pairs`` ``[B, 2]`` is a stored entry ``adj[i, j]`` of the sparse
    matrix ``adj`` (an explicit zero counts as stored); bool ``[B]``."""
    a = sorted_csr(adj)
    p = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    n = np.int64(a.shape[1])
    rows = np.repeat(np.arange(a.shape[0], dtype=np.int64), np.diff(a.indptr))
    stored = rows * n + a.indices.astype(np.int64)  # sorted: rows in order, sorted columns within a row
    return sorted_member(stored, p[:, 0] * n + p[:, 1])


@dataclass(frozen=True, eq=False)
class GraphArrays:
    """The per-graph arrays the compiled kernels read (O(nnz) to compute, which a call scoring a handful of pairs
    must not repeat: compute them once with :func:`graph_arrays` and pass them on).

    Attributes:
        adj: the graph's CSR matrix with sorted neighbour lists.
        deg: float32 ``[n]`` row lengths (the degrees of a binary graph).
        w_aa: float32 ``[n]`` ``1 / log(max(d, 2))``, Adamic-Adar's weights (the scipy formulation's rounding).
        w_ra: float32 ``[n]`` ``1 / max(d, 1)``, resource allocation's weights.
        w_walk: float64 ``[n]`` ``1 / max(d, 1)``, the 3-step random walk's weights.
        vol2: int64 ``[n]`` sum of the neighbours' degrees (the work of one 2-hop expansion).
        binary_simple: every stored value is 1, no self-loop and no duplicate entry.
    """

    adj: sp.csr_matrix
    deg: np.ndarray
    w_aa: np.ndarray
    w_ra: np.ndarray
    w_walk: np.ndarray
    vol2: np.ndarray
    binary_simple: bool

    @property
    def num_nodes(self) -> int:
        return int(self.adj.shape[0])


def graph_arrays(adj: sp.spmatrix) -> GraphArrays:
    """:class:`GraphArrays` of the square sparse matrix ``adj`` (freshly computed at every call; ``adj`` must not
    be modified in place while the result is in use)."""
    adj = sorted_csr(adj)
    if adj.shape[0] != adj.shape[1]:
        raise ValueError(f"adjacency must be square, got shape {adj.shape}")
    lengths = np.diff(adj.indptr)
    deg = lengths.astype(np.float32)  # binary adjacency: row lengths are the degrees
    w_aa = (1.0 / np.log(np.maximum(deg, 2.0))).astype(np.float32)
    w_ra = (1.0 / np.maximum(deg, 1.0)).astype(np.float32)
    vol2 = np.add.reduceat(np.r_[deg[adj.indices].astype(np.int64), 0], adj.indptr[:-1]) * (lengths > 0)
    rows = np.repeat(np.arange(adj.shape[0]), lengths)
    repeated = (np.diff(adj.indices) == 0) & (np.diff(rows) == 0)  # sorted lists: duplicates are adjacent
    simple = bool(np.all(adj.data == 1) and not np.any(rows == adj.indices) and not repeated.any())
    w_walk = 1.0 / np.maximum(deg.astype(np.float64), 1.0)
    return GraphArrays(adj, deg, w_aa, w_ra, w_walk, vol2.astype(np.int64), simple)


def as_graph_arrays(graph: Union[sp.spmatrix, GraphArrays]) -> GraphArrays:
    """``graph`` itself when it is :class:`GraphArrays`, else :func:`graph_arrays` of the matrix."""
    return graph if isinstance(graph, GraphArrays) else graph_arrays(graph)


def _binary_simple(g: GraphArrays) -> GraphArrays:
    """``g``, or the arrays of its graph made binary and simple: an edge wherever an off-diagonal entry is stored
    (whatever its value), with value 1, as the heuristics read a graph."""
    if g.binary_simple:
        return g
    c = g.adj.tocoo()
    off = c.row != c.col
    a = sp.csr_matrix((np.ones(int(off.sum())), (c.row[off], c.col[off])), shape=g.adj.shape)
    a.data[:] = 1.0  # duplicates were summed
    return graph_arrays(a)


def _users(users: np.ndarray, n: int, what: str = "users") -> np.ndarray:
    u = np.ascontiguousarray(users, dtype=np.int64).ravel()
    if len(u) and (u.min() < 0 or u.max() >= n):
        raise ValueError(f"{what} hold rows outside 0..{n - 1}")
    return u


def fof_method(method: str) -> Optional[str]:
    """``"aa"``, ``"ra"`` or ``"cn"`` for those rankings under any of their names (``"adamic-adar"``,
    ``"resource_allocation"``, ``"common_neighbors"``, ...), ``None`` for any other method."""
    m = method.lower().replace("-", "_")
    m = _FOF_ALIASES.get(m, m)
    return m if m in FOF_METHODS else None


def friends_of_friends_scored(graph: Union[sp.spmatrix, GraphArrays], users: np.ndarray, k: int,
                              method: str = "aa") -> tuple[np.ndarray, np.ndarray]:
    """:func:`friends_of_friends` with the scores: ``(cand, score)``, int64 and float64 ``[len(users), k]``, best
    first, ``-1`` / ``-inf`` in empty slots."""
    m = fof_method(method)
    if m is None:
        raise ValueError(f"friends_of_friends ranks by {', '.join(FOF_METHODS)}, not {method!r}; "
                         f"socialgraph.eval.heuristics.top_candidates ranks by the other heuristics")
    if k < 0:
        raise ValueError(f"k must be >= 0 (candidates per user), got {k}")
    g = _binary_simple(as_graph_arrays(graph))
    n = g.num_nodes
    users = _users(users, n)
    cand = np.full((len(users), k), -1, dtype=np.int64)
    score = np.full((len(users), k), -np.inf)
    if k == 0 or len(users) == 0:
        return cand, score
    from socialgraph.data import kernels

    d = g.deg.astype(np.float64)
    weight = {"aa": lambda: 1.0 / np.log(np.maximum(d, 2.0)), "ra": lambda: 1.0 / np.maximum(d, 1.0),
              "cn": lambda: np.ones(n)}[m]()
    acc, flag, touched = np.zeros(n), np.zeros(n, np.int8), np.empty(n, np.int64)
    kernels.fof_topk(g.adj.indptr, g.adj.indices, weight, users, k, acc, flag, touched, cand, score)
    return cand, score


def friends_of_friends(graph: Union[sp.spmatrix, GraphArrays], users: np.ndarray, k: int,
                       method: str = "aa") -> np.ndarray:
    """The ``k`` best friends-of-friends of each of ``users`` by ``method``.

    A candidate ``v`` of ``u`` is a user two hops away, neither ``u`` nor a neighbour of ``u``, with a positive
    score ``sum_{w in N(u) & N(v)} c(w)``: ``c(w) = 1 / log d(w)`` (``"aa"``, Adamic-Adar), ``1 / d(w)`` (``"ra"``,
    resource allocation) or 1 (``"cn"``, common neighbours). Ties go to the smaller row. Scores are the rows of
    ``A[users] diag(c) A`` (the heuristics' sparse formulation) up to float64 rounding: two sums equal up to the
    last bit may break their tie the other way there.

    Args:
        graph: the symmetric adjacency (a scipy sparse matrix) or its :class:`GraphArrays`; a graph that is not
            binary and simple is read as its binary, loop-free version.
        users: int ``[b]`` node rows.
        k: candidates kept per user.
        method: ``"aa"``, ``"ra"`` or ``"cn"`` (or their long names).

    Returns:
        int64 ``[b, k]`` candidate rows, best first, ``-1`` in empty slots.
    """
    return friends_of_friends_scored(graph, users, k, method)[0]


def count_common(graph: Union[sp.spmatrix, GraphArrays], u: np.ndarray, v: np.ndarray,
                 skip: Optional[np.ndarray] = None) -> np.ndarray:
    """Common neighbours ``|N(u[i]) & N(v[i])|`` of each pair, not counting the nodes ``w`` with ``skip[w]``.

    Args:
        graph: the adjacency (a scipy sparse matrix; its stored entries are the edges) or its :class:`GraphArrays`.
        u, v: int ``[P]`` node rows.
        skip: optional bool ``[n]``: nodes that never count as a common neighbour (hidden users).

    Returns:
        int64 ``[P]``.
    """
    from socialgraph.data import kernels

    g = as_graph_arrays(graph)
    n = g.num_nodes
    u, v = _users(u, n, "u"), _users(v, n, "v")
    if len(u) != len(v):
        raise ValueError(f"u has {len(u)} entries and v {len(v)}: one per pair")
    if skip is None:
        skip = np.zeros(0, np.bool_)
    else:
        skip = np.ascontiguousarray(skip, dtype=np.bool_)
        if skip.shape != (n,):
            raise ValueError(f"skip must be a bool mask over the {n} nodes, got shape {skip.shape}")
    out = np.empty(len(u), np.int64)
    kernels.count_common(g.adj.indptr, g.adj.indices, u, v, skip, out)
    return out


__all__ = ["FOF_METHODS", "GraphArrays", "adjacency_from_edges", "as_graph_arrays", "count_common", "fof_method",
           "friends_of_friends", "friends_of_friends_scored", "graph_arrays", "is_edge", "pair_keys", "pair_member",
           "sorted_csr", "sorted_member", "unordered_keys"]
