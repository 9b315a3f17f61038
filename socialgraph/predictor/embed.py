"""User (and item) states after message passing, computed layer by layer in blocks of destination users.

A full-graph forward pass of an attention GNN holds one ``[num_edges, dim]`` tensor per head and layer, which does
not fit a laptop for a graph of a million users. Layer-wise inference computes layer ``l`` for a block of users
from the layer ``l-1`` states of the block and its neighbours only: the block's users come first among the local
nodes, so their self-loops and incoming edges are exactly those of the full graph and their outputs are exact
(the other local nodes' outputs, which lack some incoming edges, are thrown away). Peak memory is then the states
``[num_users, dim]`` plus one block's edges.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
import scipy.sparse as sp
import torch

from socialgraph.model.graph_encoder import FRIEND
from socialgraph.model.social_model import NodeInputs, SocialModel
from socialgraph.predictor.device import edges_to, model_device

#: below this many users the whole-graph forward pass is cheap and used as is
LAYERWISE_MIN_USERS = 100_000


@torch.no_grad()
def input_states(model: SocialModel, users: NodeInputs, block: int = 65536) -> torch.Tensor:
    """Fused input states ``[n, dim]`` of all users, in blocks (fusion stacks ``[block, M+1, dim]``), on the
    model's device (``users`` must be there too)."""
    device = model_device(model)
    out = torch.empty(users.num, model.config.dim, device=device)
    for s in range(0, users.num, block):
        rows = torch.arange(s, min(s + block, users.num), device=device)
        out[rows] = model.input_states(users.rows(rows), user_rows=rows)["user"]
    return out


@torch.no_grad()
def layerwise_user_states(model: SocialModel, users: NodeInputs, adjacency: sp.csr_matrix,
                          block: int = 16384, progress: bool = False) -> torch.Tensor:
    """Exact user states after message passing over ``adjacency`` (symmetric CSR), ``block`` users at a time.

    Only for homogeneous models (items are not nodes); heterogeneous ones need the whole-graph forward pass.
    The states are computed on the model's device (``users`` must be there too); the graph stays on the CPU and
    each block's edges are moved.
    """
    if model.hetero:
        raise ValueError("layer-wise inference covers user-only message passing; this model has item nodes")
    model.eval()
    device = model_device(model)
    adj = sp.csr_matrix(adjacency)
    n = adj.shape[0]
    h = input_states(model, users)
    layers = range(len(model.encoder.convs))
    if progress:
        from tqdm.auto import tqdm

        layers = tqdm(layers, desc="embed users (layers)", unit="layer")
    for layer in layers:
        nxt = torch.empty_like(h)
        for s in range(0, n, block):
            dst = np.arange(s, min(s + block, n))
            sub = adj[dst].tocoo()
            src = sub.col.astype(np.int64)
            others = np.setdiff1d(np.unique(src), dst, assume_unique=False)
            local_nodes = np.r_[dst, others]
            # Local ids: the block's users first (0..b-1), then the other sources.
            order = np.argsort(local_nodes)
            pos = order[np.searchsorted(local_nodes[order], src)]
            # messages flow source -> target
            ei = torch.from_numpy(np.stack([pos, sub.row.astype(np.int64)])).to(device)
            x = h[torch.from_numpy(local_nodes).to(device)]
            out = model.encoder.layer(layer, {"user": x}, {FRIEND: ei})["user"]
            nxt[s:s + len(dst)] = out[:len(dst)]
        h = nxt
    return h


@torch.no_grad()
def node_states(model: SocialModel, users: NodeInputs, items: Optional[NodeInputs], adjacency: sp.csr_matrix,
                edge_index_fn, layerwise: Optional[bool] = None) -> dict[str, torch.Tensor]:
    """``{"user": [n, dim], "item": [m, dim]}``: layer-wise for big user-only graphs, whole-graph otherwise.

    Computed on the model's device: ``users`` and ``items`` must be there (the predictor moves them once); the edge
    index ``edge_index_fn()`` builds on the CPU is moved."""
    n = users.num
    use = layerwise if layerwise is not None else (n >= LAYERWISE_MIN_USERS and not model.hetero)
    if not use:
        model.eval()
        return model(users, edges_to(edge_index_fn(), model_device(model)), items)
    out = {"user": layerwise_user_states(model, users, adjacency)}
    if items is not None and model.shape.num_items:
        out["item"] = model.input_states(users.rows(torch.arange(0, device=model_device(model))), items)["item"]
    return out
