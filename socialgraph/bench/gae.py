"""Plain PyG graph autoencoders as link-prediction baselines (the reference GAE of ``peer_baselines.gae``).

Learned node embeddings ``X`` (no input features), two convolutions (``GCNConv`` or ``SAGEConv``) with a ReLU between,
and a dot-product decoder :math:`s(u, v) = z_u^\\top z_v` (:class:`~socialgraph.model.autoencoder.GraphAutoencoder`),
trained full-batch by :func:`~socialgraph.train.autoencoder.fit_graph_autoencoder`, which keeps the weights with the
best validation Hits@50. At scoring time messages pass over ``observed`` edges.
"""
from __future__ import annotations

from typing import Callable, Optional

import numpy as np
import torch

from socialgraph.train.autoencoder import autoencoder_states, fit_graph_autoencoder
from socialgraph.train.runtime import torch_settings


def fit_gae(num_nodes: int, train: np.ndarray, val: np.ndarray, val_neg: np.ndarray, *, conv: str = "gcn",
            dim: int = 64, epochs: int = 300, lr: float = 0.01, eval_every: int = 10, seed: int = 0,
            progress: bool = False) -> Callable[[np.ndarray, Optional[np.ndarray]], np.ndarray]:
    """Train a graph autoencoder on ``train`` pairs; returns ``score(pairs, observed)`` (dot products of node states
    computed over ``observed`` pairs, default ``train``). Both run with deterministic algorithms, so that a baseline
    repeats as exactly as the model beside it."""
    with torch_settings():
        model = fit_graph_autoencoder(num_nodes, train, val, val_neg, conv=conv, dim=dim, epochs=epochs, lr=lr,
                                      eval_every=eval_every, seed=seed, progress=progress)

    def score(pairs: np.ndarray, observed: Optional[np.ndarray] = None) -> np.ndarray:
        with torch_settings():
            z = autoencoder_states(model, train if observed is None else observed)
            return model.score(z, torch.from_numpy(np.asarray(pairs, dtype=np.int64).reshape(-1, 2))).numpy()

    return score
