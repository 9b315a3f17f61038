"""Spectral positions: they are the normalised adjacency's leading eigenvectors, the positions a training step
reads were computed without the step's targets, and new users take their friends' mean position."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components
import torch

from shipped import core_graph, pick
from socialgraph.config import from_dict
from socialgraph.data import load
from socialgraph.data.protocol import benchmark_split
from socialgraph.data.adjacency import adjacency_from_edges
from socialgraph.model.pairwise import pair_structure
from socialgraph.model.social_model import NodeInputs
from socialgraph.model.spectral import align, extend_positions, held_out_positions, spectral_positions
from socialgraph.bundle.config import Config
from socialgraph.train.links import LinkData
from socialgraph.train.trainer import Trainer


def _normalised(adj: sp.csr_matrix) -> np.ndarray:
    d = np.asarray(adj.sum(1)).ravel()
    inv = np.where(d > 0, 1 / np.sqrt(np.maximum(d, 1)), 0.0)
    return (sp.diags(inv) @ adj @ sp.diags(inv)).toarray()


def _projector(p: np.ndarray) -> np.ndarray:
    q = p.astype(np.float64) / np.sqrt(len(p))
    return q @ q.T


def _graph(name: str):
    """A registry dataset, or ``NAME-coreN``: N users of a shipped graph (see tests/shipped.py)."""
    if "-core" in name:
        base, size = name.rsplit("-core", 1)
        return core_graph(base, int(size))
    return load(name)


# The dense solver (USAir 332 users, 400 Facebook pages) and Lanczos (Last.fm 1,892 users, 1,800 Facebook pages).
@pytest.mark.parametrize("name", [pick("seal-usair", "musae-facebook-core400"),
                                  pick("lastfm-hetrec-2k", "musae-facebook-core1800")])
def test_positions_are_the_leading_eigenvectors(name):
    graph = _graph(name)
    adj = adjacency_from_edges(graph.friends, graph.num_users)
    p = spectral_positions(adj, 8)
    assert p.shape == (graph.num_users, 8) and p.dtype == np.float32
    _, label = connected_components(adj, directed=False)
    main = label == np.bincount(label).argmax()
    assert np.all(p[~main] == 0) and np.all(np.abs(p[main]).sum(1) > 0)
    q = p[main].astype(np.float64) / np.sqrt(main.sum())
    np.testing.assert_allclose(q.T @ q, np.eye(8), atol=1e-4)  # orthonormal columns
    norm = _normalised(adj[main][:, main])
    lam = np.diag(q.T @ norm @ q)
    np.testing.assert_allclose(norm @ q, q * lam, atol=1e-4)  # eigenvectors ...
    top = np.sort(np.linalg.eigvalsh(norm))[::-1][:8]
    np.testing.assert_allclose(np.sort(lam)[::-1], top, atol=1e-4)  # ... of the 8 largest eigenvalues
    assert np.array_equal(p, spectral_positions(adj, 8))  # deterministic


def test_small_graphs_and_bad_width():
    adj = adjacency_from_edges(np.array([[0, 1], [1, 2], [3, 4]]), 6)
    p = spectral_positions(adj, 6)
    assert p.shape == (6, 6) and np.all(p[:, 2:] == 0)  # size - 1 columns at most
    assert np.all(np.abs(p[:3, :2]).sum(1) > 0) and np.all(p[3:] == 0)  # only the largest component has positions
    with pytest.raises(ValueError, match="k must be >= 1"):
        spectral_positions(adj, 0)


def test_alignment_undoes_a_rotation():
    rng = np.random.default_rng(0)
    p = rng.standard_normal((200, 6)).astype(np.float32)
    rotation, _ = np.linalg.qr(rng.standard_normal((6, 6)))
    np.testing.assert_allclose(align(p @ rotation.astype(np.float32), p), p, atol=1e-4)


@pytest.mark.parametrize("name", [pick("seal-usair", "musae-facebook-core300")])
def test_held_out_positions_ignore_their_fold(name):
    """Fold ``f``'s positions span exactly the eigenvectors of the graph without fold ``f``: replacing that fold's
    friendships by others changes nothing in them (up to the rotation onto the whole graph's basis)."""
    graph = _graph(name)
    edges, n = graph.friends, graph.num_users
    folds = np.random.default_rng(0).integers(0, 4, len(edges))
    full = spectral_positions(adjacency_from_edges(edges, n), 6)
    held = held_out_positions(edges, n, folds, full)
    assert held.shape == (4, n, 6)
    for f in range(4):
        without = spectral_positions(adjacency_from_edges(edges[folds != f], n), 6)
        np.testing.assert_allclose(_projector(held[f]), _projector(without), atol=1e-4)
    assert np.abs(_projector(held[0]) - _projector(full)).max() > 1e-3  # the fold's edges do move positions
    other = edges.copy()
    other[folds == 0] = np.random.default_rng(1).integers(0, n, (int((folds == 0).sum()), 2))
    np.testing.assert_allclose(_projector(held_out_positions(other, n, folds, full)[0]), _projector(held[0]),
                               atol=1e-4)


def test_new_users_take_their_friends_mean_position():
    p = np.arange(12, dtype=np.float32).reshape(4, 3)
    np.testing.assert_array_equal(extend_positions(p, [0, 2]), (p[0] + p[2]) / 2)
    np.testing.assert_array_equal(extend_positions(p, []), np.zeros(3))


@pytest.mark.parametrize("name", [pick("seal-usair", "musae-facebook-core300")])
def test_training_steps_read_positions_without_their_targets(name, monkeypatch):
    from socialgraph.train import trainer as trainer_module

    graph = _graph(name)
    split = benchmark_split(graph, seed=0)
    seen = []
    real = trainer_module.training_step

    def spy(ctx, users, idx, rng):
        seen.append((users.positions.numpy().copy(), ctx.train[idx].copy()))
        return real(ctx, users, idx, rng)

    monkeypatch.setattr(trainer_module, "training_step", spy)
    config = from_dict(Config, {"train": {"epochs": 2, "eval_every": 1}, "model": {"dim": 16, "heads": 1,
                                                                                   "link_spectral": 6}})
    fitted = Trainer(config, progress=False).fit(graph, LinkData(split.train, split.val))
    n = graph.num_users
    # A step takes a tenth of the training friendships, at least 256 (Config.train.batch_size's rule).
    steps = int(np.ceil(len(split.train) / max(256, np.ceil(len(split.train) / 10))))
    assert len(seen) == 2 * steps
    assert len({tuple(t[0]) for _, t in seen}) == steps  # the same folds in both epochs
    for positions, targets in seen[:steps]:
        target_keys = set(map(tuple, np.sort(targets, 1).tolist()))
        rest = np.array([e for e in np.sort(split.train, 1).tolist() if tuple(e) not in target_keys])
        np.testing.assert_allclose(_projector(positions),
                                   _projector(spectral_positions(adjacency_from_edges(rest, n), 6)), atol=1e-4)
    # Validation, test and prediction read the positions of the whole training graph.
    np.testing.assert_allclose(fitted.encoded.users.positions.numpy(),
                               spectral_positions(adjacency_from_edges(split.train, n), 6))
    pairs = np.array([[0, 1]])
    structure = pair_structure(adjacency_from_edges(split.train, n), pairs)
    with pytest.raises(ValueError, match="spectral positions"):
        fitted.model.score_links(torch.zeros(n, 16), torch.from_numpy(pairs), structure, NodeInputs(n))
