"""Candidate generators for friend suggestions: friends-of-friends by a heuristic, and nearest neighbours of the
user embeddings (exact for small graphs, a FAISS IVF index for big ones).

Both return ``(cand [b, c] int64, source)`` with ``-1`` in empty slots; neither filters anything beyond what is
said, the caller removes self, friends, blocked and hidden users.
"""
from __future__ import annotations

import threading

import numpy as np
import scipy.sparse as sp

from socialgraph.eval.heuristics import top_candidates

#: exact inner-product search up to this many users, an IVF index above
EXACT_MAX_USERS = 50_000


def fof_candidates(adj: sp.csr_matrix, users: np.ndarray, cap: int, method: str = "aa") -> np.ndarray:
    """The ``cap`` best friends-of-friends of each user by ``method`` (existing friends and self excluded).

    ``aa`` / ``ra`` / ``cn`` on a binary adjacency without self-loops run in a compiled kernel (one 2-hop expansion
    per user into a dense counter and a bounded heap, :func:`socialgraph.model.pair_kernels.fof_topk`): the scores
    and ranking of :func:`socialgraph.eval.heuristics.top_candidates` (which handles every other case), except
    that AA / RA sums equal up to the last bit of float64 rounding may break their tie the other way (the two add
    the same weights in a different order)."""
    users = np.asarray(users, dtype=np.int64).ravel()
    m = {"adamic_adar": "aa", "resource_allocation": "ra", "common_neighbours": "cn",
         "common_neighbors": "cn"}.get(method.lower().replace("-", "_"), method.lower())
    g = _kernel_graph(adj) if m in ("aa", "ra", "cn") and cap > 0 else None
    if g is None:
        cand, _ = top_candidates(adj, users, cap, method, exclude_existing=True)
        return cand
    from socialgraph.model import pair_kernels

    n = g.adj.shape[0]
    if len(users) and (users.min() < 0 or users.max() >= n):
        raise ValueError(f"users hold rows outside 0..{n - 1}")
    d = np.diff(g.adj.indptr).astype(np.float64)
    weight = {"aa": lambda: 1.0 / np.log(np.maximum(d, 2.0)), "ra": lambda: 1.0 / np.maximum(d, 1.0),
              "cn": lambda: np.ones(n)}[m]()
    acc, flag, touched = _fof_scratch(n)
    cand = np.full((len(users), cap), -1, dtype=np.int64)
    score = np.full((len(users), cap), -np.inf)
    pair_kernels.fof_topk(g.adj.indptr, g.adj.indices, weight, users, cap, acc, flag, touched, cand, score)
    return cand


def _kernel_graph(adj):
    """The cached kernel arrays of ``adj`` when it is binary with no self-loops (else ``None``)."""
    from socialgraph.model.pairwise import _graph_arrays

    g = _graph_arrays(adj)
    return g if g.binary_simple else None


_LOCAL = threading.local()


def _fof_scratch(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    s = getattr(_LOCAL, "fof", None)
    if s is None or len(s[0]) < n:
        s = _LOCAL.fof = (np.zeros(n), np.zeros(n, np.int8), np.zeros(n, np.int64))
    return s


def normalise(z: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (cosine similarity = inner product), float32 C-contiguous for FAISS."""
    z = np.ascontiguousarray(z, dtype=np.float32)
    return z / np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-12)


def build_index(z: np.ndarray, seed: int = 0, nprobe: int = 16):
    """A FAISS inner-product index over unit rows ``z``: flat (exact) for small graphs, IVF-Flat
    (``~4 sqrt(n)`` lists, k-means trained on a seeded sample) for big ones. Build once and share it
    (``faiss.serialize_index``): building is where nondeterminism could enter, searching a given index is not."""
    import faiss

    n, d = z.shape
    if n <= EXACT_MAX_USERS:
        index = faiss.IndexFlatIP(d)
    else:
        nlist = int(4 * np.sqrt(n))
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(d), d, nlist, faiss.METRIC_INNER_PRODUCT)
        rng = np.random.default_rng(seed)
        sample = z[np.sort(rng.choice(n, size=min(n, 64 * nlist), replace=False))]
        index.cp.seed = seed
        index.train(sample)
        index.nprobe = nprobe
    index.add(z)
    return index


def ann_candidates(index, z: np.ndarray, users: np.ndarray, k: int) -> np.ndarray:
    """``k`` nearest users of each of ``users`` in ``index`` (unit rows ``z``), the user itself removed."""
    _, nn = index.search(np.ascontiguousarray(z[users]), k + 1)
    nn = nn.astype(np.int64)
    nn[nn == users[:, None]] = -1
    return nn[:, :k + 1]


def merge_candidates(*blocks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct ``(row, candidate)`` pairs from ``[b, c_i]`` blocks, ``-1`` dropped, sorted by row then candidate.

    Returns ``(rows, cands)``: local row (0..b-1) and candidate user row of every pair.
    """
    b = len(blocks[0])
    rows = np.concatenate([np.repeat(np.arange(b), x.shape[1]) for x in blocks])
    cands = np.concatenate([x.ravel() for x in blocks])
    ok = cands >= 0
    rows, cands = rows[ok], cands[ok]
    width = np.int64(max(1, int(cands.max()) + 1 if len(cands) else 1))
    keys = np.unique(rows * width + cands)
    return keys // width, keys % width


def pair_member(keys_sorted: np.ndarray, a: np.ndarray, b: np.ndarray, n: int) -> np.ndarray:
    """Whether each unordered pair ``(a, b)`` is among ``keys_sorted`` (``min * n + max`` keys, sorted)."""
    if len(keys_sorted) == 0:
        return np.zeros(len(a), dtype=bool)
    k = np.minimum(a, b) * np.int64(n) + np.maximum(a, b)
    i = np.minimum(np.searchsorted(keys_sorted, k), len(keys_sorted) - 1)
    return keys_sorted[i] == k


def pair_keys(pairs: np.ndarray, n: int) -> np.ndarray:
    """Sorted distinct ``min * n + max`` keys of unordered pairs ``[P, 2]``."""
    p = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    return np.unique(p.min(1) * np.int64(n) + p.max(1))
