"""Tang et al.'s trust datasets (Ciao, Epinions): MATLAB files of directed trust and product ratings.

Files: ``trustnetwork.mat`` (key ``trustnetwork``: rows ``[truster, trustee]``), ``rating.mat`` (key ``rating``: rows
``[user, product, category, rating, helpfulness]``), optionally ``rating_with_timestamp.mat`` (same rows plus a unix
time column; used instead of ``rating.mat`` when present) and a catalog (``<category id> <name>`` per line).

Mapping: users are the union of raters and trust endpoints; trust is directed (every row kept); engagements are
rating rows with ``value = rating`` (repeated ratings of an item stay separate rows, each with its own time); items
carry ``category`` (categorical, named from the catalog; an item filed under several categories takes its most
frequent one, ties to the lowest id).
"""
from __future__ import annotations

from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd

from socialgraph.data.errors import DataError
from socialgraph.data.graph import SocialGraph
from socialgraph.data.loaders._common import index_ids, read_mat_variable
from socialgraph.data.schema import AttributeTable, Role


def read_mat_array(path: Path, key: str, min_cols: int) -> np.ndarray:
    """The int64 matrix ``key`` of a MATLAB file, with at least ``min_cols`` columns."""
    arr = np.asarray(read_mat_variable(path, key))
    if arr.ndim != 2 or arr.shape[1] < min_cols:
        raise DataError(f"variable {key!r} has shape {arr.shape}, expected [rows, >= {min_cols}]", file=str(path))
    return arr.astype(np.int64)


def read_catalog(path: Path) -> dict[int, str]:
    """``<id> <name>`` lines -> ``{id: name}`` (names may contain spaces; Latin-1 tolerated)."""
    out = {}
    for n, line in enumerate(path.read_text(encoding="latin-1").splitlines(), start=1):
        if not line.strip():
            continue
        head, _, name = line.strip().partition(" ")
        if not head.isdigit():
            raise DataError(f"expected '<category id> <name>', got {line!r}", file=str(path), line=n)
        out[int(head)] = name.strip()
    return out


def load(card, paths: Mapping[str, Path]) -> SocialGraph:
    trust = read_mat_array(paths["trust"], card.params.get("trust_key", "trustnetwork"), 2)
    timed = "ratings_time" in paths
    rpath = paths["ratings_time"] if timed else paths["ratings"]
    ratings = read_mat_array(rpath, card.params.get("rating_key", "rating"), 6 if timed else 5)

    user_ids, (ru, ts, td) = index_ids(ratings[:, 0], trust[:, 0], trust[:, 1])
    item_ids, (ri,) = index_ids(ratings[:, 1])

    # Most frequent category per item: count (item, category) pairs, keep the top row of each item.
    pairs, counts = np.unique(np.stack([ri, ratings[:, 2]], axis=1), axis=0, return_counts=True)
    order = np.lexsort((pairs[:, 1], -counts, pairs[:, 0]))
    first = order[np.r_[True, pairs[order[1:], 0] != pairs[order[:-1], 0]]]
    category = pd.Series([None] * len(item_ids), dtype=object)
    names = read_catalog(paths["catalog"]) if "catalog" in paths else {}
    category.iloc[pairs[first, 0]] = [names.get(c, str(c)) for c in pairs[first, 1].tolist()]

    return SocialGraph(
        name=card.name, user_ids=user_ids, friends=np.stack([ts, td], axis=1), directed=True,
        item_ids=item_ids, engagements=np.stack([ru, ri], axis=1),
        engagement_value=ratings[:, 3].astype(np.float64),
        engagement_time=ratings[:, 5].astype(np.int64) if timed else None,
        item_attrs=AttributeTable(pd.DataFrame({"category": category}), {"category": Role.CATEGORICAL}))
