"""Data layer: the :class:`SocialGraph` container, folder format, dataset loaders, splits and negatives."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Union

from socialgraph.data.errors import DataError
from socialgraph.data.graph import SocialGraph, canonical_pairs
from socialgraph.data.schema import AttributeTable, Role


def load(source: Union[str, os.PathLike]) -> SocialGraph:
    """A graph from a dataset name (``socialgraph datasets list``) or a folder in the project's format."""
    if Path(source).is_dir():
        from socialgraph.data.folder import read_folder

        return read_folder(source)
    from socialgraph.data.registry import load_dataset

    return load_dataset(str(source))


__all__ = ["AttributeTable", "DataError", "Role", "SocialGraph", "canonical_pairs", "load"]
