"""The data layer's graph primitives (socialgraph.data.adjacency) against independent oracles on a real graph: a
600-user core of the shipped MUSAE Facebook graph, NetworkX, Python sets, numpy brute force."""
from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp

from shipped import core_graph
from socialgraph.data.adjacency import (GraphArrays, adjacency_from_edges, count_common, friends_of_friends,
                                        friends_of_friends_scored, graph_arrays, is_edge, pair_keys, pair_member,
                                        sorted_csr, sorted_member, unordered_keys)
from socialgraph.model.pairwise import pair_structure


@pytest.fixture(scope="module")
def core():
    return core_graph("musae-facebook", 600)  # the 600 users reached breadth-first from the best-connected one


@pytest.fixture(scope="module")
def adj(core) -> sp.csr_matrix:
    return adjacency_from_edges(core.friends, core.num_users)


@pytest.fixture(scope="module")
def nxg(core) -> nx.Graph:
    g = nx.Graph()
    g.add_nodes_from(range(core.num_users))
    g.add_edges_from((int(a), int(b)) for a, b in core.friends if a != b)
    return g


def test_adjacency_from_edges_is_the_networkx_graph(core, adj, nxg):
    edges = np.r_[core.friends, core.friends[:50, ::-1], [[7, 7]]]  # reversed duplicates and a self-loop
    a = adjacency_from_edges(edges, core.num_users)
    want = nx.to_scipy_sparse_array(nxg, nodelist=range(core.num_users), format="csr")
    assert a.dtype == np.float32 and a.has_sorted_indices and a.shape == (core.num_users, core.num_users)
    assert np.array_equal(a.indptr, want.indptr) and np.array_equal(a.indices, want.indices)
    assert (a.data == 1).all() and a.diagonal().sum() == 0
    assert adjacency_from_edges(np.zeros((0, 2), np.int64), 4).nnz == 0


def test_sorted_csr():
    a = sp.csr_matrix((np.array([1.0, 2.0, 3.0]), np.array([2, 0, 1]), np.array([0, 2, 3])), shape=(2, 3))
    a.has_sorted_indices = False
    s = sorted_csr(a)
    assert s.has_sorted_indices and np.array_equal(s.indices, [0, 2, 1]) and np.array_equal(s.data, [2, 1, 3])
    assert np.array_equal(a.indices, [2, 0, 1])  # the input is left as it was
    assert sorted_csr(s) is s
    c = sorted_csr(sp.coo_matrix(s))
    assert sp.isspmatrix_csr(c) and (c != s).nnz == 0


def test_pair_keys_and_membership_match_python_sets(core):
    n = core.num_users
    rng = np.random.default_rng(0)
    keys = pair_keys(core.friends, n)
    friends = {frozenset(map(int, p)) for p in core.friends}
    assert np.all(np.diff(keys) > 0) and len(keys) == len(friends)
    assert np.array_equal(unordered_keys(core.friends[:, ::-1], n), unordered_keys(core.friends, n))
    q = np.r_[rng.integers(0, n, (3000, 2)), core.friends[:500], core.friends[500:1000, ::-1]]
    want = np.array([frozenset(map(int, p)) in friends for p in q])
    assert want.sum() >= 1000
    assert np.array_equal(pair_member(keys, q[:, 0], q[:, 1], n), want)
    assert not pair_member(keys[:0], q[:, 0], q[:, 1], n).any()
    # sorted_member is np.isin on sorted keys, for any shape
    x = rng.integers(0, n * n, (40, 30))
    x[::3] = keys[rng.integers(0, len(keys), x[::3].shape)]
    assert np.array_equal(sorted_member(keys, x), np.isin(x, keys))


