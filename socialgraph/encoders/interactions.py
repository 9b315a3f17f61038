"""Interaction history: what a user engaged with, weighted, as a vector.

Input is the user x item matrix ``E`` of engagement values (listen counts, ratings). Each value is weighted
(``log1p`` by default, so one obsessive artist does not drown the rest), ``w_{uj} = f(E_{uj})``. Two parts are
concatenated:

- collaborative: TF-IDF over items (idf from training users) of ``w_u``, truncated SVD to ``dim``, L2 norm —
  users who engage with the same (rarer) items get close vectors;
- content (when item features are given): ``normalize_l2(sum_j w_{uj} x_j)`` over items ``j`` whose features are
  present, i.e. the weighted mean of the items' own encoded modalities (text, genres, ...).

Users without engagements (or only with unknown / featureless items) have ``mask = False``. The state keeps the
item idf, SVD components and the item feature matrix, so unseen users can be encoded after loading it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
import scipy.sparse as sp

from socialgraph.encoders.base import Encoded, Encoder
from socialgraph.encoders.tfidf import TfidfSvdState, fit_tfidf_svd, transform_tfidf_svd

WEIGHTINGS = ("log1p", "binary", "raw")


@dataclass
class InteractionEncoder(Encoder):
    """``fit(E_train, item_features)`` / ``transform(E)`` with ``E`` a users x items sparse matrix."""

    dim: int = 64
    weighting: str = "log1p"
    collaborative: bool = True
    seed: int = 0

    kind = "interactions"
    type_name = "InteractionEncoder"  # the name saved states give this class (encoders/registry.py)

    def __post_init__(self) -> None:
        if self.weighting not in WEIGHTINGS:
            raise ValueError(f"weighting must be one of {WEIGHTINGS}, got {self.weighting!r}")
        self.num_items_: Optional[int] = None
        self._state: Optional[TfidfSvdState] = None
        self.item_x_: Optional[np.ndarray] = None

    def fit(self, values, item_features: Optional[Encoded] = None) -> "InteractionEncoder":
        """``values``: training users x items engagement matrix; ``item_features``: the items' encoded
        modalities (rows aligned with the columns of ``values``)."""
        w = self._weights(values)
        self.num_items_ = int(w.shape[1])
        if item_features is not None:
            if len(item_features) != self.num_items_:
                raise ValueError(f"item_features has {len(item_features)} rows, the matrix {self.num_items_} items")
            self.item_x_ = Encoded.masked(item_features.x, item_features.mask).x
        elif not self.collaborative:
            raise ValueError("InteractionEncoder needs item_features when collaborative=False")
        if self.collaborative:
            active = np.diff(w.indptr) > 0
            if active.sum() < 2:
                raise ValueError("InteractionEncoder: fewer than 2 training users with engagements")
            self._state = fit_tfidf_svd(w[active], self.dim, sublinear=False, seed=self.seed)
        return self

    def _transform(self, values) -> Encoded:
        w = self._weights(values)
        if w.shape[1] != self.num_items_:
            raise ValueError(f"engagement matrix has {w.shape[1]} items, the encoder was fitted on {self.num_items_}")
        parts, masks = [], []
        if self._state is not None:
            parts.append(transform_tfidf_svd(w, self._state, sublinear=False))
            masks.append(np.diff(w.indptr) > 0)
        if self.item_x_ is not None:
            content = np.asarray(w @ self.item_x_.astype(np.float64))
            norms = np.linalg.norm(content, axis=1, keepdims=True)
            parts.append((content / np.where(norms == 0, 1.0, norms)).astype(np.float32))
            masks.append(norms.ravel() > 0)
        return Encoded.masked(np.hstack(parts), np.logical_or.reduce(masks))

    def _weights(self, values) -> sp.csr_matrix:
        m = sp.csr_matrix(values, dtype=np.float64)
        m.sum_duplicates()
        m.data = np.maximum(m.data, 0.0)  # negative "engagement" values carry no interest here
        if self.weighting == "log1p":
            m.data = np.log1p(m.data)
        elif self.weighting == "binary":
            m.data = (m.data > 0).astype(np.float64)
        m.eliminate_zeros()
        return m

    def is_fitted(self) -> bool:
        return self.num_items_ is not None

    def _dim(self) -> int:
        return (self._state.dim if self._state is not None else 0) + \
            (self.item_x_.shape[1] if self.item_x_ is not None else 0)

    def _fitted_state(self):
        arrays: dict[str, np.ndarray] = {}
        if self._state is not None:
            arrays["idf"] = self._state.idf
            if self._state.components is not None:
                arrays["components"] = self._state.components
        if self.item_x_ is not None:
            arrays["item_x"] = self.item_x_
        return {"num_items": self.num_items_, "collaborative": self._state is not None}, arrays

    def _load_fitted_state(self, meta, arrays) -> None:
        self.num_items_ = int(meta["num_items"])
        self._state = (TfidfSvdState(arrays["idf"].astype(np.float64), arrays.get("components"))
                       if meta["collaborative"] else None)
        self.item_x_ = arrays.get("item_x")
