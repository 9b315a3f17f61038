"""Guo et al.'s trust datasets from LibRec: FilmTrust and CiaoDVD.

FilmTrust: ``ratings.txt`` (``user item rating``, space-separated, ratings 0.5-4) and ``trust.txt`` (``trustor
trustee value``). CiaoDVD: ``movie-ratings.txt`` (``userID,movieID,genreID,reviewID,movieRating,date`` with dates
``YYYY-MM-DD``) and ``trusts.txt`` (``trustorID,trusteeID,trustValue``).

Mapping: users are the union of raters and trust endpoints; trust is directed with ``friend_weight = value``;
ratings are engagements with value (and, for CiaoDVD, time at 00:00 UTC of the date; items carry ``genre`` as a
categorical attribute).
"""
from __future__ import annotations

from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd

from socialgraph.data.errors import DataError
from socialgraph.data.graph import SocialGraph
from socialgraph.data.loaders._common import index_ids, read_table
from socialgraph.data.schema import AttributeTable, Role

_FORMATS = {
    "filmtrust": dict(sep=r"\s+", ratings=["user", "item", "rating"], trust=["src", "dst", "value"]),
    "ciaodvd": dict(sep=",", ratings=["user", "item", "genre", "review", "rating", "date"],
                    trust=["src", "dst", "value"]),
}


def _read(path: Path, sep: str, names: list[str]) -> pd.DataFrame:
    frame = read_table(path, sep=sep, header=None, names=names, engine="python" if sep != "," else "c")
    bad = np.flatnonzero(frame.isna().any(axis=1).to_numpy())
    if len(bad):
        raise DataError(f"expected {len(names)} fields ({', '.join(names)})", file=str(path), line=int(bad[0]) + 1)
    return frame


def load(card, paths: Mapping[str, Path]) -> SocialGraph:
    fmt = card.params.get("format", "filmtrust")
    if fmt not in _FORMATS:
        raise DataError(f"unknown format {fmt!r} in card params", file=str(card.source), hint=f"use one of {list(_FORMATS)}")
    spec = _FORMATS[fmt]
    ratings = _read(paths["ratings"], spec["sep"], spec["ratings"])
    trust = _read(paths["trust"], spec["sep"], spec["trust"])
    user_ids, (ru, ts, td) = index_ids(ratings["user"].to_numpy(np.int64), trust["src"].to_numpy(np.int64),
                                       trust["dst"].to_numpy(np.int64))
    item_ids, (ri,) = index_ids(ratings["item"].to_numpy(np.int64))
    time = item_attrs = None
    if "date" in ratings:
        stamp = pd.to_datetime(ratings["date"], format="%Y-%m-%d", errors="coerce", utc=True)
        if stamp.isna().any():
            raise DataError(f"unreadable date {ratings['date'][stamp.isna()].iloc[0]!r}", file=str(paths["ratings"]),
                            line=int(np.flatnonzero(stamp.isna().to_numpy())[0]) + 1, hint="dates are YYYY-MM-DD")
        time = ((stamp - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)).to_numpy(np.int64)
    if "genre" in ratings:
        genre = pd.Series(ratings["genre"].to_numpy()).groupby(ri).agg(lambda s: s.mode().min())
        item_attrs = AttributeTable(pd.DataFrame({"genre": genre.reindex(range(len(item_ids))).to_numpy()}),
                                    {"genre": Role.CATEGORICAL})
    return SocialGraph(
        name=card.name, user_ids=user_ids, friends=np.stack([ts, td], axis=1), directed=True,
        friend_weight=trust["value"].to_numpy(np.float64), item_ids=item_ids, engagements=np.stack([ru, ri], axis=1),
        engagement_value=ratings["rating"].to_numpy(np.float64), engagement_time=time, item_attrs=item_attrs)