def test_is_edge_is_a_directed_lookup_of_stored_entries():
    rng = np.random.default_rng(1)
    n = 300
    r, c = rng.integers(0, n, 2000), rng.integers(0, n, 2000)
    a = sp.csr_matrix((rng.random(2000), (r, c)), shape=(n, n))  # directed, weighted
    a.data[:10] = 0.0  # explicit zeros are stored entries
    stored = set(zip(r.tolist(), c.tolist()))
    q = np.r_[rng.integers(0, n, (3000, 2)), np.c_[r[:300], c[:300]], np.c_[c[:300], r[:300]]]
    want = np.array([(int(i), int(j)) in stored for i, j in q])
    assert np.array_equal(is_edge(a, q), want)
    # The same entries with every neighbour list shuffled.
    perm = np.concatenate([rng.permutation(np.arange(s, e)) for s, e in zip(a.indptr[:-1], a.indptr[1:])])
    unsorted = sp.csr_matrix((a.data[perm], a.indices[perm], a.indptr), shape=(n, n))
    unsorted.has_sorted_indices = False
    assert np.array_equal(is_edge(unsorted, q), want)
    assert is_edge(a, np.zeros((0, 2), np.int64)).shape == (0,)
    assert not is_edge(sp.csr_matrix((n, n)), q).any()


def test_graph_arrays_are_computed_afresh_every_call(adj, nxg):
    g1, g2 = graph_arrays(adj), graph_arrays(adj)
    assert isinstance(g1, GraphArrays) and g1 is not g2
    for f in ("deg", "w_aa", "w_ra", "w_walk", "vol2"):
        assert np.array_equal(getattr(g1, f), getattr(g2, f)), f
    deg = np.array([nxg.degree(v) for v in range(adj.shape[0])])
    assert np.array_equal(g1.deg, deg) and g1.binary_simple
    assert np.array_equal(g1.vol2, [sum(deg[w] for w in nxg[v]) for v in range(adj.shape[0])])
    # No cache keyed by the object: the same matrix changed in place gives other arrays.
    m = adj.copy()
    assert graph_arrays(m).binary_simple
    m.data[:] = 2.0
    assert not graph_arrays(m).binary_simple
    loop = adj + sp.eye(adj.shape[0], format="csr", dtype=np.float32)
    assert not graph_arrays(loop).binary_simple
    twice = sp.csr_matrix((np.ones(2 * adj.nnz, np.float32), np.repeat(adj.indices, 2),
                           2 * adj.indptr), shape=adj.shape)
    assert not graph_arrays(twice).binary_simple  # duplicate entries


def test_pair_structure_on_a_matrix_equals_on_its_arrays(adj):
    rng = np.random.default_rng(2)
    pairs = np.r_[rng.integers(0, adj.shape[0], (400, 2)), np.c_[adj.nonzero()][:200]]
    g = graph_arrays(adj)
    for completion in (0, 3):
        a = pair_structure(adj, pairs, completion=completion)
        b = pair_structure(g, pairs, completion=completion)
        assert np.array_equal(a.features.numpy(), b.features.numpy())
        assert np.array_equal(a.common.indices().numpy(), b.common.indices().numpy())
        assert np.array_equal(a.common.values().numpy(), b.common.values().numpy())
        assert (a.one_sided is None) == (b.one_sided is None) == (completion == 0)
        if completion:
            assert np.array_equal(a.one_sided.numpy(), b.one_sided.numpy())
    leave = np.arange(len(pairs)) >= 400
    assert np.array_equal(pair_structure(adj, pairs, leave_out=leave).features.numpy(),
                          pair_structure(g, pairs, leave_out=leave).features.numpy())


def _brute_force_fof(adj: sp.csr_matrix, users: np.ndarray, k: int, method: str):
    """Per user: every 2-hop score summed over the common neighbours in increasing id, self and friends dropped,
    ranked by score then id."""
    a = adj.toarray() > 0
    d = a.sum(1).astype(np.float64)
    weight = {"aa": 1.0 / np.log(np.maximum(d, 2.0)), "ra": 1.0 / np.maximum(d, 1.0), "cn": np.ones(len(d))}[method]
    cand = np.full((len(users), k), -1, np.int64)
    score = np.full((len(users), k), -np.inf)
    for r, u in enumerate(users):
        s = np.zeros(len(d))
        for w in np.flatnonzero(a[u]):
            s[a[w]] += weight[w]
        s[u] = 0.0
        s[a[u]] = 0.0
        ok = np.flatnonzero(s > 0)
        best = ok[np.lexsort((ok, -s[ok]))][:k]
        cand[r, :len(best)], score[r, :len(best)] = best, s[best]
    return cand, score


