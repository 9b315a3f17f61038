"""Attention message passing over the social graph.

Each layer :math:`\\ell` updates user (and item) states with a multi-head attention convolution and a residual:

.. math::
    h^{(\\ell+1)}_i = \\mathrm{LN}\\Big(h^{(\\ell)}_i + \\mathrm{Dropout}\\big(\\sigma\\big(
        \\Vert_{k=1}^{K} \\sum_{j \\in N(i) \\cup \\{i\\}} \\alpha^{k}_{ij} W^{k} h^{(\\ell)}_j\\big)\\big)\\Big)

with GATv2 attention :math:`\\alpha_{ij} = \\mathrm{softmax}_j\\, a^\\top \\mathrm{LeakyReLU}(W [h_i \\Vert h_j])`
(``conv="gatv2"``), GAT's :math:`\\alpha_{ij} = \\mathrm{softmax}_j\\, \\mathrm{LeakyReLU}(a^\\top [W h_i \\Vert W h_j])`
(``conv="gat"``: the score splits into a per-node term for each end, so no per-edge vector is formed, and
:class:`~socialgraph.model.sparse_gat.SparseGATConv` sums the messages as sparse-matrix products), scaled
dot-product attention (``conv="transformer"``), or a plain mean (``conv="mean"``, the
ablation without attention). When content items are nodes too the same layer runs heterogeneously over
``user-friend-user``, ``user-engages-item`` and ``item-rev_engages-user`` (PyG ``HeteroConv``, summed per node type).
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor, nn
from torch_geometric.nn import GATConv, GATv2Conv, HeteroConv, SAGEConv, TransformerConv

from socialgraph.model.sparse_gat import SparseGATConv

FRIEND = ("user", "friend", "user")
ENGAGES = ("user", "engages", "item")
REV_ENGAGES = ("item", "rev_engages", "user")


def _conv(kind: str, dim: int, heads: int, dropout: float, bipartite: bool) -> nn.Module:
    if kind == "gatv2":
        return GATv2Conv(dim, dim // heads, heads=heads, dropout=dropout, add_self_loops=not bipartite)
    if kind == "gat":
        return SparseGATConv(dim, dim // heads, heads=heads, dropout=dropout, add_self_loops=not bipartite)
    if kind == "transformer":
        return TransformerConv(dim, dim // heads, heads=heads, dropout=dropout, root_weight=True)
    if kind == "mean":
        return SAGEConv(dim, dim, aggr="mean")
    raise ValueError(f"unknown convolution {kind!r}: expected 'gat', 'gatv2', 'transformer' or 'mean'")


class GraphEncoder(nn.Module):
    """A residual stack of attention convolutions, homogeneous (users only) or heterogeneous (users and items).

    Args:
        dim: hidden size of node states (divisible by ``heads``).
        num_layers: message-passing layers.
        heads: attention heads per layer.
        conv: ``"gat"`` (the configuration's default), ``"gatv2"``, ``"transformer"`` or ``"mean"``.
        dropout: dropout on attention weights and layer outputs.
        hetero: whether items are nodes with engagement edges.
    """

    def __init__(self, dim: int, num_layers: int = 2, heads: int = 2, conv: str = "gatv2", dropout: float = 0.1,
                 hetero: bool = False) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim={dim} must be divisible by heads={heads}")
        self.hetero = hetero
        self.dropout = dropout
        self.convs = nn.ModuleList()
        self.norms = nn.ModuleList()
        for _ in range(num_layers):
            if hetero:
                self.convs.append(HeteroConv({
                    FRIEND: _conv(conv, dim, heads, dropout, bipartite=False),
                    ENGAGES: _conv(conv, dim, heads, dropout, bipartite=True),
                    REV_ENGAGES: _conv(conv, dim, heads, dropout, bipartite=True),
                }, aggr="sum"))
                self.norms.append(nn.ModuleDict({"user": nn.LayerNorm(dim), "item": nn.LayerNorm(dim)}))
            else:
                self.convs.append(_conv(conv, dim, heads, dropout, bipartite=False))
                self.norms.append(nn.LayerNorm(dim))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for conv in self.convs:
            conv.reset_parameters()
        for norm in self.norms:
            for m in (norm.values() if isinstance(norm, nn.ModuleDict) else [norm]):
                m.reset_parameters()

    def layer(self, i: int, h: dict[str, Tensor], edge_index: dict[tuple, Tensor]) -> dict[str, Tensor]:
        """Apply layer ``i``: attention convolution, ReLU, dropout, residual, LayerNorm."""
        conv, norm = self.convs[i], self.norms[i]
        if self.hetero:
            out = conv(h, edge_index)
        else:
            out = {"user": conv(h["user"], edge_index[FRIEND])}
        drop = nn.functional.dropout
        return {t: ((norm[t] if self.hetero else norm)(h[t] + drop(torch.relu(out[t]), self.dropout, self.training))
                    if t in out else h[t]) for t in h}

    def forward(self, x: dict[str, Tensor], edge_index: dict[tuple, Tensor]) -> dict[str, Tensor]:
        """Node states after message passing. ``x`` maps node type to ``[n, dim]``; ``edge_index`` maps edge type
        to ``[2, E]`` (both directions for friendships)."""
        h = dict(x)
        for i in range(len(self.convs)):
            h = self.layer(i, h, edge_index)
        return h

    def friend_attention(self, x: dict[str, Tensor], edge_index: dict[tuple, Tensor],
                         layer: int = -1) -> Optional[tuple[Tensor, Tensor]]:
        """Friend-edge attention of one layer as ``(edge_index [2, E'], alpha [E', heads])`` (self-loops included),
        for explanations; ``None`` when the convolution has no attention (``conv="mean"``)."""
        layer = layer % len(self.convs)
        h = dict(x)
        for i in range(layer):
            h = self.layer(i, h, edge_index)
        conv = self.convs[layer].convs[FRIEND] if self.hetero else self.convs[layer]
        if not isinstance(conv, (GATConv, GATv2Conv, TransformerConv)):
            return None
        _, (ei, alpha) = conv(h["user"], edge_index[FRIEND], return_attention_weights=True)
        return ei, alpha
