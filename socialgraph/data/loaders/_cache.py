"""Parsed graphs cached in ``cache_root()/graphs`` so that repeated loads skip parsing.

The cache key hashes the card (name, family, params) and, for every input file, ``path|size|mtime_ns``: editing or
replacing a file changes the key. Entries are written with ``numpy.savez`` (no pickle) and Parquet, into a
temporary folder whose files are fsynced before it is renamed into place, so a crash never leaves a half-written
entry. Entries are read with ``allow_pickle=False``: whoever can write the cache can change the data, never run code
in the reading process. An entry that cannot be read (damaged, or written by another version) is rebuilt.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import warnings
import zipfile
from pathlib import Path
from typing import Callable, Mapping

import numpy as np
import pandas as pd

from socialgraph import storage
from socialgraph.data.graph import SocialGraph
from socialgraph.data.schema import AttributeTable, Role
from socialgraph.paths import cache_root

#: Bump when a loader's output changes, so old entries are ignored.
CACHE_VERSION = 1

_ARRAYS = ("user_ids", "friends", "friend_weight", "friend_time", "item_ids", "engagements", "engagement_value",
           "engagement_time", "blocked")


def _key(card, paths: Mapping[str, Path]) -> str:
    parts = {"v": CACHE_VERSION, "name": card.name, "family": card.family, "params": card.params, "files": {}}
    for key, path in sorted(paths.items()):
        st = path.stat()
        parts["files"][key] = f"{Path(path).resolve()}|{st.st_size}|{st.st_mtime_ns}"
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:20]


def _to_storable(a: np.ndarray) -> np.ndarray:
    return a.astype(str) if a.dtype == object else a


def _write_table(table: AttributeTable, path: Path) -> dict:
    table.frame.to_parquet(path, index=False)
    return {c: r.value for c, r in table.roles.items()}


def _read_table(path: Path, roles: dict) -> AttributeTable:
    frame = pd.read_parquet(path)
    for col, role in roles.items():
        if role == Role.MULTIHOT.value:
            # Parquet lists come back as numpy arrays; the in-memory contract is Python lists (or None).
            frame[col] = [None if v is None else list(v.tolist()) for v in frame[col]]
    return AttributeTable(frame, roles)


def save(graph: SocialGraph, folder: Path) -> None:
    """Write ``graph`` to ``folder`` atomically (the folder appears complete or not at all)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}-"))
    try:
        arrays = {k: _to_storable(getattr(graph, k)) for k in _ARRAYS if getattr(graph, k) is not None}
        np.savez(tmp / "arrays.npz", **arrays)
        meta = {"name": graph.name, "directed": graph.directed,
                "object_ids": [k for k in ("user_ids", "item_ids")
                               if getattr(graph, k) is not None and getattr(graph, k).dtype == object]}
        for side in ("user", "item"):
            table = getattr(graph, f"{side}_attrs")
            if table is not None:
                meta[f"{side}_roles"] = _write_table(table, tmp / f"{side}_attrs.parquet")
        (tmp / "meta.json").write_text(json.dumps(meta))
        storage.fsync_tree(tmp)
        try:
            os.replace(tmp, folder)
        except OSError:  # another process finished the same entry first
            pass
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def load(folder: Path) -> SocialGraph:
    """Read a graph written by :func:`save`."""
    meta = json.loads((folder / "meta.json").read_text())
    with np.load(folder / "arrays.npz", allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    for k in meta["object_ids"]:
        arrays[k] = arrays[k].astype(object)
    tables = {f"{side}_attrs": _read_table(folder / f"{side}_attrs.parquet", meta[f"{side}_roles"])
              for side in ("user", "item") if f"{side}_roles" in meta}
    return SocialGraph(name=meta["name"], directed=meta["directed"], **arrays, **tables)


def cached_graph(card, paths: Mapping[str, Path], build: Callable[[], SocialGraph]) -> SocialGraph:
    """The graph of ``card`` from the cache, else ``build()`` it and cache the result."""
    folder = cache_root() / "graphs" / f"{card.name}-{_key(card, paths)}"
    if (folder / "meta.json").exists():
        try:
            return load(folder)
        except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile) as err:
            # A damaged entry is only a cache miss: the verified input files are still there to rebuild from.
            warnings.warn(f"{folder}: cached graph cannot be read ({type(err).__name__}: {err}); rebuilding it",
                          stacklevel=2)
            shutil.rmtree(folder, ignore_errors=True)
    graph = build()
    save(graph, folder)
    return graph
