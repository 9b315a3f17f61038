"""The encoder contract: ``fit`` on training rows, ``transform`` to an :class:`Encoded`, state without pickle.

Every modality encoder maps ``n`` input values (strings, token lists, numbers, image paths, ...) to an
:class:`Encoded` pair ``(x, mask)``: ``x`` is float32 ``[n, d]`` and ``mask[i]`` is True when row ``i`` *has* the
modality. Rows without it (missing value, unreadable file, no known token) have ``mask[i] = False`` and ``x[i] = 0``;
the model ignores them instead of reading the zeros as a value.

Fitted state is split into a JSON-able ``config`` dict and a dict of numpy ``arrays`` (:meth:`Encoder.get_state`),
so it can be stored as JSON + safetensors in a model bundle and rebuilt by
:func:`~socialgraph.encoders.registry.encoder_from_state` without running any pickled code. ``config["type"]`` is the class's ``type_name``, looked up in the one table of encoders a
state may name, :data:`socialgraph.encoders.registry.ENCODERS`.
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


class Encoder(abc.ABC):
    """Base class of the modality encoders (scikit-learn style).

    Subclasses are dataclasses whose fields are their configuration; fitted attributes end with ``_``. They
    implement ``fit``, ``_transform``, ``_fitted_state`` / ``_load_fitted_state``, declare ``type_name`` (the name
    their saved state carries) and are listed in :data:`socialgraph.encoders.registry.ENCODERS`.
    """

    kind: ClassVar[str] = "encoder"
    type_name: ClassVar[str]
    #: Fields that say where the encoder runs (``device``), not what it computes: :meth:`config` leaves them out,
    #: so they are neither saved in states (a bundle trained on a GPU loads on a CPU-only machine) nor hashed into
    #: the encoder cache's keys (the same inputs on any device share one entry). They stay constructor arguments:
    #: states written before this existed carry ``"device": "cpu"`` in their params and still load, and
    #: :meth:`from_state` ignores such values (the loaded encoder keeps its default until :meth:`to` places it).
    runtime_fields: ClassVar[tuple[str, ...]] = ()

    # ------------------------------------------------------------------ API
    @abc.abstractmethod
    def fit(self, values: Sequence) -> "Encoder":
        """Learn the encoder's state from training values only; returns ``self``."""

    def transform(self, values: Sequence) -> Encoded:
        """Encode ``values`` (:class:`~socialgraph.encoders.cache.EncodingCache` keeps results by content)."""
        self._check_fitted()
        return self._transform(values)

    def fit_transform(self, values: Sequence) -> Encoded:
        return self.fit(values).transform(values)

    @property
    def output_dim(self) -> int:
        """Width ``d`` of ``x`` (known after ``fit``)."""
        self._check_fitted()
        return int(self._dim())

    def config(self) -> dict:
        """The constructor arguments, JSON-able, less the :attr:`runtime_fields`."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)  # type: ignore[arg-type]
                if f.name not in self.runtime_fields}

    def to(self, device) -> "Encoder":
        """Run on ``device`` (a :class:`torch.device` or its name) from now on, when the encoder has a ``device``
        runtime field (the neural ones); a no-op for the others. Returns ``self``."""
        if "device" in self.runtime_fields:
            import torch  # encoders without a network never need torch

            self.device = str(torch.device(device))  # type: ignore[attr-defined]
        return self

    def get_state(self) -> tuple[dict, dict[str, np.ndarray]]:
        """``(config, arrays)``: JSON-able config (with ``type`` and fitted scalars) and numpy arrays."""
        self._check_fitted()
        meta, arrays = self._fitted_state()
        return {"type": self.type_name, "params": self.config(), "fitted": meta}, arrays

    @classmethod
    def from_state(cls, config: dict, arrays: dict[str, np.ndarray]) -> "Encoder":
        """Rebuild a fitted encoder of this class from :meth:`get_state` output (no pickle involved).

        ``config["type"]`` must be this class's ``type_name`` (``ValueError`` otherwise). A state of any encoder
        type is loaded with :func:`~socialgraph.encoders.registry.encoder_from_state`, which picks the class.
        """
        if config.get("type") != cls.__dict__.get("type_name"):
            raise ValueError(f"state of type {config.get('type')!r} cannot be loaded as {cls.__name__}; load a state "
                             f"of any type with socialgraph.encoders.registry.encoder_from_state")
        params = {k: v for k, v in config["params"].items() if k not in cls.runtime_fields}  # see runtime_fields
        enc = cls(**params)
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
