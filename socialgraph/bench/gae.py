"""Plain PyG graph autoencoders as link-prediction baselines (the reference GAE of ``peer_baselines.gae``).

Learned node embeddings ``X`` (no input features), two convolutions (``GCNConv`` or ``SAGEConv``) with a ReLU between,
and a dot-product decoder :math:`s(u, v) = z_u^\\top z_v`. Trained full-batch with binary cross-entropy against as many
uniformly sampled non-edges (PyG ``negative_sampling``) as positives; the weights with the best validation Hits@50
(checked every ``eval_every`` epochs) are kept. At scoring time messages pass over ``observed`` edges.

PyG's ``negative_sampling`` draws with Python's :mod:`random`, so :func:`fit_gae` seeds it as well as torch: the same
seed gives the same baseline whatever ran before it in the process.
"""
from __future__ import annotations

import random
from typing import Callable, Optional

import numpy as np
import torch
from torch.nn import functional as F
from tqdm.auto import tqdm

from socialgraph.data.protocol import evaluate_link_scores


def _edge_index(pairs: np.ndarray) -> torch.Tensor:
    p = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    return torch.from_numpy(np.ascontiguousarray(np.r_[p, p[:, ::-1]].T))


class GraphAutoencoder(torch.nn.Module):
    """``Embedding(n, dim)`` -> conv -> ReLU -> conv; ``conv`` is ``"gcn"`` or ``"sage"``."""

    def __init__(self, num_nodes: int, dim: int = 64, conv: str = "gcn") -> None:
        super().__init__()
        from torch_geometric.nn import GCNConv, SAGEConv

        layer = {"gcn": GCNConv, "sage": SAGEConv}[conv]
        self.emb = torch.nn.Embedding(num_nodes, dim)
        self.c1, self.c2 = layer(dim, dim), layer(dim, dim)

    def forward(self, edge_index: torch.Tensor) -> torch.Tensor:
        return self.c2(torch.relu(self.c1(self.emb.weight, edge_index)), edge_index)


def fit_gae(num_nodes: int, train: np.ndarray, val: np.ndarray, val_neg: np.ndarray, *, conv: str = "gcn",
            dim: int = 64, epochs: int = 300, lr: float = 0.01, eval_every: int = 10, seed: int = 0,
            progress: bool = False) -> Callable[[np.ndarray, Optional[np.ndarray]], np.ndarray]:
    """Train a graph autoencoder on ``train`` pairs; returns ``score(pairs, observed)`` (dot products of node states
    computed over ``observed`` pairs, default ``train``)."""
    from torch_geometric.utils import negative_sampling

    torch.manual_seed(seed)
    random.seed(seed)  # negative_sampling's sparse path draws with random.sample
    model = GraphAutoencoder(num_nodes, dim, conv)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    ei = _edge_index(train)
    pos = torch.from_numpy(np.asarray(train, dtype=np.int64).T.copy())
    best, best_state = -1.0, None
    for epoch in tqdm(range(epochs), desc=f"{conv}-gae", disable=not progress, leave=False):
        model.train()
        opt.zero_grad()
        z = model(ei)
        neg = negative_sampling(ei, num_nodes=num_nodes, num_neg_samples=pos.size(1))
        lp = (z[pos[0]] * z[pos[1]]).sum(-1)
        ln = (z[neg[0]] * z[neg[1]]).sum(-1)
        loss = F.binary_cross_entropy_with_logits(torch.cat([lp, ln]),
                                                  torch.cat([torch.ones_like(lp), torch.zeros_like(ln)]))
        loss.backward()
        opt.step()
        if len(val) and ((epoch + 1) % eval_every == 0 or epoch + 1 == epochs):
            model.eval()
            with torch.no_grad():
                z = model(ei)
            h = evaluate_link_scores(_dot(z, val), _dot(z, val_neg), ks=(50,))["hits@50"]
            if h > best:
                best, best_state = h, {k: v.clone() for k, v in model.state_dict().items()}
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()

    def score(pairs: np.ndarray, observed: Optional[np.ndarray] = None) -> np.ndarray:
        with torch.no_grad():
            z = model(_edge_index(train if observed is None else observed))
        return _dot(z, pairs)

    return score


def _dot(z: torch.Tensor, pairs: np.ndarray) -> np.ndarray:
    p = torch.from_numpy(np.asarray(pairs, dtype=np.int64).reshape(-1, 2))
    return (z[p[:, 0]] * z[p[:, 1]]).sum(-1).numpy()
