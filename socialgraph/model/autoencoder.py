"""Graph autoencoder over learned user vectors: a transductive view of where users sit in the friend graph.

Kipf & Welling's GAE (2016) without input features: every user has a free vector :math:`x_u`, two graph
convolutions with a ReLU between turn them into states

.. math::
    g = \\hat A\\, \\mathrm{ReLU}(\\hat A X W_1)\\, W_2, \\qquad \\hat A = D^{-1/2} (A + I) D^{-1/2},

and a pair scores :math:`g_u^\\top g_v`. Unlike the attention encoder, it is trained with every training friendship
in the graph it convolves over (a step's targets stay visible), so the states are a smoothed low-rank
factorisation of the friend graph: they place two users close when their neighbourhoods overlap at any distance,
so it reaches friendships that local structure ranks low. On Last.fm this plain model alone ranks friendships
about as well as the full scorer (test Hits@50 0.30 to 0.32 over three seeds against 0.30 through ``lp_check.py``),
and about a fifth of the friendships each ranks in its top 50 are ones the other misses. The link scorer can read
its states beside the spectral positions (``model.link_autoencoder``; :mod:`socialgraph.train.autoencoder`).
"""
from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn


def undirected_edge_index(pairs: np.ndarray) -> Tensor:
    """PyG ``edge_index`` ``[2, 2E]`` of undirected pairs ``[E, 2]`` (both directions)."""
    p = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    return torch.from_numpy(np.ascontiguousarray(np.r_[p, p[:, ::-1]].T))


class GraphAutoencoder(nn.Module):
    """``Embedding(num_nodes, dim)`` -> conv -> ReLU -> conv; ``conv`` is ``"gcn"`` or ``"sage"``.

    ``forward(edge_index)`` returns the node states ``[num_nodes, dim]``; :meth:`score` the dot products of pairs.
    """

    def __init__(self, num_nodes: int, dim: int = 64, conv: str = "gcn") -> None:
        super().__init__()
        from torch_geometric.nn import GCNConv, SAGEConv

        if conv not in ("gcn", "sage"):
            raise ValueError(f"conv must be 'gcn' or 'sage', got {conv!r}")
        layer = {"gcn": GCNConv, "sage": SAGEConv}[conv]
        self.emb = nn.Embedding(num_nodes, dim)
        self.c1, self.c2 = layer(dim, dim), layer(dim, dim)  # each module initialises itself on construction

    def reset_parameters(self) -> None:
        self.emb.reset_parameters()
        self.c1.reset_parameters()
        self.c2.reset_parameters()

    def forward(self, edge_index: Tensor) -> Tensor:
        return self.c2(torch.relu(self.c1(self.emb.weight, edge_index)), edge_index)

    @staticmethod
    def score(states: Tensor, pairs: Tensor) -> Tensor:
        """:math:`g_u^\\top g_v` for the rows of ``pairs`` ``[B, 2]``."""
        return (states[pairs[:, 0]] * states[pairs[:, 1]]).sum(-1)
