"""Profile-field encoders: categorical values, multi-hot token sets and numeric columns.

- :class:`CategoricalEncoder`: one-hot over the training vocabulary plus an ``unknown`` bucket (code 0) for values
  not seen in training (or seen fewer than ``min_count`` times); missing values give ``mask = False``.
  :meth:`CategoricalEncoder.codes` gives the compact integer codes for a learned embedding instead.
- :class:`MultiHotEncoder`: token sets -> bag of tokens; when the vocabulary is larger than ``dim`` it is
  TF-IDF weighted and reduced with truncated SVD (see :mod:`socialgraph.encoders.tfidf`); empty / missing sets
  give ``mask = False``.
- :class:`NumericEncoder`: ``log1p`` for heavy-tailed non-negative columns (chosen on training data when
  ``log="auto"``), then ``(v - mean) / std`` with training statistics; NaN -> ``mask = False``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence, Union

import numpy as np

from socialgraph.data.schema import MULTIHOT_SEP
from socialgraph.encoders.base import Encoded, Encoder, as_list, is_missing
from socialgraph.encoders.tfidf import (TfidfSvdState, build_vocabulary, count_matrix, fit_tfidf_svd,
                                        transform_tfidf_svd)


def category_key(value) -> str:
    """The vocabulary key of a categorical value: integral floats read from CSVs match their ints, bools are
    ``True``/``False``."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, np.integer):
        return str(int(value))
    return str(value).strip()


@dataclass
class CategoricalEncoder(Encoder):
    """One categorical column -> one-hot ``[n, 1 + |vocab|]`` (column 0 = unknown bucket)."""

    min_count: int = 1
    max_categories: Optional[int] = 1000

    kind = "categorical"
    type_name = "CategoricalEncoder"  # the name saved states give this class (encoders/registry.py)

    def __post_init__(self) -> None:
        self.categories_: Optional[list[str]] = None
        self._index: dict[str, int] = {}

    def fit(self, values: Sequence) -> "CategoricalEncoder":
        keys = [category_key(v) for v in as_list(values) if not is_missing(v)]
        uniq, counts = np.unique(np.asarray(keys, dtype=object).astype(str), return_counts=True) if keys else ([], [])
        freq = {str(k): int(c) for k, c in zip(uniq, counts)}
        order = sorted(k for k, c in freq.items() if c >= self.min_count)
        if self.max_categories and len(order) > self.max_categories:
            # the most frequent categories are kept; the rest fall into the unknown bucket
            order = sorted(sorted(order, key=lambda k: (-freq[k], k))[: self.max_categories])
        self._set(list(map(str, order)))
        return self

    def codes(self, values: Sequence) -> tuple[np.ndarray, np.ndarray]:
        """``(codes int64 [n], mask bool [n])``: 1.. for known categories, 0 for unknown, mask False if missing."""
        self._check_fitted()
        vals = as_list(values)
        mask = np.array([not is_missing(v) for v in vals], dtype=bool)
        codes = np.array([self._index.get(category_key(v), 0) if m else 0 for v, m in zip(vals, mask)],
                         dtype=np.int64)
        return codes, mask

    def _transform(self, values: Sequence) -> Encoded:
        codes, mask = self.codes(values)
        x = np.zeros((len(codes), self._dim()), dtype=np.float32)
        x[np.flatnonzero(mask), codes[mask]] = 1.0
        return Encoded(x, mask)

    def _set(self, categories: list[str]) -> None:
        self.categories_ = categories
        self._index = {c: i + 1 for i, c in enumerate(categories)}

    def is_fitted(self) -> bool:
        return self.categories_ is not None

    def _dim(self) -> int:
        return 1 + len(self.categories_)

    def _fitted_state(self):
        return {"categories": self.categories_}, {}

    def _load_fitted_state(self, meta, arrays) -> None:
        self._set(list(meta["categories"]))


def as_tokens(value) -> Optional[list[str]]:
    """A multi-hot cell as a token list: lists/sets/arrays as given, strings split on ``|``; missing -> None."""
    if is_missing(value):
        return None
    if isinstance(value, str):
        return [t.strip() for t in value.split(MULTIHOT_SEP) if t.strip()]
    if isinstance(value, (list, tuple, set, frozenset, np.ndarray)):
        return [category_key(t) for t in value]
    return [category_key(value)]


