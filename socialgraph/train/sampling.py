"""Sampling for training steps: negative pairs and neighbour-sampled subgraphs.

Neighbour sampling has one interface, :class:`NeighbourSampler` (``sampler(adj, seeds, fanouts, rng) -> (nodes,
edge_index)``), reached through :func:`sample_subgraph` or :func:`neighbour_sampler`, and two implementations:

* ``"pyg"`` -- :class:`PyGNeighbourSampler`: PyTorch Geometric's own ``torch_geometric.sampler.NeighborSampler``
  (the machinery behind ``NeighborLoader`` / ``LinkNeighborLoader``), run on the CSC view of the graph. Its kernels
  live in ``pyg-lib`` (preferred by PyG) or ``torch-sparse``; PyG has no sampler without one of them.
* ``"own"`` -- :class:`OwnNeighbourSampler`: the same directional sampling written in numpy over the CSR arrays.

``backend="auto"`` (what the trainer gets) runs PyG's sampler when ``pyg-lib`` or ``torch-sparse`` imports (PyG's
own ``torch_geometric.typing.WITH_PYG_LIB`` / ``WITH_TORCH_SPARSE``, read at each call) and the numpy one otherwise.
The fallback exists because neither library can be installed from the package registry on this project's machines
(each is compiled against one torch build, and PyG publishes the builds on its own wheel index), so neither is present
there, and mini-batch training must work all the same. ``backend="pyg"`` forces PyG's sampler and raises an
``ImportError`` saying what to install when neither library is present; ``backend="own"`` forces the numpy one.

Both sample the same way and return the same thing, so a caller cannot tell which ran:

* hop ``l = 1, 2, ...`` takes, for every node first reached at hop ``l - 1`` (the seeds: hop 0), ``fanouts[l - 1]``
  distinct neighbours drawn uniformly *without replacement* -- all of them when it has no more than that (a
  negative fanout means all, as in PyG); a neighbour of ``i`` is a column ``j`` of row ``i`` of ``adj``;
* ``nodes`` (int64, distinct global rows) lists the seeds first, sorted (``nodes[:len(unique(seeds))] ==
  unique(seeds)``), then the nodes first reached at hop 1, sorted, then those of hop 2, and so on;
* ``edge_index`` (int64 ``[2, E]``, local numbering: local ``i`` is ``nodes[i]``) holds every sampled edge once,
  as ``(neighbour, node it was sampled for)``: messages flow from ``edge_index[0]`` to ``edge_index[1]``, PyG's
  ``source_to_target``. Columns are sorted by source, then target.

Randomness comes from the ``rng`` passed in, so a seeded run repeats: the numpy sampler draws from it directly;
PyG's kernels draw from torch's CPU generator (``pyg-lib``) or the C library's ``rand`` (``torch-sparse``), which
are seeded from ``rng`` for the call (torch's generator state is restored afterwards).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import warnings
from typing import Literal, Optional, Protocol, Sequence, runtime_checkable

import numpy as np
import scipy.sparse as sp
import torch

from socialgraph.data.adjacency import is_edge

Backend = Literal["auto", "pyg", "own"]
BACKENDS: tuple[str, ...] = ("auto", "pyg", "own")


def training_negatives(known: sp.csr_matrix, mp: sp.csr_matrix, num: int, hard_ratio: float,
                       rng: np.random.Generator) -> np.ndarray:
    """``num`` non-edges of ``known`` (all training friendships): uniform pairs, and a ``hard_ratio`` share of
    friends-of-friends in the step's message-passing graph ``mp`` (two random steps from a random node)."""
    n = known.shape[0]
    num_hard = int(round(num * hard_ratio))
    parts = []
    if num_hard:
        deg = np.diff(mp.indptr)
        start = rng.choice(np.flatnonzero(deg > 0), size=num_hard) if (deg > 0).any() else np.zeros(0, np.int64)
        mid = mp.indices[mp.indptr[start] + (rng.random(len(start)) * deg[start]).astype(np.int64)]
        end = mp.indices[mp.indptr[mid] + (rng.random(len(mid)) * deg[mid]).astype(np.int64)]
        parts.append(np.c_[start, end])
    parts.append(rng.integers(0, n, size=(num - sum(len(p) for p in parts), 2)))
    pairs = np.concatenate(parts).astype(np.int64)
    keep = (pairs[:, 0] != pairs[:, 1]) & ~is_edge(known, pairs)
    return pairs[keep]


