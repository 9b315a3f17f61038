"""Neighbour sampling (socialgraph.train.sampling): one contract, PyG's sampler where it can run, numpy otherwise.

The graph is a real one every checkout has: the 3,000 best-connected-first users of the shipped MUSAE Facebook
graph (``tests/shipped.py``), whose hubs exceed every fanout used here and whose fringe has nodes of degree one.
A copy with each friendship kept in one random direction checks the direction convention (neighbours of ``i`` are
row ``i``; messages flow neighbour -> node).
"""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import scipy.sparse as sp
import torch
import torch_geometric.typing as pyg_typing

from shipped import dense_core
from socialgraph.train import sampling
from socialgraph.train.sampling import (NeighbourSampler, OwnNeighbourSampler, PyGNeighbourSampler,
                                        neighbour_sampler, pyg_sampling_library, sample_subgraph)

FANOUTS = [10, 5]
#: Neighbourhood statistics of PyG's sampler and the numpy one, averaged over ``DRAWS`` draws, must agree within
#: this relative tolerance (the first hop's mean sampled degree is exact: both take min(degree, fanout)).
STAT_RTOL = 0.05
DRAWS = 8


@pytest.fixture(scope="module")
def core() -> sp.csr_matrix:
    a = dense_core("musae-facebook", 3000)
    a.sort_indices()
    return a


@pytest.fixture(scope="module")
def directed(core) -> sp.csr_matrix:
    """Each friendship of ``core`` kept in one random direction (so row i != column i)."""
    up = sp.triu(core, k=1).tocoo()
    flip = np.random.default_rng(5).random(len(up.row)) < 0.5
    r, c = np.where(flip, up.col, up.row), np.where(flip, up.row, up.col)
    a = sp.csr_matrix((np.ones(len(r)), (r, c)), shape=core.shape)
    a.sort_indices()
    return a


def _seeds(n: int, k: int = 64, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).choice(n, size=k, replace=False)


def _hops(num_nodes: int, num_seeds: int, ei: np.ndarray) -> np.ndarray:
    """Breadth-first hop of every returned node from the seeds along sampled edges (target -> source)."""
    hop = np.full(num_nodes, -1)
    hop[:num_seeds] = 0
    level = 0
    while (hop == level).any():
        src = ei[0][hop[ei[1]] == level]
        fresh = np.unique(src[hop[src] < 0])
        hop[fresh] = level + 1
        level += 1
    return hop


def check_contract(adj: sp.csr_matrix, seeds: np.ndarray, fanouts: list[int], nodes: np.ndarray,
                   ei: torch.Tensor) -> dict:
    """Every promise of ``sample_subgraph``'s contract; returns per-hop statistics of the sample."""
    useeds = np.unique(seeds)
    assert nodes.dtype == np.int64 and ei.dtype == torch.int64 and ei.dim() == 2 and ei.shape[0] == 2
    assert len(np.unique(nodes)) == len(nodes), "nodes repeat"
    np.testing.assert_array_equal(nodes[:len(useeds)], useeds)  # seeds first, sorted
    e = ei.numpy()
    assert e.size == 0 or (e.min() >= 0 and e.max() < len(nodes))
    key = e[0] * len(nodes) + e[1]
    assert np.all(np.diff(key) > 0), "edges must be distinct, sorted by source then target"
    src, dst = nodes[e[0]], nodes[e[1]]
    assert np.asarray(adj[dst, src]).ravel().all(), "a sampled edge is no edge (neighbour = column of the row)"
    hop = _hops(len(nodes), len(useeds), e)
    assert (hop >= 0).all() and hop.max(initial=0) <= len(fanouts), "a node was reached by no sampled edge"
    assert np.all(np.diff(hop) >= 0), "nodes must come hop by hop"
    same = hop[1:] == hop[:-1]
    assert np.all(np.diff(nodes)[same] > 0), "nodes must be sorted within a hop"
    # Without replacement, fanout respected, full neighbourhoods: a node of hop l < L has exactly
    # min(degree, fanout[l]) distinct sampled neighbours; nodes of the last hop are not expanded.
    sampled = np.bincount(e[1], minlength=len(nodes))
    degree = np.diff(adj.indptr)[nodes]
    stats = {"nodes": len(nodes)}
    for level in range(len(fanouts) + 1):
        at = hop == level
        if level == len(fanouts):
            assert not sampled[at].any(), "the last hop's nodes must not be expanded"
        else:
            f = fanouts[level]
            want = degree[at] if f < 0 else np.minimum(degree[at], f)
            np.testing.assert_array_equal(sampled[at], want)
            stats[f"degree{level + 1}"] = float(sampled[at].mean()) if at.any() else 0.0
        stats[f"reached{level}"] = int(at.sum())
    return stats


