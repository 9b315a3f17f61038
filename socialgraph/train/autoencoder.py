"""Fitting the graph autoencoder (:mod:`socialgraph.model.autoencoder`) whose states join the users' positions.

:func:`fit_graph_autoencoder` is the one training loop of graph autoencoders: the positions below and the plain
GCN / SAGE baseline (:func:`socialgraph.bench.gae.fit_gae`) both train through it.

The autoencoder trains on its own, full-batch, with binary cross-entropy of :math:`g_u^\\top g_v` against as many
uniform non-edges (PyG ``negative_sampling``) as training friendships, every one of those friendships in the graph it
convolves over; with validation pairs, the weights with the best validation Hits@50 are kept.

Its states are appended to the spectral positions that the link scorer reads as products :math:`p_u \\odot p_v`
(:mod:`~socialgraph.model.heads.link`), so the scorer learns how much the autoencoder's opinion is worth for each kind
of pair (by degree, by common neighbours) instead of adding it with one global weight. As with the spectral
positions, a training step must read states in which its own targets played no part: trained with its targets
visible, the autoencoder scores every training friendship highly, and a scorer that learned from that would trust
it far more than test pairs deserve. So each step fold gets an autoencoder trained without that fold, its states
rotated onto those of the autoencoder of all training friendships (orthogonal Procrustes,
:func:`~socialgraph.model.spectral.align`), which validation and prediction read.

Measured through ``lp_check.py`` on Last.fm (``docs/experiments.md``, rounds 10 and 11): test Hits@50 0.320 / 0.301 /
0.299 over training seeds 0 / 1 / 2, against 0.297 / 0.301 / 0.297 without (a prototype reached 0.315 / 0.312 /
0.316); the other social graphs do not move. Adding the autoencoder's score to the logit with a weight chosen on
validation pairs instead reached 0.304 / 0.313 / 0.293: half a validation slice is too few pairs to choose that
weight.
"""
from __future__ import annotations

import random
from typing import Optional

import numpy as np
import torch
from torch.nn import functional as F
from tqdm.auto import tqdm

from socialgraph.eval.link import evaluate_link_scores
from socialgraph.model.autoencoder import GraphAutoencoder, undirected_edge_index
from socialgraph.model.spectral import align
from socialgraph.train.early_stopping import EarlyStopping

_NO_PAIRS = np.zeros((0, 2), dtype=np.int64)


def fit_graph_autoencoder(num_nodes: int, train: np.ndarray, val: np.ndarray, val_neg: np.ndarray, *,
                          conv: str = "gcn", dim: int = 64, epochs: int = 300, lr: float = 0.01,
                          eval_every: int = 10, seed: int = 0, progress: bool = False) -> GraphAutoencoder:
    """Train a :class:`GraphAutoencoder` on the undirected ``train`` pairs (message passing over all of them).

    With validation pairs, the weights of the evaluation with the best Hits@50 of ``val`` against ``val_neg`` are
    returned; otherwise the last ones. PyG's ``negative_sampling`` draws with Python's :mod:`random`, so it is
    seeded as well as torch: the same seed gives the same model whatever ran before in the process.
    """
    from torch_geometric.utils import negative_sampling

    torch.manual_seed(seed)
    random.seed(seed)
    model = GraphAutoencoder(num_nodes, dim, conv)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    ei = undirected_edge_index(train)
    pos = torch.from_numpy(np.ascontiguousarray(np.asarray(train, dtype=np.int64).reshape(-1, 2)))
    val_t, neg_t = (torch.from_numpy(np.asarray(p, dtype=np.int64).reshape(-1, 2)) for p in (val, val_neg))
    keep = EarlyStopping()  # no patience: every epoch runs, the best evaluation's weights are kept
    for epoch in tqdm(range(epochs), desc=f"{conv}-gae", disable=not progress, leave=False):
        model.train()
        opt.zero_grad()
        z = model(ei)
        neg = negative_sampling(ei, num_nodes=num_nodes, num_neg_samples=len(pos)).t()
        lp, ln = model.score(z, pos), model.score(z, neg)
        loss = F.binary_cross_entropy_with_logits(torch.cat([lp, ln]),
                                                  torch.cat([torch.ones_like(lp), torch.zeros_like(ln)]))
        loss.backward()
        opt.step()
        if len(val_t) and ((epoch + 1) % eval_every == 0 or epoch + 1 == epochs):
            model.eval()
            with torch.no_grad():
                z = model(ei)
            keep.update(evaluate_link_scores(model.score(z, val_t).numpy(), model.score(z, neg_t).numpy(),
                                             ks=(50,))["hits@50"], model)
    keep.restore(model)
    return model.eval()


@torch.no_grad()
def autoencoder_states(model: GraphAutoencoder, pairs: np.ndarray) -> torch.Tensor:
    """States ``[num_nodes, dim]`` of a trained autoencoder convolving over the undirected ``pairs``."""
    return model.eval()(undirected_edge_index(pairs))


def autoencoder_positions(train: np.ndarray, num_nodes: int, dim: int, *, val: Optional[np.ndarray] = None,
                          val_neg: Optional[np.ndarray] = None, rms: float = 1.0, epochs: int = 300, seed: int = 0,
                          progress: bool = False) -> np.ndarray:
    """float32 ``[n, dim]`` states of an autoencoder trained on (and convolving over) the ``train`` friendships,
    scaled so that their root mean square entry is ``rms`` (the spectral positions' own, so both parts of the
    positions start on the same footing)."""
    model = fit_graph_autoencoder(num_nodes, train, _NO_PAIRS if val is None else val,
                                  _NO_PAIRS if val_neg is None else val_neg, dim=dim, epochs=epochs, seed=seed,
                                  progress=progress)
    g = autoencoder_states(model, train).numpy().astype(np.float64)
    size = _rms(g)
    return (g * (rms / size if size > 0 else 1.0)).astype(np.float32)


def held_out_autoencoder_positions(edges: np.ndarray, num_nodes: int, folds: np.ndarray, reference: np.ndarray, *,
                                   val: Optional[np.ndarray] = None, val_neg: Optional[np.ndarray] = None,
                                   epochs: int = 300, seed: int = 0, progress: bool = False) -> np.ndarray:
    """float32 ``[F, n, d]``: for each fold ``f`` of the training ``edges`` (``folds[e]`` in ``0..F-1``), the
    :func:`autoencoder_positions` of the graph without that fold, rotated onto ``reference`` (those of the whole
    graph) and scaled like it."""
    rms = _rms(reference)
    out = np.empty((int(folds.max()) + 1, num_nodes, reference.shape[1]), dtype=np.float32)
    for f in tqdm(range(out.shape[0]), desc="autoencoder folds", disable=not progress, leave=False):
        g = autoencoder_positions(edges[folds != f], num_nodes, reference.shape[1], val=val, val_neg=val_neg,
                                  rms=rms, epochs=epochs, seed=seed)
        out[f] = align(g, reference)
    return out


def _rms(x: np.ndarray) -> float:
    """Root mean square entry of ``x`` (in float64)."""
    return float(np.sqrt(np.mean(np.asarray(x, dtype=np.float64) ** 2)))