# ---------------------------------------------------------------------------------------------- neighbour sampling
@runtime_checkable
class NeighbourSampler(Protocol):
    """Samples a subgraph around ``seeds``: ``sampler(adj, seeds, fanouts, rng) -> (nodes, edge_index)`` with the
    contract of the module docstring. ``name`` is the backend (``"pyg"`` or ``"own"``)."""

    name: str

    def __call__(self, adj: sp.csr_matrix, seeds: np.ndarray, fanouts: Sequence[int],
                 rng: np.random.Generator) -> tuple[np.ndarray, torch.Tensor]: ...


def pyg_sampling_library() -> Optional[str]:
    """The library PyG's ``NeighborSampler`` would run on here: ``"pyg-lib"`` (which PyG prefers), else
    ``"torch-sparse"``, else ``None``. Read from PyG's own import flags at each call (nothing is cached)."""
    import torch_geometric.typing as pyg_typing

    if pyg_typing.WITH_PYG_LIB:
        return "pyg-lib"
    if pyg_typing.WITH_TORCH_SPARSE:
        return "torch-sparse"
    return None


def _install_hint() -> str:
    version = torch.__version__.split("+")[0]
    build = f"cu{torch.version.cuda.replace('.', '')}" if torch.version.cuda else "cpu"
    return (f"install pyg-lib built for this torch ({torch.__version__}): pip install pyg-lib -f "
            f"https://data.pyg.org/whl/torch-{version}+{build}.html (or torch-sparse from the same index)")


class OwnNeighbourSampler:
    """Directional neighbour sampling in numpy over ``adj``'s CSR arrays; needs no compiled extension.

    A node with more neighbours than the fanout gets a uniform random subset of that size, drawn without
    replacement: Floyd's algorithm vectorised over the nodes of a hop (``fanout`` draws each) when the fanout is
    small next to the degrees, otherwise the ``fanout`` smallest of one random key per neighbour."""

    name = "own"

    def __call__(self, adj: sp.csr_matrix, seeds: np.ndarray, fanouts: Sequence[int],
                 rng: np.random.Generator) -> tuple[np.ndarray, torch.Tensor]:
        seeds = _checked_seeds(adj, seeds)
        indptr, indices = adj.indptr, adj.indices
        degree = np.diff(indptr)
        layers, hop_of, src_all, dst_all = [seeds], [np.zeros(len(seeds), np.int64)], [], []
        seen = seeds
        frontier = seeds
        for hop, fanout in enumerate(fanouts, start=1):
            if not len(frontier):
                break
            owner, offset = _choose_neighbours(degree[frontier], int(fanout), rng)
            owner = frontier[owner]
            nbr = indices[indptr[owner] + offset].astype(np.int64)
            src_all.append(nbr)
            dst_all.append(owner)
            frontier = np.setdiff1d(nbr, seen)  # sorted, distinct
            seen = np.union1d(seen, frontier)
            layers.append(frontier)
            hop_of.append(np.full(len(frontier), hop, np.int64))
        return _subgraph(np.concatenate(layers), np.concatenate(hop_of), _cat(src_all), _cat(dst_all))


