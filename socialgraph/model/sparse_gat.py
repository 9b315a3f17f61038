"""GAT attention aggregated by sparse-matrix products instead of per-edge messages.

PyG's :class:`~torch_geometric.nn.GATConv` computes, for every edge :math:`j \\to i` and head :math:`k`, the
message :math:`\\alpha^k_{ij} W^k h_j` as a row of an ``[E, H, C]`` tensor and sums those rows per target. Without
``pyg-lib`` or ``torch-sparse`` that costs several passes over ``E * H * C`` floats forward and backward (gathers,
products, scatters, and zero-filling freshly allocated memory), which were two thirds of a training step on
musae-facebook. The same sum is a sparse-dense product per head,

.. math::
    \\mathrm{out}^k = A^k \\, (X W^k), \\qquad A^k_{ij} = \\alpha^k_{ij},

whose gradients are again a sparse-dense product (:math:`\\partial X W^k = (A^k)^\\top \\partial \\mathrm{out}^k`)
and a sampled dense-dense product (:math:`\\partial \\alpha^k_{ij} = \\langle \\partial \\mathrm{out}^k_i,
(X W^k)_j \\rangle` at the edges only, :func:`torch.sparse.sampled_addmm`). Only ``[E, H]`` tensors are formed.

:class:`SparseGATConv` is a :class:`~torch_geometric.nn.GATConv` (same parameters, so the weights of either load
into the other) that takes this path for the case training uses: one float32 feature matrix on the CPU, its own
self-loops, concatenated heads, no edge features, no attention weights asked for. Anything else (bipartite
item-user layers, explanations that read the attention, CUDA, autocast) runs PyG's implementation.
"""
from __future__ import annotations

import warnings
from typing import NamedTuple

import torch
from torch import Tensor
from torch.nn import functional as F
from torch_geometric.nn import GATConv
from torch_geometric.utils import add_self_loops, remove_self_loops, softmax


class TargetCSR(NamedTuple):
    """The edges of a square graph sorted by target then source, as CSR rows by target (``crow``, ``src``), and
    the same edges by source (``t_perm`` reorders target-sorted edge values into source order, ``t_crow``,
    ``t_col``) for the transposed product."""

    src: Tensor
    dst: Tensor
    crow: Tensor
    t_perm: Tensor
    t_crow: Tensor
    t_col: Tensor

    @classmethod
    def build(cls, edge_index: Tensor, num_nodes: int) -> "TargetCSR":
        src, dst = edge_index
        order = torch.argsort(dst * num_nodes + src)
        src, dst = src[order], dst[order]
        t_perm = torch.argsort(src * num_nodes + dst)
        return cls(src, dst, _csr_rows(dst, num_nodes), t_perm, _csr_rows(src[t_perm], num_nodes), dst[t_perm])


def _csr_rows(sorted_rows: Tensor, n: int) -> Tensor:
    return torch._convert_indices_from_coo_to_csr(sorted_rows, n)


def _csr(crow: Tensor, col: Tensor, values: Tensor, n: int) -> Tensor:
    # The indices come from TargetCSR.build, valid by construction; torch's invariant check would only cost time.
    # Torch calls its CSR support beta; these products are exact against PyG's GATConv (tests/test_sparse_gat.py).
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta", category=UserWarning)
        return torch.sparse_csr_tensor(crow, col, values, (n, n), check_invariants=False)


class _AttentionSum(torch.autograd.Function):
    """``out[i, k] = sum over edges e into i of alpha[e, k] * x[src_e, k]`` for ``alpha [E, H]`` (edges in
    :class:`TargetCSR` order) and ``x [N, H, C]``."""

    @staticmethod
    def forward(ctx, alpha: Tensor, x: Tensor, g: TargetCSR) -> Tensor:
        n = x.shape[0]
        out = torch.stack([_csr(g.crow, g.src, alpha[:, k].contiguous(), n) @ x[:, k].contiguous()
                           for k in range(x.shape[1])], 1)
        ctx.save_for_backward(alpha, x)
        ctx.graph = g
        return out

    @staticmethod
    def backward(ctx, grad: Tensor):
        alpha, x = ctx.saved_tensors
        g: TargetCSR = ctx.graph
        n = x.shape[0]
        grad_alpha = grad_x = None
        if ctx.needs_input_grad[1]:
            grad_x = torch.stack([_csr(g.t_crow, g.t_col, alpha[g.t_perm, k].contiguous(), n) @ grad[:, k].contiguous()
                                  for k in range(x.shape[1])], 1)
        if ctx.needs_input_grad[0]:
            pattern = _csr(g.crow, g.src, alpha.new_zeros(len(g.src)), n)
            grad_alpha = torch.stack([
                torch.sparse.sampled_addmm(pattern, grad[:, k].contiguous(), x[:, k].t().contiguous(),
                                           beta=0.0).values()
                for k in range(x.shape[1])], 1)
        return grad_alpha, grad_x, None


class SparseGATConv(GATConv):
    """:class:`~torch_geometric.nn.GATConv` whose aggregation runs as sparse-matrix products on the CPU (see the
    module docstring); same arguments, parameters and outputs."""

    def _fast_path(self, x, edge_index, edge_attr, size, return_attention_weights) -> bool:
        return (isinstance(x, Tensor) and x.shape[0] > 0 and x.device.type == "cpu" and x.dtype == torch.float32
                and isinstance(edge_index, Tensor) and edge_index.layout == torch.strided
                and edge_attr is None and size is None and return_attention_weights is None
                and self.add_self_loops and self.concat and self.lin is not None and self.res is None
                and not torch.is_autocast_enabled("cpu"))

    def forward(self, x, edge_index, edge_attr=None, size=None, return_attention_weights=None):
        if not self._fast_path(x, edge_index, edge_attr, size, return_attention_weights):
            return super().forward(x, edge_index, edge_attr, size, return_attention_weights)
        H, C, n = self.heads, self.out_channels, x.shape[0]
        h = self.lin(x).view(-1, H, C)
        edge_index, _ = remove_self_loops(edge_index)
        edge_index, _ = add_self_loops(edge_index, num_nodes=n)
        g = TargetCSR.build(edge_index, n)
        a_src, a_dst = (h * self.att_src).sum(-1), (h * self.att_dst).sum(-1)
        alpha = F.leaky_relu(a_src.index_select(0, g.src) + a_dst.index_select(0, g.dst), self.negative_slope)
        alpha = softmax(alpha, g.dst, ptr=g.crow, num_nodes=n)
        alpha = F.dropout(alpha, p=self.dropout, training=self.training)
        out = _AttentionSum.apply(alpha, h, g).reshape(n, H * C)
        return out if self.bias is None else out + self.bias


__all__ = ["SparseGATConv", "TargetCSR"]
