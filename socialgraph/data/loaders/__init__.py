"""Dataset loaders, one module per family of file formats.

A loader is a function ``load(card, paths) -> SocialGraph``: ``card`` is the dataset's
:class:`~socialgraph.data.registry.DatasetCard` (``card.params`` holds per-dataset options) and ``paths`` maps the
card's file keys to verified local files. Loaders only read; the registry finds, downloads, verifies and caches.
"""
from __future__ import annotations

import importlib
from typing import Callable, Mapping

from socialgraph.data.errors import DataError

#: family (as written in a card) -> module in this package that defines ``load``.
FAMILIES: Mapping[str, str] = {
    "hetrec-lastfm": "hetrec",
    "tang-trust": "tang",
    "guo-trust": "guo",
    "snap-ego": "snap_ego",
    "facebook100": "facebook100",
    "musae": "musae",
    "movielens": "movielens",
    "planetoid": "planetoid",
    "ogb": "ogb",
    "seal": "seal",
}


def get_loader(family: str) -> Callable:
    """The ``load`` function of ``family``."""
    if family not in FAMILIES:
        raise DataError(f"no loader for dataset family {family!r}", hint=f"known families: {sorted(FAMILIES)}")
    return importlib.import_module(f"{__name__}.{FAMILIES[family]}").load


__all__ = ["FAMILIES", "get_loader"]
