"""TF-IDF weighting + truncated SVD (latent semantic analysis) on a sparse document x term count matrix.

Shared by the text, multi-hot and interaction encoders. With counts ``c_{dt}`` over ``n`` training documents:

    tf_{dt}   = 1 + log(c_{dt})  if sublinear (c > 0), else c_{dt}
    idf_t     = log((1 + n) / (1 + df_t)) + 1                      (scikit-learn's smoothed idf)
    v_d       = normalize_l2(tf_d * idf)
    z_d       = normalize_l2(v_d @ components.T)                    (components: [k, V] from TruncatedSVD)

``components`` are fitted with scikit-learn's :class:`~sklearn.decomposition.TruncatedSVD` on the training rows;
``transform`` only needs ``idf`` and ``components`` (numpy/scipy), so it runs after loading the state.
When the vocabulary has at most ``dim`` terms no SVD is fitted and the normalised TF-IDF vector is the output.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
import scipy.sparse as sp


@dataclass
class TfidfSvdState:
    idf: np.ndarray                    # float64 [V]
    components: Optional[np.ndarray]   # float32 [k, V], or None (identity: output the TF-IDF vector)

    @property
    def dim(self) -> int:
        return int(len(self.idf) if self.components is None else self.components.shape[0])


def fit_tfidf_svd(counts: sp.csr_matrix, dim: int, *, sublinear: bool = True, use_idf: bool = True,
                  seed: int = 0, n_iter: int = 7) -> TfidfSvdState:
    """Fit idf and SVD components on the training document x term matrix ``counts``."""
    counts = sp.csr_matrix(counts, dtype=np.float64)
    n, v = counts.shape
    if use_idf:
        df = np.bincount(counts.indices, minlength=v)
        idf = np.log((1.0 + n) / (1.0 + df)) + 1.0
    else:
        idf = np.ones(v)
    state = TfidfSvdState(idf=idf, components=None)
    if v <= dim:
        return state
    from sklearn.decomposition import TruncatedSVD

    weighted = _weight(counts, state.idf, sublinear)
    k = int(min(dim, v - 1, max(n - 1, 1)))
    svd = TruncatedSVD(n_components=k, algorithm="randomized", n_iter=n_iter, random_state=seed)
    svd.fit(weighted)
    state.components = svd.components_.astype(np.float32)
    return state


def transform_tfidf_svd(counts: sp.csr_matrix, state: TfidfSvdState, *, sublinear: bool = True) -> np.ndarray:
    """Rows of ``counts`` -> float32 ``[n, dim]`` L2-normalised vectors (all-zero rows stay zero)."""
    weighted = _weight(sp.csr_matrix(counts, dtype=np.float64), state.idf, sublinear)
    z = weighted.toarray() if state.components is None else weighted @ state.components.T.astype(np.float64)
    return _l2(np.asarray(z)).astype(np.float32)


def _weight(counts: sp.csr_matrix, idf: np.ndarray, sublinear: bool) -> sp.csr_matrix:
    m = counts.copy()
    m.data = m.data.astype(np.float64)
    if sublinear:
        m.data = np.where(m.data > 0, 1.0 + np.log(np.maximum(m.data, 1e-12)), 0.0)
    m = m @ sp.diags(idf)
    norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sp.csr_matrix(sp.diags(1.0 / norms) @ m)


def _l2(z: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(z, axis=1, keepdims=True)
    return z / np.where(norms == 0, 1.0, norms)


def count_matrix(docs: list[Optional[list[str]]], vocab: dict[str, int]) -> sp.csr_matrix:
    """Token lists -> document x term counts over ``vocab`` (unknown tokens and ``None`` docs count nothing)."""
    indptr, indices = [0], []
    for doc in docs:
        if doc:
            indices.extend(j for j in (vocab.get(t) for t in doc) if j is not None)
        indptr.append(len(indices))
    data = np.ones(len(indices))
    m = sp.csr_matrix((data, np.asarray(indices, dtype=np.int64), np.asarray(indptr, dtype=np.int64)),
                      shape=(len(docs), len(vocab)))
    m.sum_duplicates()
    return m


def build_vocabulary(docs: list[Optional[list[str]]], *, min_df: int = 1, max_features: Optional[int] = None
                     ) -> list[str]:
    """Terms present in at least ``min_df`` documents, most frequent first (ties by term), at most
    ``max_features``."""
    df: dict[str, int] = {}
    for doc in docs:
        if doc:
            for t in set(doc):
                df[t] = df.get(t, 0) + 1
    terms = sorted((t for t, c in df.items() if c >= min_df), key=lambda t: (-df[t], t))
    return terms[:max_features] if max_features else terms