# ------------------------------------------------------------------ the project's own sampler
@pytest.mark.parametrize("which", ["symmetric", "directed"])
def test_own_sampler_keeps_the_contract_on_a_real_graph(which, core, directed):
    adj = core if which == "symmetric" else directed
    seeds = _seeds(adj.shape[0])
    nodes, ei = sample_subgraph(adj, seeds, FANOUTS, np.random.default_rng(1), backend="own")
    stats = check_contract(adj, seeds, FANOUTS, nodes, ei)
    deg = np.diff(adj.indptr)[np.unique(seeds)]
    assert (deg > FANOUTS[0]).any() and (deg <= FANOUTS[0]).any()  # both the subset and the full path ran
    assert stats["reached1"] > 0 and stats["reached2"] > 0 and len(nodes) < adj.shape[0]


def test_own_sampler_takes_whole_neighbourhoods_when_fanout_covers_the_degree(core):
    seeds = _seeds(core.shape[0], 16)
    most = int(np.diff(core.indptr).max())
    a = sample_subgraph(core, seeds, [most, most], np.random.default_rng(0), backend="own")
    b = sample_subgraph(core, seeds, [-1, -1], np.random.default_rng(9), backend="own")  # -1: all, as in PyG
    check_contract(core, seeds, [-1, -1], *a)
    np.testing.assert_array_equal(a[0], b[0])
    assert torch.equal(a[1], b[1])
    # Two full hops: exactly every edge into the seeds and into their neighbours.
    hop1 = np.setdiff1d(core[np.unique(seeds)].indices, seeds)
    assert len(a[0]) == len(np.union1d(np.union1d(seeds, hop1), core[hop1].indices))


def test_own_sampler_repeats_with_the_rng_seed(core):
    seeds = _seeds(core.shape[0])
    a = sample_subgraph(core, seeds, FANOUTS, np.random.default_rng(3), backend="own")
    b = sample_subgraph(core, seeds, FANOUTS, np.random.default_rng(3), backend="own")
    c = sample_subgraph(core, seeds, FANOUTS, np.random.default_rng(4), backend="own")
    np.testing.assert_array_equal(a[0], b[0])
    assert torch.equal(a[1], b[1])
    assert not (len(a[0]) == len(c[0]) and np.array_equal(a[0], c[0]) and torch.equal(a[1], c[1]))


def test_own_sampler_handles_edge_cases(core):
    rng = np.random.default_rng(0)
    nodes, ei = sample_subgraph(core, np.zeros(0, np.int64), FANOUTS, rng, backend="own")
    assert len(nodes) == 0 and tuple(ei.shape) == (2, 0)
    nodes, ei = sample_subgraph(core, [5, 5, 2], [], rng, backend="own")  # no hops: the seeds alone
    np.testing.assert_array_equal(nodes, [2, 5])
    assert ei.shape[1] == 0
    isolated = sp.csr_matrix((4, 4))
    nodes, ei = sample_subgraph(isolated, [3, 1], FANOUTS, rng, backend="own")
    np.testing.assert_array_equal(nodes, [1, 3])
    with pytest.raises(ValueError, match="seed node 3000 is outside the graph's 3000 rows"):
        sample_subgraph(core, [3000], FANOUTS, rng, backend="own")
    with pytest.raises(ValueError, match="backend must be one of 'auto', 'pyg', 'own', got 'dgl'"):
        sample_subgraph(core, [1], FANOUTS, rng, backend="dgl")


