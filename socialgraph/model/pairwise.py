"""Pairwise structure of candidate links: the signal that separates the strongest link predictors from plain GAEs.

For a pair :math:`(u, v)` in a graph with symmetric binary adjacency :math:`A` and degrees :math:`d`:

.. math::
    \\mathrm{CN}(u,v) = |N(u) \\cap N(v)|, \\quad
    \\mathrm{AA}(u,v) = \\sum_{w \\in N(u) \\cap N(v)} \\frac{1}{\\log d_w}, \\quad
    \\mathrm{RA}(u,v) = \\sum_{w \\in N(u) \\cap N(v)} \\frac{1}{d_w}

together with :math:`\\log(1+d_u)`, :math:`\\log(1+d_v)`, the number of length-3 paths
:math:`(A^3)_{uv}` (through :math:`A_{u\\cdot} A A_{\\cdot v}`), the Jaccard index, the symmetric 2- and 3-step
random-walk probabilities with :math:`P = D^{-1} A`

.. math::
    W_2(u,v) = (P^2)_{uv} + (P^2)_{vu} = \\mathrm{RA}(u,v) \\Big(\\frac{1}{d_u} + \\frac{1}{d_v}\\Big), \\quad
    W_3(u,v) = (P^3)_{uv} + (P^3)_{vu} = (A D^{-1} A D^{-1} A)_{uv} \\Big(\\frac{1}{d_u} + \\frac{1}{d_v}\\Big)

(the terms that make personalised PageRank the best heuristic for low-degree users: a user with one friend sends
all of its walk through that friend, however few common neighbours the pair has), and the common-neighbour
indicator rows :math:`C_{(u,v),w} = A_{uw} A_{vw}` used to pool neighbour embeddings (as NCN does:
:math:`\\sum_w C_{(u,v),w} z_w`).

Optionally (``completion=K``) the *one-sided* neighbours that Neural Common Neighbour with Completion (NCNC) turns
into soft common neighbours: per end, the neighbours that are neither a neighbour of the other end nor the other end
itself, :math:`N(u) \\setminus (N(v) \\cup \\{v\\})` and the mirror image, at most ``K`` of them per end, the
lowest-degree ones first (the most specific, as resource allocation weighs them; ties by id, so the choice is
deterministic).

Computed on the message-passing graph of the batch, i.e. with the batch's target edges already removed, so a
positive pair never sees its own edge.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Union

import numpy as np
import scipy.sparse as sp
import torch

from socialgraph.data.adjacency import GraphArrays, as_graph_arrays, sorted_csr

try:  # compiled kernels; without numba the scipy formulation below gives the same numbers, slowly
    from socialgraph.data import kernels as _kernels
except ImportError:  # pragma: no cover - numba is a dependency
    _kernels = None

NUM_PAIR_FEATURES = 9
DEGREE_COLUMNS = (4, 5)  # log1p of the two ends' degrees in PairStructure.features


@dataclass
class PairStructure:
    """Structural features of a batch of pairs.

    Attributes:
        features: float32 ``[B, NUM_PAIR_FEATURES]``: log1p of CN, AA, RA, 3-paths, and log1p degrees of both
            ends, the Jaccard index, and log1p of the 2- and 3-step random-walk probabilities.
        common: sparse ``[B, num_nodes]`` common-neighbour indicator (row-normalised by ``sqrt(CN)``) for pooling
            neighbour embeddings.
        one_sided: int64 ``[3, M]`` (pair row, neighbour ``w``, the pair's other end) for the one-sided
            neighbours, or ``None`` when they were not asked for; pair by pair, the first end's side before the
            second's, ids increasing within a side.
    """

    features: torch.Tensor
    common: torch.Tensor
    one_sided: Optional[torch.Tensor] = None

    def to(self, device: Union[torch.device, str]) -> "PairStructure":
        """The same structure with its tensors on ``device`` (``self`` when they are there already)."""
        device = torch.device(device)
        if all(t is None or t.device == device for t in (self.features, self.common, self.one_sided)):
            return self
        return PairStructure(self.features.to(device), self.common.to(device),
                             None if self.one_sided is None else self.one_sided.to(device))


def pair_structure(graph: Union[sp.csr_matrix, GraphArrays], pairs: np.ndarray, *,
                   leave_out: Optional[np.ndarray] = None, completion: int = 0) -> PairStructure:
    r"""Structural features of ``pairs`` ``[B, 2]`` in the graph ``graph`` (see the module docstring).

    ``graph`` is the symmetric binary adjacency (CSR) or its :class:`~socialgraph.data.adjacency.GraphArrays`: a
    matrix gets its per-graph arrays (degrees, weights: O(nnz) work) computed for this call, so a caller scoring
    the same graph many times computes :func:`~socialgraph.data.adjacency.graph_arrays` once and passes that.

    ``leave_out`` (bool ``[B]``) marks pairs that are edges of the graph and must be described as if their own
    edge were absent (and only their own: every other edge stays). This is how a training step can compute the
    features of its positive pairs on the whole training graph without any pair seeing its answer. Common
    neighbours (hence CN, AA, RA and the pooling rows) do not involve the edge ``(u, v)``; the rest is corrected
    exactly: both degrees lose one, and the 3-step walks that use the edge are subtracted,

    .. math::
        (A^3)_{uv} \mathrel{-}= d_u + d_v - 1, \qquad
        (A W A W A)_{uv} \mathrel{-}= w_v S_v + w_u S_u - w_u w_v, \qquad S_x = \sum_{y \in N(x)} w_y,

    with :math:`w = 1/d` (a walk ``u, a, b, v`` uses the edge iff ``a = v`` or ``b = u``; the inner nodes of every
    other walk are neither ``u`` nor ``v``, so their degrees are unchanged).

    Pairs sharing their first user are cheap (the 2-hop expansion behind the 3-path count is shared, see
    :mod:`socialgraph.data.kernels`); any order gives the same numbers.

    ``completion > 0`` also lists up to that many one-sided neighbours per end (``PairStructure.one_sided``). A
    pair's own edge never makes an end its own one-sided neighbour, so ``leave_out`` needs no correction there."""
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    if completion < 0:
        raise ValueError(f"completion must be >= 0 (one-sided neighbours per end), got {completion}")
    if _kernels is None:
        adj = graph.adj if isinstance(graph, GraphArrays) else sorted_csr(graph)
        out = _pair_structure_scipy(adj, pairs, np.diff(adj.indptr).astype(np.float32), leave_out)
        out.one_sided = _one_sided_scipy(adj, pairs, completion) if completion else None
        return out
    g = as_graph_arrays(graph)
    cn_i, aa, ra, cols = _common_neighbours(g, pairs)
    p3_i, p3w = _paths3(g, pairs)
    cn = cn_i.astype(np.float32)
    p3, du, dv = p3_i.astype(np.float32), g.deg[pairs[:, 0]], g.deg[pairs[:, 1]]
    if leave_out is not None:
        p3, p3w, du, dv = _without_own_edge(leave_out, pairs, p3, p3w, g.deg, _walk_sum(g.adj, g.w_walk))
    feats = _features(cn, aa, ra, p3, p3w, du, dv)
    return PairStructure(torch.from_numpy(feats), _pooling_rows(cn_i, cols, g.num_nodes),
                         _one_sided(g, pairs, completion) if completion else None)


def _common_neighbours(g: GraphArrays, pairs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per pair, CN (int64), AA and RA (float32) with the compiled kernel, and the common neighbours of every pair
    one after the other (int64, sorted within a pair)."""
    b = len(pairs)
    u, v = pairs[:, 0], pairs[:, 1]
    indptr, indices = g.adj.indptr, g.adj.indices
    dmin = np.minimum(g.deg[u], g.deg[v]).astype(np.int64)
    starts = np.zeros(b, np.int64)
    np.cumsum(dmin[:-1], out=starts[1:])
    buf = np.empty(int(dmin.sum()), dtype=indices.dtype)
    cn_i = np.empty(b, np.int64)
    aa, ra = np.empty(b, np.float32), np.empty(b, np.float32)
    _kernels.common_neighbours(indptr, indices, g.w_aa, g.w_ra, u, v, starts, buf, cn_i, aa, ra)
    offsets = np.zeros(b + 1, np.int64)
    np.cumsum(cn_i, out=offsets[1:])
    cols = np.empty(int(offsets[-1]), np.int64)
    _kernels.compact(buf, starts, cn_i, offsets[:-1], cols)
    return cn_i, aa, ra, cols


def _paths3(g: GraphArrays, pairs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per pair, the 3-path count (int64) and the inverse-degree weighted 3-path sum (float64), with zeroed
    scratch counters of this call's own."""
    b = len(pairs)
    p3_i, p3w = np.empty(b, np.int64), np.empty(b, np.float64)
    if b:
        n = g.num_nodes
        u = pairs[:, 0]
        _kernels.paths3(g.adj.indptr, g.adj.indices, g.vol2, g.w_walk, u, pairs[:, 1], np.argsort(u, kind="stable"),
                        np.zeros(n, np.int32), np.zeros(n, np.float64), p3_i, p3w)
    return p3_i, p3w


def _pooling_rows(cn_i: np.ndarray, cols: np.ndarray, n: int) -> torch.Tensor:
    """``PairStructure.common``: sparse ``[B, n]`` with ``1 / sqrt(CN)`` at each pair's common neighbours."""
    b = len(cn_i)
    norm = (1.0 / np.sqrt(np.maximum(cn_i.astype(np.float32), 1.0))).astype(np.float32)
    rows = np.repeat(np.arange(b, dtype=np.int64), cn_i)
    idx = torch.from_numpy(np.stack([rows, cols]))
    # Rows in pair order, columns sorted within a row: already coalesced, no sort needed.
    return torch.sparse_coo_tensor(idx, torch.from_numpy(norm[rows]), size=(b, n), is_coalesced=True,
                                   check_invariants=False)


def _one_sided(g: GraphArrays, pairs: np.ndarray, k: int) -> torch.Tensor:
    """``PairStructure.one_sided`` with the compiled kernel."""
    out = np.empty((3, 2 * k * len(pairs)), np.int64)
    m = _kernels.one_sided(g.adj.indptr, g.adj.indices, g.deg, np.ascontiguousarray(pairs[:, 0]),
                           np.ascontiguousarray(pairs[:, 1]), k, out[0], out[1], out[2])
    return torch.from_numpy(np.ascontiguousarray(out[:, :m]))


def _one_sided_scipy(adj: sp.csr_matrix, pairs: np.ndarray, k: int) -> torch.Tensor:
    """``PairStructure.one_sided`` with scipy (the formulation the kernel is tested against)."""
    u, v = pairs[:, 0], pairs[:, 1]
    au, av = adj[u], adj[v]
    common = au.multiply(av)
    deg = np.diff(adj.indptr)
    parts = []
    for side, other in ((au, v), (av, u)):
        o = (side - common).tocoo()
        keep = (o.data > 0) & (o.col != other[o.row])
        r, c = o.row[keep].astype(np.int64), o.col[keep].astype(np.int64)
        order = np.lexsort((c, deg[c], r))  # per pair: lowest degree first, ties by id
        r, c = r[order], c[order]
        rank = np.arange(len(r)) - np.searchsorted(r, r, side="left")
        r, c = r[rank < k], c[rank < k]
        by_id = np.lexsort((c, r))  # per pair, increasing id
        r, c = r[by_id], c[by_id]
        parts.append(np.stack([r, c, other[r]]))
    both = np.concatenate(parts, axis=1)
    both = both[:, np.argsort(both[0], kind="stable")]  # pair order, the first end's side before the second's
    return torch.from_numpy(both)


def _walk_sum(adj: sp.csr_matrix, w: np.ndarray) -> np.ndarray:
    """``S_x = sum_{y in N(x)} w_y`` for every node."""
    return np.add.reduceat(np.r_[w[adj.indices], 0.0], adj.indptr[:-1]) * (np.diff(adj.indptr) > 0)


def _without_own_edge(leave_out: np.ndarray, pairs: np.ndarray, p3: np.ndarray, p3w: np.ndarray, deg: np.ndarray,
                      walk_sum: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """3-paths, weighted 3-paths and degrees of the ``leave_out`` pairs with their own edge removed (the
    corrections of :func:`pair_structure`); other pairs unchanged."""
    m = np.asarray(leave_out, dtype=bool)
    if len(m) != len(pairs):
        raise ValueError(f"leave_out has {len(m)} entries for {len(pairs)} pairs")
    u, v = pairs[:, 0], pairs[:, 1]
    du, dv = deg[u].astype(np.float32), deg[v].astype(np.float32)
    if not m.any():
        return p3, p3w, du, dv
    if np.any((du[m] < 1) | (dv[m] < 1)):
        raise ValueError("leave_out marks a pair with an end that has no edge: it is for pairs that are edges")
    wu, wv = 1.0 / du[m].astype(np.float64), 1.0 / dv[m].astype(np.float64)
    p3, p3w = p3.copy(), np.asarray(p3w, dtype=np.float64).copy()
    p3[m] -= du[m] + dv[m] - 1
    p3w[m] -= wv * walk_sum[v[m]] + wu * walk_sum[u[m]] - wu * wv
    du[m] -= 1
    dv[m] -= 1
    return np.maximum(p3, 0), np.maximum(p3w, 0.0), du, dv


def _features(cn: np.ndarray, aa: np.ndarray, ra: np.ndarray, p3: np.ndarray, p3w: np.ndarray, du: np.ndarray,
              dv: np.ndarray) -> np.ndarray:
    """The ``[B, NUM_PAIR_FEATURES]`` float32 feature block from the per-pair sums (``p3w`` is the inverse-degree
    weighted 3-path sum)."""
    jac = cn / np.maximum(du + dv - cn, 1.0)
    inv = 1.0 / np.maximum(du.astype(np.float64), 1.0) + 1.0 / np.maximum(dv.astype(np.float64), 1.0)
    walk2, walk3 = ra.astype(np.float64) * inv, p3w * inv
    return np.stack([np.log1p(cn), np.log1p(aa), np.log1p(ra * 10), np.log1p(p3) / 3, np.log1p(du), np.log1p(dv),
                     jac, np.log1p(100 * walk2), np.log1p(100 * walk3)], axis=1).astype(np.float32)


def _pair_structure_scipy(adj: sp.csr_matrix, pairs: np.ndarray, deg: np.ndarray,
                          leave_out: Optional[np.ndarray] = None) -> PairStructure:
    """The same features with scipy sparse products (used when numba is not installed; much slower)."""
    au, av = adj[pairs[:, 0]], adj[pairs[:, 1]]
    common = au.multiply(av).tocsr()
    cn = np.asarray(common.sum(1)).ravel()
    aa = common @ (1.0 / np.log(np.maximum(deg, 2.0)))
    ra = common @ (1.0 / np.maximum(deg, 1.0))
    # (A^3)_{uv} = A_u . (A A_v): paths of length three, the next-strongest local signal after CN.
    p3 = np.asarray(au.multiply(av @ adj).sum(1)).ravel()
    w = sp.diags(1.0 / np.maximum(deg.astype(np.float64), 1.0))
    p3w = np.asarray((au.astype(np.float64) @ w @ adj @ w).multiply(av).sum(1)).ravel()
    du, dv = deg[pairs[:, 0]], deg[pairs[:, 1]]
    if leave_out is not None:
        w = 1.0 / np.maximum(deg.astype(np.float64), 1.0)
        p3, p3w, du, dv = _without_own_edge(leave_out, pairs, p3.astype(np.float32), p3w, deg, _walk_sum(adj, w))
    feats = _features(cn, aa, ra, p3, p3w, du, dv)
    norm = 1.0 / np.sqrt(np.maximum(cn, 1.0))
    common = sp.diags(norm.astype(np.float32)) @ common
    common = common.tocoo()
    idx = torch.from_numpy(np.vstack([common.row, common.col]).astype(np.int64))
    c = torch.sparse_coo_tensor(idx, torch.from_numpy(common.data.astype(np.float32)), size=common.shape,
                                check_invariants=False)
    return PairStructure(torch.from_numpy(feats), c.coalesce())
