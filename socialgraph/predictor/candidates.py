"""Embedding candidates for friend suggestions: nearest neighbours of the user embeddings (exact for small graphs,
a FAISS IVF index for big ones), and the merge of candidate blocks.

Friends-of-friends candidates are :func:`socialgraph.data.adjacency.friends_of_friends`. Candidate blocks are
``[b, c]`` int64 with ``-1`` in empty slots; nothing here filters beyond what is said, the caller removes self,
friends, blocked and hidden users.
"""
from __future__ import annotations

import numpy as np

#: exact inner-product search up to this many users, an IVF index above
EXACT_MAX_USERS = 50_000


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