@pytest.mark.parametrize("degree,k", [(6, 2), (6, 5)])  # Floyd's draws, then random keys
def test_subsets_are_distinct_and_uniform(degree, k):
    m = 30_000
    out = sampling._without_replacement(np.full(m, degree), k, np.random.default_rng(0))
    assert out.shape == (m, k) and out.min() >= 0 and out.max() < degree
    s = np.sort(out, axis=1)
    assert (np.diff(s, axis=1) > 0).all(), "a neighbour was drawn twice"
    _, counts = np.unique(s, axis=0, return_counts=True)
    from math import comb
    assert len(counts) == comb(degree, k)
    expected = m / comb(degree, k)
    assert np.abs(counts - expected).max() < 5 * np.sqrt(expected)  # every subset equally likely


# ------------------------------------------------------------------ choosing a backend
def _libraries(monkeypatch, pyg_lib: bool, torch_sparse: bool) -> None:
    monkeypatch.setattr(pyg_typing, "WITH_PYG_LIB", pyg_lib)
    monkeypatch.setattr(pyg_typing, "WITH_TORCH_SPARSE", torch_sparse)


def test_forcing_pyg_without_its_libraries_says_what_to_install(monkeypatch, core):
    _libraries(monkeypatch, False, False)
    assert pyg_sampling_library() is None
    assert neighbour_sampler("auto").name == "own" and neighbour_sampler("own").name == "own"
    with pytest.raises(ImportError) as err:
        sample_subgraph(core, [1], FANOUTS, np.random.default_rng(0), backend="pyg")
    message = str(err.value)
    for part in ("pyg-lib or torch-sparse", "pip install pyg-lib", torch.__version__.split("+")[0],
                 "backend='auto' or 'own'"):
        assert part in message


def test_auto_prefers_pyg_when_a_library_imports(monkeypatch):
    _libraries(monkeypatch, False, True)
    assert pyg_sampling_library() == "torch-sparse"
    sampler = neighbour_sampler("auto")
    assert isinstance(sampler, PyGNeighbourSampler) and isinstance(sampler, NeighbourSampler)
    _libraries(monkeypatch, True, True)
    assert pyg_sampling_library() == "pyg-lib" and neighbour_sampler().name == "pyg"
    assert isinstance(OwnNeighbourSampler(), NeighbourSampler)


# ------------------------------------------------------------------ PyG's sampler against the numpy one
def _compare(adj: sp.csr_matrix, backend_rng_draw) -> None:
    """Contract of PyG's sampler, and its neighbourhood statistics next to the numpy sampler's."""
    seeds = _seeds(adj.shape[0])
    pyg, own = [], []
    for d in range(DRAWS):
        nodes, ei = backend_rng_draw(adj, seeds, FANOUTS, np.random.default_rng(d))
        pyg.append(check_contract(adj, seeds, FANOUTS, nodes, ei))
        own.append(check_contract(adj, seeds, FANOUTS, *sample_subgraph(adj, seeds, FANOUTS,
                                                                        np.random.default_rng(d), backend="own")))
    mean = lambda runs, k: float(np.mean([r[k] for r in runs]))  # noqa: E731
    assert mean(pyg, "degree1") == mean(own, "degree1")
    for k in ("reached1", "degree2", "reached2", "nodes"):
        assert mean(pyg, k) == pytest.approx(mean(own, k), rel=STAT_RTOL), k
    # Whole neighbourhoods involve no randomness: both backends return the very same subgraph.
    most = int(np.diff(adj.indptr).max())
    a = backend_rng_draw(adj, seeds[:8], [-1, most], np.random.default_rng(0))
    b = sample_subgraph(adj, seeds[:8], [-1, most], np.random.default_rng(1), backend="own")
    np.testing.assert_array_equal(a[0], b[0])
    assert torch.equal(a[1], b[1])


