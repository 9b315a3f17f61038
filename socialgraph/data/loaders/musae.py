"""MUSAE / FEATHER / GEMSEC graphs (Rozemberczki et al.): an edge CSV, an optional target CSV, a features JSON.

Files: ``*_edges.csv`` (two id columns, header line; undirected), ``*_target.csv`` (one row per node; the node id
column is ``card.params["id_column"]``), and a JSON object ``{"<node id>": [feature, ...]}`` (feature ids for
Facebook pages / Twitch games / GitHub / LastFM / Deezer Europe, genre names for Deezer HU/RO/HR).

Mapping: users are the union of ids in the three files; friends are undirected pairs with self-loops dropped
(Facebook page-page has 179 self-loop rows); target columns get the roles of ``card.params["roles"]`` (others are
kept with role ``ignore``); the JSON becomes a multihot column named ``card.params["features_column"]``.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd

from socialgraph.data.errors import DataError
from socialgraph.data.graph import SocialGraph
from socialgraph.data.loaders._common import index_ids, multihot, read_table, require_columns, undirected
from socialgraph.data.schema import AttributeTable, Role


def read_edges(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """The two id columns of an edge CSV as int64 arrays."""
    frame = read_table(path)
    if frame.shape[1] != 2:
        raise DataError(f"expected two id columns, found {list(frame.columns)}", file=str(path), line=1)
    values = frame.apply(pd.to_numeric, errors="coerce")
    bad = np.flatnonzero(values.isna().any(axis=1).to_numpy())
    if len(bad):
        raise DataError(f"non-integer node id in row {frame.iloc[bad[0]].tolist()}", file=str(path),
                        line=int(bad[0]) + 2)
    return values.iloc[:, 0].to_numpy(np.int64), values.iloc[:, 1].to_numpy(np.int64)


def read_features(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """A ``{"id": [token, ...]}`` JSON as parallel ``(node ids, tokens)``; tokens stay ints or become strings."""
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as err:
        raise DataError(f"not valid JSON: {err}", file=str(path)) from err
    if not isinstance(raw, dict):
        raise DataError("expected a JSON object mapping node ids to lists of features", file=str(path))
    try:
        keys = np.fromiter((int(k) for k in raw), dtype=np.int64, count=len(raw))
    except ValueError as err:
        raise DataError(f"node ids must be integers: {err}", file=str(path)) from err
    lengths = np.fromiter((len(v) for v in raw.values()), dtype=np.int64, count=len(raw))
    flat = [t for v in raw.values() for t in v]
    tokens = np.asarray(flat, dtype=np.int64 if all(isinstance(t, int) for t in flat[:1000]) else str)
    return np.repeat(keys, lengths), tokens


def load(card, paths: Mapping[str, Path]) -> SocialGraph:
    params = card.params
    src, dst = read_edges(paths["edges"])
    id_arrays = [src, dst]
    target = None
    if "target" in paths:
        target = read_table(paths["target"])
        require_columns(target, [params["id_column"]], paths["target"])
        id_arrays.append(target[params["id_column"]].to_numpy(np.int64))
    feat_ids = tokens = None
    if "features" in paths:
        feat_ids, tokens = read_features(paths["features"])
        id_arrays.append(feat_ids)

    user_ids, rows = index_ids(*id_arrays)
    n = len(user_ids)
    frame = pd.DataFrame(index=range(n))
    roles: dict[str, Role] = {}
    if target is not None:
        cols = [c for c in target.columns if c != params["id_column"]]
        if target[params["id_column"]].duplicated().any():
            dup = target[params["id_column"]][target[params["id_column"]].duplicated()].iloc[0]
            raise DataError(f"node id {dup} appears twice", file=str(paths["target"]),
                            hint="each node must have one row")
        aligned = target[cols].set_axis(rows[2]).reindex(range(n))
        for c in cols:
            frame[c] = aligned[c].to_numpy()
            roles[c] = Role(params.get("roles", {}).get(c, "ignore"))
    if feat_ids is not None:
        col = params.get("features_column", "features")
        frame[col] = multihot(n, rows[-1], tokens)
        roles[col] = Role.MULTIHOT
    return SocialGraph(name=card.name, user_ids=user_ids, friends=undirected(rows[0], rows[1]), directed=False,
                       user_attrs=AttributeTable(frame, roles) if roles else None)
