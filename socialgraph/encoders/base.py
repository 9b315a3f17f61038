"""The encoder contract: ``fit`` on training rows, ``transform`` to an :class:`Encoded`, state without pickle.

Every modality encoder maps ``n`` input values (strings, token lists, numbers, image paths, ...) to an
:class:`Encoded` pair ``(x, mask)``: ``x`` is float32 ``[n, d]`` and ``mask[i]`` is True when row ``i`` *has* the
modality. Rows without it (missing value, unreadable file, no known token) have ``mask[i] = False`` and ``x[i] = 0``;
the model ignores them instead of reading the zeros as a value.

Fitted state is split into a JSON-able ``config`` dict and a dict of numpy ``arrays`` (:meth:`Encoder.get_state`),
so it can be stored as JSON + safetensors in a model bundle and rebuilt by :meth:`Encoder.from_state` (or
:func:`encoder_from_state`, which dispatches on ``config["type"]``) without running any pickled code.
"""
from __future__ import annotations

import abc
import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar, Sequence

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Encoded:
    """Encoded modality: ``x`` float32 ``[n, d]``, ``mask`` bool ``[n]`` (True = row has the modality)."""

    x: np.ndarray
    mask: np.ndarray

    def __post_init__(self) -> None:
        x = np.ascontiguousarray(self.x, dtype=np.float32)
        mask = np.asarray(self.mask, dtype=bool).reshape(-1)
        if x.ndim != 2 or len(x) != len(mask):
            raise ValueError(f"Encoded needs x [n, d] and mask [n]; got x {x.shape}, mask {mask.shape}")
        object.__setattr__(self, "x", x)
        object.__setattr__(self, "mask", mask)

    @property
    def dim(self) -> int:
        return int(self.x.shape[1])

    def __len__(self) -> int:
        return int(len(self.mask))

    def take(self, rows: np.ndarray) -> "Encoded":
        return Encoded(self.x[rows], self.mask[rows])

    @staticmethod
    def masked(x: np.ndarray, mask: np.ndarray) -> "Encoded":
        """``Encoded`` with rows outside ``mask`` forced to zero (the contract for missing rows)."""
        x = np.asarray(x, dtype=np.float32).copy()
        x[~np.asarray(mask, dtype=bool)] = 0.0
        return Encoded(x, mask)


_REGISTRY: dict[str, type["Encoder"]] = {}


class Encoder(abc.ABC):
    """Base class of the modality encoders (scikit-learn style).

    Subclasses are dataclasses whose fields are their configuration; fitted attributes end with ``_``. They
    implement ``fit``, ``_transform``, ``_fitted_state`` / ``_load_fitted_state``.
    """

    kind: ClassVar[str] = "encoder"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _REGISTRY[cls.__name__] = cls

    # ------------------------------------------------------------------ API
    @abc.abstractmethod
    def fit(self, values: Sequence) -> "Encoder":
        """Learn the encoder's state from training values only; returns ``self``."""

    def transform(self, values: Sequence, *, cache: bool = False) -> Encoded:
        """Encode ``values``. With ``cache=True`` the result is read from / written to the content-keyed cache
        under :func:`socialgraph.paths.cache_root` (key: input values + config + fitted state)."""
        self._check_fitted()
        if not cache:
            return self._transform(values)
        from socialgraph.encoders.cache import EncodingCache

        return EncodingCache().get_or_compute(self, values, self._transform)

    def fit_transform(self, values: Sequence, *, cache: bool = False) -> Encoded:
        return self.fit(values).transform(values, cache=cache)

    @property
    def output_dim(self) -> int:
        """Width ``d`` of ``x`` (known after ``fit``)."""
        self._check_fitted()
        return int(self._dim())

    def config(self) -> dict:
        """The constructor arguments, JSON-able."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}  # type: ignore[arg-type]

    def get_state(self) -> tuple[dict, dict[str, np.ndarray]]:
        """``(config, arrays)``: JSON-able config (with ``type`` and fitted scalars) and numpy arrays."""
        self._check_fitted()
        meta, arrays = self._fitted_state()
        return {"type": type(self).__name__, "params": self.config(), "fitted": meta}, arrays

    @classmethod
    def from_state(cls, config: dict, arrays: dict[str, np.ndarray]) -> "Encoder":
        """Rebuild a fitted encoder from :meth:`get_state` output (no pickle involved)."""
        target = _REGISTRY.get(config.get("type", ""))
        if target is None or not issubclass(target, cls):
            raise ValueError(f"state of type {config.get('type')!r} cannot be loaded as {cls.__name__}")
        enc = target(**config["params"])
        enc._load_fitted_state(config.get("fitted", {}), {k: np.asarray(v) for k, v in arrays.items()})
        return enc

    # ------------------------------------------------------------------ for subclasses
    @abc.abstractmethod
    def _transform(self, values: Sequence) -> Encoded: ...

    @abc.abstractmethod
    def _dim(self) -> int: ...

    @abc.abstractmethod
    def _fitted_state(self) -> tuple[dict, dict[str, np.ndarray]]: ...

    @abc.abstractmethod
    def _load_fitted_state(self, meta: dict, arrays: dict[str, np.ndarray]) -> None: ...

    @abc.abstractmethod
    def is_fitted(self) -> bool: ...

    def _check_fitted(self) -> None:
        if not self.is_fitted():
            raise RuntimeError(f"{type(self).__name__} is not fitted: call fit(train_values) first")


def encoder_from_state(config: dict, arrays: dict[str, np.ndarray]) -> Encoder:
    """Rebuild any encoder from its state (dispatches on ``config["type"]``)."""
    return Encoder.from_state(config, arrays)


def is_missing(value: Any) -> bool:
    """None, NaN/NaT (scalar) and empty strings/containers count as missing."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, (list, tuple, set, frozenset, np.ndarray)):
        return len(value) == 0
    try:
        return bool(pd.isna(value))  # None, NaN, NaT, pd.NA
    except (TypeError, ValueError):
        return False


def as_list(values: Sequence) -> list:
    """Values as a plain list (pandas Series / numpy arrays included)."""
    if hasattr(values, "tolist") and not isinstance(values, list):
        return list(values.tolist())
    return list(values)