class PyGNeighbourSampler:
    """PyTorch Geometric's ``NeighborSampler`` (directional, without replacement) on the CSC view of ``adj``: the
    edges ``j -> i`` for every stored ``adj[i, j]``, so sampling for ``i`` draws from row ``i`` as the numpy
    sampler does. Its output is renumbered to this module's node order.

    Raises:
        ImportError: when neither ``pyg-lib`` nor ``torch-sparse`` imports, naming what to install.
    """

    name = "pyg"

    def __init__(self) -> None:
        library = pyg_sampling_library()
        if library is None:
            raise ImportError(
                "neighbour sampling backend 'pyg' needs pyg-lib or torch-sparse (PyG's NeighborSampler runs on "
                f"one of them) and neither imports here: {_install_hint()}; or use backend='auto' or 'own' for "
                "socialgraph's numpy sampler")
        self.library = library

    def __call__(self, adj: sp.csr_matrix, seeds: np.ndarray, fanouts: Sequence[int],
                 rng: np.random.Generator) -> tuple[np.ndarray, torch.Tensor]:
        from torch_geometric.data import Data
        from torch_geometric.sampler import NeighborSampler, NodeSamplerInput

        seeds = _checked_seeds(adj, seeds)
        n = adj.shape[0]
        indptr = torch.from_numpy(adj.indptr.astype(np.int64))
        source = torch.from_numpy(adj.indices.astype(np.int64))
        target = torch.repeat_interleave(torch.arange(n, dtype=torch.int64), indptr.diff())
        # Columns grouped by target in CSR order: PyG's CSC conversion then takes them as they are (no sort).
        data = Data(edge_index=torch.stack([source, target]), num_nodes=n)
        # torch-sparse reads a negative fanout as "none" (pyg-lib as "all"): spell "all" as the largest degree.
        most = int(np.diff(adj.indptr).max(initial=0))
        num = [int(f) if f >= 0 else most for f in fanouts]
        if not num or not len(seeds):
            return OwnNeighbourSampler()(adj, seeds, num, rng)  # nothing to sample: identical either way
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # PyG's note that sampling via torch-sparse alone is deprecated
            sampler = NeighborSampler(data, num_neighbors=num, replace=False, is_sorted=True)
        seed = int(rng.integers(0, 2 ** 31 - 1))
        with torch.random.fork_rng(devices=[]):  # pyg-lib draws from torch's CPU generator: seed it, then restore
            torch.manual_seed(seed)
            if self.library == "torch-sparse":
                _seed_c_rand(seed)  # torch-sparse draws from the C library's rand()
            out = sampler.sample_from_nodes(NodeSamplerInput(input_id=None, node=torch.from_numpy(seeds)))
        node = out.node.numpy().astype(np.int64)
        src, dst = node[out.row.numpy()], node[out.col.numpy()]
        return _subgraph(node, _hops(len(node), len(seeds), out.row.numpy(), out.col.numpy(), len(num)), src, dst)


def neighbour_sampler(backend: Backend = "auto") -> NeighbourSampler:
    """The sampler for ``backend``: ``"pyg"`` (PyG's; ``ImportError`` naming what to install when it cannot run),
    ``"own"`` (numpy), or ``"auto"``: PyG's when ``pyg-lib`` or ``torch-sparse`` imports, else numpy."""
    if backend not in BACKENDS:
        raise ValueError(f"neighbour sampling backend must be one of {', '.join(map(repr, BACKENDS))}, "
                         f"got {backend!r}")
    if backend == "own" or (backend == "auto" and pyg_sampling_library() is None):
        return OwnNeighbourSampler()
    return PyGNeighbourSampler()


def sample_subgraph(adj: sp.csr_matrix, seeds: np.ndarray, fanouts: Sequence[int],
                    rng: np.random.Generator, backend: Backend = "auto") -> tuple[np.ndarray, torch.Tensor]:
    """Nodes reached from ``seeds`` by sampling, without replacement, up to ``fanouts[l]`` neighbours (row ``i`` of
    ``adj``) of each node first reached at hop ``l``, and the sampled edges as a local ``edge_index`` ``[2, E]``
    (messages flow from neighbour to node). ``backend`` picks the implementation (see the module docstring).

    Returns ``(nodes, edge_index)`` where ``nodes[:len(unique(seeds))] == unique(seeds)``, then the nodes of each
    later hop in turn (sorted within a hop), and local index ``i`` is ``nodes[i]``.
    """
    return neighbour_sampler(backend)(adj, seeds, fanouts, rng)


# ---------------------------------------------------------------------------------------------- helpers
def _checked_seeds(adj: sp.csr_matrix, seeds) -> np.ndarray:
    seeds = np.unique(np.asarray(seeds, dtype=np.int64).ravel())
    if adj.shape[0] != adj.shape[1]:
        raise ValueError(f"neighbour sampling needs a square adjacency, got shape {adj.shape}")
    if len(seeds) and (seeds[0] < 0 or seeds[-1] >= adj.shape[0]):
        bad = seeds[0] if seeds[0] < 0 else seeds[-1]
        raise ValueError(f"seed node {bad} is outside the graph's {adj.shape[0]} rows")
    return seeds


