"""Negative samplers on real graphs (Last.fm where present, the shipped Twitch ENGB everywhere): never a true edge of any split, never a self-pair, seeded, and hard when asked."""
from __future__ import annotations

import numpy as np
import pytest

from shipped import friend_graph, pick
from socialgraph.data import canonical_pairs
from socialgraph.data.adjacency import unordered_keys
from socialgraph.data.negatives import hard_negatives, heart_negatives, uniform_negatives
from socialgraph.data.splits import split_links
from socialgraph.eval.heuristics import score_pairs


@pytest.fixture(scope="module")
def lastfm():
    return friend_graph(pick("lastfm-hetrec-2k", "twitch-engb"))


@pytest.fixture(scope="module")
def split(lastfm):
    return split_links(lastfm, "random", seed=0)


def _is_edge(pairs: np.ndarray, edges: np.ndarray, n: int) -> np.ndarray:
    return np.isin(unordered_keys(pairs, n), unordered_keys(edges, n))


def test_pair_keys_ignore_direction():
    p = np.array([[3, 7], [7, 3], [0, 9]])
    k = unordered_keys(p, 10)
    assert k[0] == k[1] != k[2]


def test_uniform_negatives_are_distinct_non_edges(lastfm):
    n, every = lastfm.num_users, lastfm.undirected_pairs()
    neg = uniform_negatives(n, 20_000, every, seed=0)
    assert neg.shape == (20_000, 2) and neg.dtype == np.int64
    assert (neg[:, 0] < neg[:, 1]).all()  # canonical, hence never a self-pair
    assert len(np.unique(unordered_keys(neg, n))) == len(neg)
    assert not _is_edge(neg, every, n).any()
    assert np.array_equal(neg, uniform_negatives(n, 20_000, every, seed=0))
    assert not np.array_equal(neg, uniform_negatives(n, 20_000, every, seed=1))
    # Uniform over users: each endpoint position covers most users.
    assert len(np.unique(neg)) > 0.95 * n


def test_uniform_negatives_refuse_impossible_requests():
    pairs = canonical_pairs(np.array([[0, 1], [1, 2]]))
    with pytest.raises(ValueError, match="non-edges"):
        uniform_negatives(3, 2, pairs)
    assert len(uniform_negatives(3, 1, pairs)) == 1


def test_hard_negatives_are_at_distance_two(lastfm, split):
    n = lastfm.num_users
    adj = lastfm.adjacency(split.train)
    every = lastfm.undirected_pairs()
    neg = hard_negatives(adj, 5_000, every, seed=0)
    assert len(np.unique(unordered_keys(neg, n))) == 5_000 and (neg[:, 0] != neg[:, 1]).all()
    assert not _is_edge(neg, every, n).any()
    two_hop = adj @ adj
    assert (np.asarray(two_hop[neg[:, 0], neg[:, 1]]).ravel() > 0).all()
    assert np.array_equal(neg, hard_negatives(adj, 5_000, every, seed=0))


def test_heart_negatives_exclude_every_true_edge_and_are_hard(lastfm, split):
    n = lastfm.num_users
    adj = lastfm.adjacency(split.train)
    every = lastfm.undirected_pairs()
    pos = split.test
    k = 20
    w = heart_negatives(adj, pos, k, every, num_hard=10, seed=0)
    assert w.shape == (len(pos), k) and w.min() >= 0
    pairs = np.c_[np.repeat(pos[:, 0], k), w.ravel()]
    assert (pairs[:, 0] != pairs[:, 1]).all()
    assert not _is_edge(pairs, every, n).any()
    assert (np.sort(w, 1)[:, 1:] != np.sort(w, 1)[:, :-1]).all()  # no repeat within a row
    assert np.array_equal(w, heart_negatives(adj, pos, k, every, num_hard=10, seed=0))
    ra = score_pairs(adj, pairs, "ra").reshape(len(pos), k)
    # The heuristic-ranked half outscores the random half.
    assert ra[:, :10].mean() > 5 * ra[:, 10:].mean()
    random_only = heart_negatives(adj, pos, k, every, num_hard=0, seed=0)
    assert not _is_edge(np.c_[np.repeat(pos[:, 0], k), random_only.ravel()], every, n).any()
