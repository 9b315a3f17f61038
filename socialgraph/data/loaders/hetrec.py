"""HetRec 2011 Last.fm 2K (GroupLens): friendships, listen counts and tag assignments of 1,892 users.

Files (tab-separated, header line): ``user_friends.dat`` (userID, friendID; each friendship appears in both
directions), ``user_artists.dat`` (userID, artistID, weight = listen count), ``user_taggedartists.dat`` (userID,
artistID, tagID, day, month, year), ``artists.dat`` (id, name, url, pictureURL; UTF-8), ``tags.dat`` (tagID,
tagValue; Latin-1).

Mapping: users are the union of ids in the three user files; friends are undirected (one row per pair); items are
the artists of ``artists.dat`` and ``user_artists.dat``; engagements are listens with ``value = weight``. Tag
assignments become user attributes: ``tags`` (multihot of tag names the user applied) and ``tag_first_time`` /
``tag_last_time`` (numeric unix seconds of the user's first and last assignment, from day/month/year at 00:00 UTC).
Items carry ``name`` (text); the page and picture URLs are kept with role ``ignore``.
"""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd

from socialgraph.data.errors import DataError
from socialgraph.data.graph import SocialGraph
from socialgraph.data.loaders._common import index_ids, multihot, read_table, require_columns, undirected
from socialgraph.data.schema import AttributeTable, Role


def _dat(path: Path, columns: list[str], encoding: str = "utf-8") -> pd.DataFrame:
    # QUOTE_NONE: artist names contain bare quote characters that are part of the name.
    frame = read_table(path, sep="\t", quoting=csv.QUOTE_NONE, encoding=encoding, dtype=str, keep_default_na=False)
    require_columns(frame, columns, path)
    return frame


def _ints(frame: pd.DataFrame, col: str, path: Path) -> np.ndarray:
    values = pd.to_numeric(frame[col], errors="coerce")
    bad = np.flatnonzero(values.isna().to_numpy())
    if len(bad):
        raise DataError(f"column {col!r} holds a non-integer value {frame[col].iloc[bad[0]]!r}", file=str(path),
                        line=int(bad[0]) + 2)
    return values.to_numpy(dtype=np.int64)


def load(card, paths: Mapping[str, Path]) -> SocialGraph:
    pf, pa, pt = paths["friends"], paths["listens"], paths["tag_assignments"]
    friends = _dat(pf, ["userID", "friendID"])
    listens = _dat(pa, ["userID", "artistID", "weight"])
    tagged = _dat(pt, ["userID", "artistID", "tagID", "day", "month", "year"])
    artists = _dat(paths["artists"], ["id", "name", "url", "pictureURL"])
    tags = _dat(paths["tags"], ["tagID", "tagValue"], encoding="latin-1")

    f_u, f_v = _ints(friends, "userID", pf), _ints(friends, "friendID", pf)
    l_u, l_a = _ints(listens, "userID", pa), _ints(listens, "artistID", pa)
    t_u = _ints(tagged, "userID", pt)
    user_ids, (fu, fv, lu, tu) = index_ids(f_u, f_v, l_u, t_u)

    art_ids = _ints(artists, "id", paths["artists"])
    item_ids, (lr, ar) = index_ids(l_a, art_ids)

    time = pd.to_datetime(pd.DataFrame({"year": _ints(tagged, "year", pt), "month": _ints(tagged, "month", pt),
                                        "day": _ints(tagged, "day", pt)}), errors="coerce", utc=True)
    secs = (time - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)
    first = pd.Series(secs.to_numpy()).groupby(tu).min()
    last = pd.Series(secs.to_numpy()).groupby(tu).max()
    tag_name = dict(zip(_ints(tags, "tagID", paths["tags"]).tolist(), tags["tagValue"].tolist()))
    tag_ids = _ints(tagged, "tagID", pt)
    names = np.array([tag_name.get(t, f"tag{t}") for t in np.unique(tag_ids).tolist()], dtype=object)
    tag_tokens = names[np.searchsorted(np.unique(tag_ids), tag_ids)]

    n = len(user_ids)
    users = pd.DataFrame({
        "tags": multihot(n, tu, tag_tokens.astype(str)),
        "tag_first_time": first.reindex(range(n)).to_numpy(dtype=np.float64),
        "tag_last_time": last.reindex(range(n)).to_numpy(dtype=np.float64),
    })
    items = pd.DataFrame({"name": pd.Series([None] * len(item_ids), dtype=object),
                          "url": None, "picture_url": None})
    items.loc[ar, "name"] = artists["name"].to_numpy()
    items.loc[ar, "url"] = artists["url"].to_numpy()
    items.loc[ar, "picture_url"] = artists["pictureURL"].replace("", None).to_numpy()
    return SocialGraph(
        name=card.name, user_ids=user_ids, friends=undirected(fu, fv), directed=False,
        item_ids=item_ids, engagements=np.stack([lu, lr], axis=1),
        engagement_value=_ints(listens, "weight", pa).astype(np.float64),
        user_attrs=AttributeTable(users, {"tags": Role.MULTIHOT, "tag_first_time": Role.NUMERIC,
                                          "tag_last_time": Role.NUMERIC}),
        item_attrs=AttributeTable(items, {"name": Role.TEXT, "url": Role.IGNORE, "picture_url": Role.IGNORE}))
