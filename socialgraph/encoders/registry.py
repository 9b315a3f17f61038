"""The encoder classes a saved state (a model bundle's JSON) may name, in one explicit table.

A state's ``config["type"]`` is looked up in :data:`ENCODERS` and nowhere else: what a bundle can instantiate is
exactly this list, whatever modules happen to have been imported, and a new encoder class becomes loadable by being
added here. Each class declares its own ``type_name``; the names are those of the classes, which is what states
written before this table existed store, so those bundles keep loading. A renamed class keeps its ``type_name``.
"""
from __future__ import annotations

from typing import Iterable

import numpy as np

from socialgraph.encoders.base import Encoder
from socialgraph.encoders.image import ImageEncoder
from socialgraph.encoders.interactions import InteractionEncoder
from socialgraph.encoders.tabular import CategoricalEncoder, MultiHotEncoder, NumericEncoder
from socialgraph.encoders.text import SentenceTransformerText, TfidfSvdText


def _table(classes: Iterable[type[Encoder]]) -> dict[str, type[Encoder]]:
    out: dict[str, type[Encoder]] = {}
    for cls in classes:
        name = cls.__dict__.get("type_name")  # declared on the class itself, never inherited from a parent
        if not isinstance(name, str) or not name:
            raise TypeError(f"{cls.__qualname__} declares no type_name")
        if name in out:
            raise TypeError(f"type_name {name!r} is declared by both {out[name].__qualname__} and {cls.__qualname__}")
        out[name] = cls
    return out


#: ``type_name -> encoder class``: every encoder a saved state may name.
ENCODERS: dict[str, type[Encoder]] = _table([
    TfidfSvdText, SentenceTransformerText, ImageEncoder,
    CategoricalEncoder, MultiHotEncoder, NumericEncoder,
    InteractionEncoder,
])


def encoder_class(type_name: object) -> type[Encoder]:
    """The class a state's ``"type"`` names; ``ValueError`` naming it and the known types when it is not one."""
    cls = ENCODERS.get(type_name) if isinstance(type_name, str) else None
    if cls is None:
        what = "has no encoder type" if type_name is None else f"names an unknown encoder type {type_name!r}"
        raise ValueError(f"the encoder state {what}; known types: {', '.join(sorted(ENCODERS))} (a bundle written "
                         "by a newer socialgraph, or an edited one, can name others)")
    return cls


def encoder_from_state(config: dict, arrays: dict[str, np.ndarray]) -> Encoder:
    """Rebuild any encoder from its :meth:`~socialgraph.encoders.base.Encoder.get_state` output (dispatches on
    ``config["type"]`` through :data:`ENCODERS`; no pickle involved)."""
    return encoder_class(config.get("type")).from_state(config, arrays)