def _cat(parts: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(0, np.int64)


def _choose_neighbours(deg: np.ndarray, fanout: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """For nodes of degrees ``deg``: ``(owner, offset)``, position in ``deg`` and neighbour offset of every sampled
    neighbour -- all of them where ``deg <= fanout`` (or ``fanout < 0``), else ``fanout`` distinct offsets drawn
    uniformly."""
    full = deg <= fanout if fanout >= 0 else np.ones(len(deg), bool)
    take = np.where(full, deg, fanout).astype(np.int64)
    owner = np.repeat(np.arange(len(deg)), take)
    offset = np.arange(take.sum()) - np.repeat(np.cumsum(take) - take, take)  # 0..take-1 per node
    part = np.flatnonzero(~full)
    if len(part):
        slots = np.flatnonzero(np.repeat(~full, take))  # owner-major, like the draws below
        offset[slots] = _without_replacement(deg[part].astype(np.int64), fanout, rng).ravel()
    return owner, offset


def _without_replacement(deg: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """``[m, k]``: for each row, ``k`` distinct integers of ``[0, deg[i])`` (``deg > k``), a uniform random subset."""
    m = len(deg)
    if k == 0:
        return np.zeros((m, 0), np.int64)
    if k * k <= 4 * deg.mean():
        # Floyd: for j = d-k .. d-1 draw t in [0, j]; keep t unless already taken, else j. O(m k^2), any degree.
        out = np.empty((m, k), np.int64)
        for i in range(k):
            j = deg - k + i
            t = rng.integers(0, j + 1)
            taken = (out[:, :i] == t[:, None]).any(axis=1)
            out[:, i] = np.where(taken, j, t)
        return out
    # Random keys: the k smallest of one uniform key per neighbour. O(sum deg log).
    owner = np.repeat(np.arange(m), deg)
    order = np.lexsort((rng.random(len(owner)), owner))
    rank = np.arange(len(owner)) - np.repeat(np.cumsum(deg) - deg, deg)
    local = order - np.repeat(np.cumsum(deg) - deg, deg)  # offset within its own row (order keeps rows together)
    return local[rank < k].reshape(m, k)


def _hops(num_nodes: int, num_seeds: int, src: np.ndarray, dst: np.ndarray, layers: int) -> np.ndarray:
    """The hop at which each node of a sampled subgraph was first reached: 0 for the seeds, else one more than the
    lowest hop of a node it was sampled for (a node of hop ``l`` is only sampled for nodes of hop ``l - 1``)."""
    hop = np.full(num_nodes, np.iinfo(np.int64).max // 2, np.int64)
    hop[:num_seeds] = 0
    for _ in range(layers):
        np.minimum.at(hop, src, hop[dst] + 1)
    return hop


def _subgraph(reached: np.ndarray, hop: np.ndarray, src: np.ndarray,
              dst: np.ndarray) -> tuple[np.ndarray, torch.Tensor]:
    """The module's canonical output from distinct global ``reached`` nodes, their hops and global sampled edges:
    nodes by hop then id, edges once each in local numbering, sorted by source then target."""
    nodes = reached[np.lexsort((reached, hop))]
    n = max(len(nodes), 1)
    sorter = np.argsort(nodes)
    local_src = sorter[np.searchsorted(nodes, src, sorter=sorter)]
    local_dst = sorter[np.searchsorted(nodes, dst, sorter=sorter)]
    key = np.unique(local_src * n + local_dst)
    return nodes, torch.from_numpy(np.vstack([key // n, key % n]).astype(np.int64))


def _seed_c_rand(seed: int) -> None:
    """Seed the C library's ``rand()`` (torch-sparse's source of randomness), where the C library can be found."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"))
        libc.srand(ctypes.c_uint(seed))
    except (OSError, AttributeError, TypeError):  # no C library to seed: torch-sparse samples unseeded
        pass