@dataclass
class MultiHotEncoder(Encoder):
    """Token sets -> binary bag ``[n, |vocab|]`` when ``|vocab| <= dim``, else TF-IDF + SVD to ``dim``.

    Tokens seen in fewer than ``min_df`` training rows are dropped; rows with no known token are masked.
    """

    dim: int = 64
    min_df: int = 1
    max_features: Optional[int] = 100_000
    tfidf: bool = True
    seed: int = 0

    kind = "multihot"
    type_name = "MultiHotEncoder"  # the name saved states give this class (encoders/registry.py)

    def __post_init__(self) -> None:
        self.vocabulary_: Optional[list[str]] = None
        self._index: dict[str, int] = {}
        self._state: Optional[TfidfSvdState] = None

    def fit(self, values: Sequence) -> "MultiHotEncoder":
        docs = [as_tokens(v) for v in as_list(values)]
        vocab = build_vocabulary(docs, min_df=self.min_df, max_features=self.max_features)
        if not vocab:
            raise ValueError("MultiHotEncoder: no token in the training rows")
        self._set(vocab)
        if len(vocab) > self.dim:
            self._state = fit_tfidf_svd(count_matrix(docs, self._index), self.dim, sublinear=False,
                                        use_idf=self.tfidf, seed=self.seed)
        return self

    def _transform(self, values: Sequence) -> Encoded:
        counts = count_matrix([as_tokens(v) for v in as_list(values)], self._index)
        mask = np.diff(counts.indptr) > 0
        if self._state is None:  # small vocabulary: the plain bag is the feature
            x = (counts.toarray() > 0).astype(np.float32)
        else:
            counts.data[:] = 1.0  # a set: repeated tokens count once
            x = transform_tfidf_svd(counts, self._state, sublinear=False)
        return Encoded.masked(x, mask)

    def _set(self, vocab: list[str]) -> None:
        self.vocabulary_ = list(vocab)
        self._index = {t: i for i, t in enumerate(self.vocabulary_)}

    def is_fitted(self) -> bool:
        return self.vocabulary_ is not None

    def _dim(self) -> int:
        return len(self.vocabulary_) if self._state is None else self._state.dim

    def _fitted_state(self):
        arrays = {}
        if self._state is not None:
            arrays["idf"] = self._state.idf
            if self._state.components is not None:
                arrays["components"] = self._state.components
        return {"vocabulary": self.vocabulary_, "reduced": self._state is not None}, arrays

    def _load_fitted_state(self, meta, arrays) -> None:
        self._set(meta["vocabulary"])
        self._state = (TfidfSvdState(arrays["idf"].astype(np.float64), arrays.get("components"))
                       if meta["reduced"] else None)


@dataclass
class NumericEncoder(Encoder):
    """Numeric columns ``[n, c]`` -> standardised ``[n, c]`` (+ ``c`` presence flags when ``c > 1``).

    ``log``: ``True`` applies ``log1p`` to every column, ``False`` to none, ``"auto"`` to non-negative columns
    whose training skewness exceeds ``skew_threshold`` (heavy tails such as view counts). Statistics are those
    of the training rows; a missing value is 0 after standardisation (the training mean) and its presence flag
    is 0. ``mask`` is True where at least one column is present.
    """

    log: Union[bool, str] = "auto"
    skew_threshold: float = 2.0
    clip: Optional[float] = 10.0

    kind = "numeric"
    type_name = "NumericEncoder"  # the name saved states give this class (encoders/registry.py)

    def __post_init__(self) -> None:
        self.log_: Optional[np.ndarray] = None
        self.mean_: Optional[np.ndarray] = None
        self.std_: Optional[np.ndarray] = None

    @staticmethod
    def _matrix(values) -> np.ndarray:
        a = np.asarray(values if not hasattr(values, "to_numpy") else values.to_numpy(dtype=np.float64,
                                                                                      na_value=np.nan),
                       dtype=np.float64)
        return a.reshape(-1, 1) if a.ndim == 1 else a

    def fit(self, values) -> "NumericEncoder":
        v = self._matrix(values)
        if self.log == "auto":
            self.log_ = np.array([_heavy_tailed(v[:, j], self.skew_threshold) for j in range(v.shape[1])])
        else:
            self.log_ = np.full(v.shape[1], bool(self.log))
        t = self._log(v)
        with np.errstate(all="ignore"):
            mean = np.nanmean(t, axis=0)
            std = np.nanstd(t, axis=0)
        self.mean_ = np.nan_to_num(mean, nan=0.0)
        self.std_ = np.where(~np.isfinite(std) | (std < 1e-12), 1.0, std)
        return self

    def _log(self, v: np.ndarray) -> np.ndarray:
        out = v.copy()
        with np.errstate(invalid="ignore"):
            # negative values in a log column (unseen in training) are clipped at 0 rather than producing NaN
            out[:, self.log_] = np.log1p(np.maximum(out[:, self.log_], 0.0))
        return out

    def _transform(self, values) -> Encoded:
        v = self._matrix(values)
        if v.shape[1] != len(self.mean_):
            raise ValueError(f"NumericEncoder was fitted on {len(self.mean_)} columns, got {v.shape[1]}")
        present = np.isfinite(v)
        z = (self._log(v) - self.mean_) / self.std_
        if self.clip:
            z = np.clip(z, -self.clip, self.clip)
        z = np.where(present, z, 0.0)
        x = z if v.shape[1] == 1 else np.hstack([z, present.astype(np.float64)])
        return Encoded.masked(x, present.any(axis=1))

    def is_fitted(self) -> bool:
        return self.mean_ is not None

    def _dim(self) -> int:
        c = len(self.mean_)
        return c if c == 1 else 2 * c

    def _fitted_state(self):
        return {}, {"log": self.log_.astype(np.uint8), "mean": self.mean_, "std": self.std_}

    def _load_fitted_state(self, meta, arrays) -> None:
        self.log_ = arrays["log"].astype(bool)
        self.mean_ = arrays["mean"].astype(np.float64)
        self.std_ = arrays["std"].astype(np.float64)


def _heavy_tailed(col: np.ndarray, threshold: float) -> bool:
    c = col[np.isfinite(col)]
    if len(c) < 3 or c.min() < 0:
        return False
    sd = c.std()
    if sd == 0:
        return False
    return bool(((c - c.mean()) ** 3).mean() / sd ** 3 > threshold)
