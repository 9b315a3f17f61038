"""MovieLens 100K (GroupLens), joined with ML-1M poster images and an IMDB scrape of descriptions.

Files: ``u.data`` (tab-separated ``user item rating unix_time``), ``u.user`` (``id|age|gender|occupation|zip``),
``u.item`` (``id|title|release date|video release date|IMDb URL|<19 genre flags>``, Latin-1), ``u.genre``
(``name|index``); optionally the posters' ``movies.dat`` (``ml1m_id::title::genres``) with ``MovieImages/<id>.jpg``,
and ``movielens100k_details.json`` (records with ``movie_id`` and ``description``).

Mapping: an engagement-only dataset (no friend edges). Engagements are ratings with value and time. Users carry
``age`` (numeric), ``gender``, ``occupation`` (categorical) and ``zip`` (ignore). Items carry ``title`` (text),
``genres`` (multihot of genre names), ``release_time`` (numeric unix seconds), ``poster`` (image path, matched to
the ML-1M poster set by exact title; ``None`` where no poster matches) and ``description`` (text, by movie id).
"""
from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd

from socialgraph.data.errors import DataError
from socialgraph.data.graph import SocialGraph
from socialgraph.data.loaders._common import multihot, read_table, rows_of
from socialgraph.data.schema import AttributeTable, Role


def _psv(path: Path, names: list[str], sep: str = "|", encoding: str = "latin-1") -> pd.DataFrame:
    frame = read_table(path, sep=sep, header=None, encoding=encoding, quoting=csv.QUOTE_NONE,
                       engine="python" if len(sep) > 1 else "c", keep_default_na=False, dtype=str)
    if frame.shape[1] != len(names):
        raise DataError(f"expected {len(names)} fields per line, found {frame.shape[1]}", file=str(path),
                        hint="use the original ml-100k files")
    return frame.set_axis(names, axis=1)


def _posters(paths: Mapping[str, Path], titles: pd.Series) -> list:
    if "poster_movies" not in paths or "posters" not in paths:
        return [None] * len(titles)
    movies = _psv(paths["poster_movies"], ["id", "title", "genres"], sep="::")
    # Exact title match after trimming whitespace (a few u.item titles carry a trailing space).
    first = movies.assign(title=movies["title"].str.strip()).drop_duplicates("title").set_index("title")["id"]
    images = paths["posters"]
    out = []
    for ml1m in titles.str.strip().map(first).tolist():
        p = None if pd.isna(ml1m) else images / f"{ml1m}.jpg"
        out.append(str(p) if p is not None and p.exists() else None)
    return out


def _descriptions(paths: Mapping[str, Path], item_ids: np.ndarray) -> list:
    if "imdb" not in paths:
        return [None] * len(item_ids)
    try:
        records = json.loads(paths["imdb"].read_text(encoding="utf-8"))
    except ValueError as err:
        raise DataError(f"not valid JSON: {err}", file=str(paths["imdb"])) from err
    text = {int(r["movie_id"]): (r.get("description") or None) for r in records if "movie_id" in r}
    return [text.get(i) for i in item_ids.tolist()]


def load(card, paths: Mapping[str, Path]) -> SocialGraph:
    genres = _psv(paths["genres"], ["name", "index"]).replace("", np.nan).dropna()
    genre_names = genres.sort_values("index", key=lambda s: s.astype(int))["name"].tolist()
    items = _psv(paths["items"], ["id", "title", "release", "video_release", "url", *genre_names])
    users = _psv(paths["users"], ["id", "age", "gender", "occupation", "zip"])
    ratings = read_table(paths["ratings"], sep="\t", header=None, names=["user", "item", "rating", "time"])
    if ratings.isna().any().any():
        raise DataError("ratings must have four tab-separated fields", file=str(paths["ratings"]),
                        line=int(np.flatnonzero(ratings.isna().any(axis=1).to_numpy())[0]) + 1)

    user_ids = users["id"].astype(np.int64).to_numpy()
    item_ids = items["id"].astype(np.int64).to_numpy()
    if not (np.all(np.diff(user_ids) > 0) and np.all(np.diff(item_ids) > 0)):
        raise DataError("user and item ids must be distinct and ascending", file=str(paths["users"]))
    ur = rows_of(user_ids, ratings["user"].to_numpy(np.int64), file=paths["ratings"], what="user")
    ir = rows_of(item_ids, ratings["item"].to_numpy(np.int64), file=paths["ratings"], what="item")

    flags = items[genre_names].to_numpy(dtype=np.int8)
    gr, gc = np.nonzero(flags)
    release = pd.to_datetime(items["release"], format="%d-%b-%Y", errors="coerce", utc=True)
    item_frame = pd.DataFrame({
        "title": items["title"],
        "genres": multihot(len(item_ids), gr, np.array(genre_names, dtype=str)[gc]),
        "release_time": ((release - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)).astype("float64"),
        "poster": _posters(paths, items["title"]),
        "description": _descriptions(paths, item_ids),
    })
    user_frame = pd.DataFrame({"age": users["age"].astype(np.float64), "gender": users["gender"],
                               "occupation": users["occupation"], "zip": users["zip"]})
    return SocialGraph(
        name=card.name, user_ids=user_ids, friends=np.empty((0, 2), dtype=np.int64), directed=False,
        item_ids=item_ids, engagements=np.stack([ur, ir], axis=1),
        engagement_value=ratings["rating"].to_numpy(np.float64), engagement_time=ratings["time"].to_numpy(np.int64),
        user_attrs=AttributeTable(user_frame, {"age": Role.NUMERIC, "gender": Role.CATEGORICAL,
                                               "occupation": Role.CATEGORICAL, "zip": Role.IGNORE}),
        item_attrs=AttributeTable(item_frame, {"title": Role.TEXT, "genres": Role.MULTIHOT,
                                               "release_time": Role.NUMERIC, "poster": Role.IMAGE,
                                               "description": Role.TEXT}))