@pytest.mark.parametrize("method", ["aa", "ra", "cn"])
def test_friends_of_friends_is_the_brute_force_two_hop_ranking(adj, nxg, method):
    n = adj.shape[0]
    users = np.r_[np.arange(0, n, 5), np.argsort(-np.diff(adj.indptr))[:3]]
    k = 12
    cand, score = friends_of_friends_scored(adj, users, k, method)
    want, want_score = _brute_force_fof(adj, users, k, method)
    assert np.array_equal(cand, want)
    np.testing.assert_array_equal(score, want_score)
    assert np.array_equal(friends_of_friends(graph_arrays(adj), users, k, method), cand)
    # and the scores are NetworkX's
    index = {"aa": nx.adamic_adar_index, "ra": nx.resource_allocation_index,
             "cn": lambda g, p: ((u, v, len(list(nx.common_neighbors(g, u, v)))) for u, v in p)}[method]
    rows, cols = np.nonzero(cand >= 0)
    ref = [s for _, _, s in index(nxg, [(int(users[r]), int(cand[r, c])) for r, c in zip(rows, cols)])]
    np.testing.assert_allclose(score[rows, cols], ref, rtol=1e-12)


def test_friends_of_friends_edge_cases(adj):
    n = adj.shape[0]
    users = np.arange(0, n, 50)
    want = friends_of_friends(adj, users, 8, "adamic-adar")
    assert np.array_equal(want, friends_of_friends(adj, users, 8))
    # A weighted graph with self-loops is read as its binary, loop-free version.
    noisy = (3.0 * adj + sp.eye(n, format="csr")).tocsr()
    assert np.array_equal(friends_of_friends(noisy, users, 8), want)
    assert friends_of_friends(adj, users, 0).shape == (len(users), 0)
    assert friends_of_friends(adj, users[:0], 5).shape == (0, 5)
    lonely = adjacency_from_edges(np.array([[0, 1], [1, 2]]), 4)  # 3 is isolated; 0 has one friend-of-friend
    assert np.array_equal(friends_of_friends(lonely, [0, 3, 1], 3, "cn"), [[2, -1, -1], [-1, -1, -1], [-1, -1, -1]])
    with pytest.raises(ValueError, match="ranks by aa, ra, cn"):
        friends_of_friends(adj, users, 5, "katz")
    with pytest.raises(ValueError, match="outside"):
        friends_of_friends(adj, [n], 5)


def test_count_common_skips_the_marked_nodes(core, adj, nxg):
    n = core.num_users
    rng = np.random.default_rng(3)
    pairs = np.r_[rng.integers(0, n, (2000, 2)), core.friends[:500]]
    skip = rng.random(n) < 0.1
    hidden = set(np.flatnonzero(skip).tolist())
    common = [set(nxg[int(u)]) & set(nxg[int(v)]) for u, v in pairs]
    got = count_common(adj, pairs[:, 0], pairs[:, 1])
    assert got.dtype == np.int64 and np.array_equal(got, [len(c) for c in common]) and got.sum() > 0
    skipped = count_common(graph_arrays(adj), pairs[:, 0], pairs[:, 1], skip)
    assert np.array_equal(skipped, [len(c - hidden) for c in common]) and (skipped < got).any()
    with pytest.raises(ValueError, match="bool mask over the"):
        count_common(adj, pairs[:, 0], pairs[:, 1], skip[:-1])
    assert count_common(adj, pairs[:0, 0], pairs[:0, 1]).shape == (0,)
