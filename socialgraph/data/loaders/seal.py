"""SEAL benchmark graphs (USAir, NS, PB, Yeast, C.elegans, Power, Router, E.coli): one ``.mat`` with key ``net``.

``net`` is a sparse symmetric adjacency; nodes are its rows (ids ``0..n-1``, isolated nodes included), friends are
its upper-triangle non-zeros (one row per undirected pair, self-loops dropped). The graphs are featureless.
"""
from __future__ import annotations

from pathlib import Path
from typing import Mapping

import numpy as np
import scipy.sparse as sp

from socialgraph.data.errors import DataError
from socialgraph.data.graph import SocialGraph
from socialgraph.data.loaders._common import read_mat_variable, undirected


def read_adjacency(path: Path, key: str) -> sp.coo_matrix:
    """The square sparse matrix ``key`` of a MATLAB file."""
    a = sp.coo_matrix(read_mat_variable(path, key))
    if a.shape[0] != a.shape[1]:
        raise DataError(f"{key!r} is not square: shape {a.shape}", file=str(path))
    return a


def load(card, paths: Mapping[str, Path]) -> SocialGraph:
    a = read_adjacency(paths["graph"], card.params.get("key", "net"))
    return SocialGraph(name=card.name, user_ids=np.arange(a.shape[0], dtype=np.int64),
                       friends=undirected(a.row, a.col), directed=False)
