"""OGB link-property datasets (ogbl-ddi, ogbl-collab, ogbl-ppa, ogbl-citation2), read without running pickled code.

OGB ships a link dataset as gzipped CSV (``raw/edge.csv.gz``, ``raw/num-node-list.csv.gz``,
``raw/num-edge-list.csv.gz``) and its official split as ``torch.save`` files of numpy arrays
(``split/<kind>/{train,valid,test}.pt``). This module reads exactly the files the registry found and verified
against the card's sha256 (the ``paths`` it is given, under the data root) and nothing else:

* the CSV with pandas (ogb's own ``read_csv_graph_raw`` would also parse ``node-feat.csv.gz``, which is not used);
* each split file with ``torch.load(weights_only=True)`` and an allowlist of exactly what plain numeric numpy
  arrays need (``numpy ... _reconstruct``, ``ndarray``, ``dtype`` and the bool / integer / float dtype classes).
  That unpickler refuses every other global, so a replaced split file can at worst fail to load with a
  :class:`~socialgraph.data.errors.DataError`; it cannot run code.

Nothing is copied into or read back from the cache: ogb's ``PygLinkPropPredDataset`` is not used, because it
writes a ``processed/`` pickle of PyG objects next to its input and unpickles it fully on every later load, so
anyone who can write that folder (and the digest kept beside it) could run code in the loading process. The
parsed graph is still cached by :mod:`socialgraph.data.loaders._cache` (npz + Parquet, no pickle).

Mapping: users are the OGB nodes; friends are the graph ogb serves (the official *training* edges, ``raw/edge``)
as undirected pairs; validation and test edges are not in the graph, they come from :func:`edge_split`.
"""
from __future__ import annotations

import pickle
from pathlib import Path
from typing import Mapping

import numpy as np

from socialgraph.data.errors import DataError
from socialgraph.data.graph import SocialGraph
from socialgraph.data.loaders._common import read_table, undirected

#: The split parts OGB ships, in the order ``edge_split`` returns them.
PARTS = ("train", "valid", "test")
#: numpy dtypes a split array may have (``np.dtype(code)``); object, string and structured arrays are refused.
_NUMERIC = ("?", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f2", "f4", "f8")


def _one_line(err: BaseException, limit: int = 240) -> str:
    text = " ".join(str(err).split())
    return text if len(text) <= limit else text[:limit] + "..."


def _numpy_globals() -> list:
    """What ``torch.load(weights_only=True)`` must be allowed to build plain numeric numpy arrays, no more."""
    try:
        from numpy._core.multiarray import _reconstruct  # numpy >= 2
    except ImportError:  # numpy 1.26
        from numpy.core.multiarray import _reconstruct
    # A pickle names the function by the module of the numpy that wrote it: numpy.core (1.x) or numpy._core (2.x).
    return [(_reconstruct, "numpy.core.multiarray._reconstruct"),
            (_reconstruct, "numpy._core.multiarray._reconstruct"),
            np.ndarray, np.dtype, *{type(np.dtype(c)) for c in _NUMERIC}]


def read_split_file(path: Path) -> dict[str, np.ndarray]:
    """One OGB split file as ``{field: numeric numpy array}``, unpickled with the restricted (weights-only) loader.

    Raises:
        DataError: naming ``path`` when the file is not a dict of plain numeric arrays / tensors (which includes
            any pickle that would need to call or build something else, e.g. to run code).
    """
    import torch

    path = Path(path)
    try:
        with torch.serialization.safe_globals(_numpy_globals()):
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, ValueError, TypeError, EOFError, OSError, AttributeError) as err:
        raise DataError(f"not an OGB split file of plain numeric arrays, refusing to unpickle it further "
                        f"({type(err).__name__}: {_one_line(err)})", file=str(path),
                        hint="delete it and download the dataset again from its home "
                             "(see `socialgraph datasets info NAME`)") from None
    if not isinstance(obj, dict):
        raise DataError(f"expected a dict of arrays, found {type(obj).__name__}", file=str(path))
    out: dict[str, np.ndarray] = {}
    for key, value in obj.items():
        arr = value.numpy() if isinstance(value, torch.Tensor) else value
        if not isinstance(key, str) or not isinstance(arr, np.ndarray) or arr.dtype.kind not in "biuf":
            raise DataError(f"field {key!r} is not a numeric array ({type(value).__name__})", file=str(path))
        out[key] = arr.astype(np.int64) if arr.dtype.kind in "iu" else arr
    return out


def _read_counts(path: Path) -> int:
    """The single count of a one-graph ``num-node-list`` / ``num-edge-list`` file."""
    frame = read_table(path, compression="gzip", header=None)
    if frame.shape != (1, 1) or frame.dtypes.iloc[0].kind not in "iu":
        raise DataError(f"expected one integer (a single graph), found a {frame.shape[0]}x{frame.shape[1]} table",
                        file=str(path), hint="check that the file is the original one of the OGB release")
    return int(frame.iloc[0, 0])


def read_edges(card, paths: Mapping[str, Path]) -> tuple[int, np.ndarray]:
    """``(num_nodes, edges [E, 2] int64)`` of the graph ogb serves, from the card's verified raw CSV files."""
    edge_file = paths["raw_edge"]
    num_nodes = _read_counts(paths["raw_num-node-list"])
    num_edges = _read_counts(paths["raw_num-edge-list"])
    frame = read_table(edge_file, compression="gzip", header=None)
    if frame.shape[1] != 2 or any(t.kind not in "iu" for t in frame.dtypes):
        raise DataError(f"expected two integer columns (source, target), found {frame.shape[1]}", file=str(edge_file))
    edges = frame.to_numpy(np.int64)
    if len(edges) != num_edges:
        raise DataError(f"{len(edges):,} edges, but num-edge-list.csv.gz says {num_edges:,}", file=str(edge_file),
                        hint=f"the files under {card.folder} come from different releases: download them again")
    if len(edges) and (edges.min() < 0 or edges.max() >= num_nodes):
        raise DataError(f"node ids must lie in [0, {num_nodes}) (num-node-list.csv.gz), found "
                        f"{edges.min()}..{edges.max()}", file=str(edge_file))
    return num_nodes, edges


def load(card, paths: Mapping[str, Path]) -> SocialGraph:
    n, edges = read_edges(card, paths)
    return SocialGraph(name=card.name, user_ids=np.arange(n, dtype=np.int64),
                       friends=undirected(edges[:, 0], edges[:, 1]), directed=False)


def edge_split(card, paths: Mapping[str, Path]) -> dict:
    """OGB's official split as numpy: ``{part: {"edge": [N, 2] int64, "edge_neg": ...}}`` for train/valid/test.

    Fields are exactly those of OGB's ``get_edge_split`` (ogbl-citation2: ``source_node``, ``target_node``,
    ``target_node_neg``; ogbl-collab: ``edge``, ``weight``, ``year``), integers as int64.
    """
    out: dict = {}
    for part in PARTS:
        keys = [k for k in paths if k.startswith("split_") and k.endswith(f"_{part}")]
        if len(keys) != 1:
            raise DataError(f"card {card.name!r} must list one split file for {part!r}, found {keys or 'none'}",
                            file=str(card.source), hint="name it split_<kind>_" + part)
        out[part] = read_split_file(paths[keys[0]])
    return out
