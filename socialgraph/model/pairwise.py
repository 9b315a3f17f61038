"""Pairwise structure of candidate links: the signal that separates the strongest link predictors from plain GAEs.

For a pair :math:`(u, v)` in a graph with symmetric binary adjacency :math:`A` and degrees :math:`d`:

.. math::
    \\mathrm{CN}(u,v) = |N(u) \\cap N(v)|, \\quad
    \\mathrm{AA}(u,v) = \\sum_{w \\in N(u) \\cap N(v)} \\frac{1}{\\log d_w}, \\quad
    \\mathrm{RA}(u,v) = \\sum_{w \\in N(u) \\cap N(v)} \\frac{1}{d_w}

together with :math:`\\log(1+d_u)`, :math:`\\log(1+d_v)`, the number of length-3 paths
:math:`(A^3)_{uv}` (through :math:`A_{u\\cdot} A A_{\\cdot v}`), and the common-neighbour indicator rows
:math:`C_{(u,v),w} = A_{uw} A_{vw}` used to pool neighbour embeddings (as NCN does:
:math:`\\sum_w C_{(u,v),w} z_w`).

Computed on the message-passing graph of the batch, i.e. with the batch's target edges already removed, so a
positive pair never sees its own edge.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch

NUM_PAIR_FEATURES = 7


@dataclass
class PairStructure:
    """Structural features of a batch of pairs.

    Attributes:
        features: float32 ``[B, NUM_PAIR_FEATURES]``: log1p of CN, AA, RA, 3-paths, and log1p degrees of both
            ends, and the Jaccard index.
        common: sparse ``[B, num_nodes]`` common-neighbour indicator (row-normalised by ``sqrt(CN)``) for pooling
            neighbour embeddings.
    """

    features: torch.Tensor
    common: torch.Tensor


def adjacency_from_edges(edges: np.ndarray, num_nodes: int) -> sp.csr_matrix:
    """Symmetric binary CSR adjacency of undirected ``edges`` ``[E, 2]`` (duplicates merged, no self-loops)."""
    e = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    e = e[e[:, 0] != e[:, 1]]
    a = sp.csr_matrix((np.ones(2 * len(e), dtype=np.float32), (np.r_[e[:, 0], e[:, 1]], np.r_[e[:, 1], e[:, 0]])),
                      shape=(num_nodes, num_nodes))
    a.sum_duplicates()
    a.data[:] = 1.0
    return a


def pair_structure(adj: sp.csr_matrix, pairs: np.ndarray) -> PairStructure:
    """Structural features of ``pairs`` ``[B, 2]`` in the graph ``adj`` (see the module docstring)."""
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    deg = np.asarray(adj.sum(1)).ravel().astype(np.float32)
    au, av = adj[pairs[:, 0]], adj[pairs[:, 1]]
    common = au.multiply(av).tocsr()
    cn = np.asarray(common.sum(1)).ravel()
    aa = common @ (1.0 / np.log(np.maximum(deg, 2.0)))
    ra = common @ (1.0 / np.maximum(deg, 1.0))
    # (A^3)_{uv} = A_u . (A A_v): paths of length three, the next-strongest local signal after CN.
    p3 = np.asarray(au.multiply(av @ adj).sum(1)).ravel()
    du, dv = deg[pairs[:, 0]], deg[pairs[:, 1]]
    jac = cn / np.maximum(du + dv - cn, 1.0)
    feats = np.stack([np.log1p(cn), np.log1p(aa), np.log1p(ra * 10), np.log1p(p3) / 3, np.log1p(du), np.log1p(dv),
                      jac], axis=1).astype(np.float32)
    norm = 1.0 / np.sqrt(np.maximum(cn, 1.0))
    common = sp.diags(norm.astype(np.float32)) @ common
    common = common.tocoo()
    idx = torch.from_numpy(np.vstack([common.row, common.col]).astype(np.int64))
    c = torch.sparse_coo_tensor(idx, torch.from_numpy(common.data.astype(np.float32)), size=common.shape,
                                check_invariants=False)
    return PairStructure(torch.from_numpy(feats), c.coalesce())