@pytest.mark.skipif(pyg_sampling_library() is None,
                    reason="neither pyg-lib nor torch-sparse imports here, so PyG's NeighborSampler cannot run")
@pytest.mark.parametrize("which", ["symmetric", "directed"])
def test_pyg_sampler_matches_the_numpy_one(which, core, directed):
    adj = core if which == "symmetric" else directed
    _compare(adj, lambda *a: sample_subgraph(*a, backend="pyg"))
    seeds = _seeds(adj.shape[0])
    x = sample_subgraph(adj, seeds, FANOUTS, np.random.default_rng(3), backend="pyg")
    y = sample_subgraph(adj, seeds, FANOUTS, np.random.default_rng(3), backend="pyg")
    np.testing.assert_array_equal(x[0], y[0])  # seeded from the rng
    assert torch.equal(x[1], y[1])


def _torch_sparse_stand_in(colptr, row, input_node, num_neighbors, replace, directed):
    """``torch.ops.torch_sparse.neighbor_sample``'s contract in Python, for machines without torch-sparse:
    ``(node, row, col, edge)`` with seeds first and new nodes in order of discovery, ``row`` the local sampled
    neighbour and ``col`` the local node it was sampled for; a negative fanout samples nothing (as torch-sparse's
    kernel does); draws from torch's generator."""
    assert not replace and directed
    colptr, row = colptr.tolist(), row.tolist()
    samples = input_node.tolist()
    local = {v: i for i, v in enumerate(samples)}
    rows, cols, edges = [], [], []
    begin, end = 0, len(samples)
    for k in num_neighbors:
        for i in range(begin, end):
            start, count = colptr[samples[i]], colptr[samples[i] + 1] - colptr[samples[i]]
            picked = range(count) if k >= count else torch.randperm(count)[:max(k, 0)].tolist()
            for o in picked:
                v = row[start + o]
                if v not in local:
                    local[v] = len(samples)
                    samples.append(v)
                rows.append(local[v])
                cols.append(i)
                edges.append(start + o)
        begin, end = end, len(samples)
    t = lambda x: torch.tensor(x, dtype=torch.int64)  # noqa: E731
    return t(samples), t(rows), t(cols), t(edges)


@pytest.mark.parametrize("which", ["symmetric", "directed"])
def test_pyg_path_through_pyg_code_on_a_stand_in_kernel(which, core, directed, monkeypatch):
    """PyG's real NeighborSampler (CSC conversion, dispatch, output) and this module's adapter, on a Python
    stand-in for torch-sparse's kernel: the glue is tested here even where neither compiled library exists."""
    adj = core if which == "symmetric" else directed
    _libraries(monkeypatch, False, True)
    monkeypatch.setattr(torch.ops, "torch_sparse", SimpleNamespace(neighbor_sample=_torch_sparse_stand_in),
                        raising=False)
    monkeypatch.setattr(sampling, "_seed_c_rand", lambda seed: None)
    state = torch.get_rng_state()
    _compare(adj, lambda *a: sample_subgraph(*a, backend="pyg"))
    assert torch.equal(torch.get_rng_state(), state), "the torch generator must be left as it was"
    seeds = _seeds(adj.shape[0])
    x = sample_subgraph(adj, seeds, FANOUTS, np.random.default_rng(3))  # auto picks PyG's
    y = sample_subgraph(adj, seeds, FANOUTS, np.random.default_rng(3), backend="pyg")
    np.testing.assert_array_equal(x[0], y[0])
    assert torch.equal(x[1], y[1])
