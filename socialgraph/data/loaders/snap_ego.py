"""SNAP ego networks (McAuley & Leskovec 2012): Facebook (undirected), Twitter and Google+ (directed).

Files: ``<net>_combined.txt.gz`` (``a b`` per line: the union of all ego networks) and ``<net>.tar.gz`` holding, per
ego, ``<ego>.featnames`` (``<index> <name>``), ``<ego>.feat`` (``<node> <bit> <bit> ...``), ``<ego>.egofeat`` (the
ego's bits) and ``<ego>.circles`` (``<circle name>\\t<node> <node> ...``).

Mapping: users are the union of nodes in the edge list, the feature files and the egos; friends are the edge list
(undirected pairs for Facebook, rows as given for the directed networks). User attributes: ``features`` (multihot
of the names of the set bits; per-ego indices are translated through that ego's ``featnames`` so that one name
means one property across egos) and ``circles`` (multihot of ``<ego>:<circle name>``). Google+ ids exceed int64 and
are kept as strings.
"""
from __future__ import annotations

import gzip
import tarfile
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from socialgraph.data.errors import DataError
from socialgraph.data.graph import SocialGraph
from socialgraph.data.loaders._common import index_ids, multihot, undirected
from socialgraph.data.schema import AttributeTable, Role


def _ids(values: np.ndarray) -> np.ndarray:
    """Ids as int64 when every one fits, else as strings (Google+ ids have 21 digits)."""
    values = np.asarray(values, dtype=str)
    if len(values) == 0 or (np.char.str_len(values).max() <= 18 and np.char.isdigit(values).all()):
        return values.astype(np.int64)
    return values.astype(object)


def _read_ego_archive(path: Path):
    """Per-ego member texts: ``{ego: {suffix: text}}``."""
    egos: dict[str, dict[str, str]] = {}
    try:
        with tarfile.open(path) as tf:
            for m in tqdm(tf.getmembers(), desc=f"read {path.name}", leave=False, disable=None):
                if not m.isfile():
                    continue
                name = Path(m.name).name
                ego, _, suffix = name.partition(".")
                egos.setdefault(ego, {})[suffix] = tf.extractfile(m).read().decode("utf-8", errors="replace")
    except (tarfile.TarError, OSError, EOFError) as err:
        raise DataError(f"cannot read the ego-network archive: {err}", file=str(path)) from err
    return egos


def _feature_pairs(ego: str, files: dict[str, str], where: str):
    """``(node ids, feature names)`` of the set bits in ``<ego>.feat`` and ``<ego>.egofeat``."""
    names_txt = files.get("featnames", "")
    idx_name = [ln.split(" ", 1) for ln in names_txt.splitlines() if ln.strip()]
    names = np.array([nm for _, nm in idx_name], dtype=object)
    nodes_out, names_out = [], []
    for suffix, with_node in (("feat", True), ("egofeat", False)):
        text = files.get(suffix, "").strip()
        if not text:
            continue
        rows = [ln.split() for ln in text.splitlines()]
        node = np.array([r[0] for r in rows] if with_node else [ego], dtype=str)
        try:
            bits = np.array([r[1:] if with_node else r for r in rows], dtype=np.int8)
        except ValueError as err:
            raise DataError(f"ragged or non-binary feature rows: {err}", file=f"{where}:{ego}.{suffix}") from err
        if bits.shape[1] != len(names):
            raise DataError(f"{bits.shape[1]} feature columns but {len(names)} feature names",
                            file=f"{where}:{ego}.{suffix}")
        r, c = np.nonzero(bits)
        nodes_out.append(node[r])
        names_out.append(names[c])
    if not nodes_out:
        return np.empty(0, dtype=str), np.empty(0, dtype=object)
    return np.concatenate(nodes_out), np.concatenate(names_out)


def load(card, paths: Mapping[str, Path]) -> SocialGraph:
    directed = bool(card.params.get("directed", False))
    with gzip.open(paths["combined"], "rt") as fh:
        edges = pd.read_csv(fh, sep=r"\s+", header=None, dtype=str, comment="#").to_numpy()
    if edges.ndim != 2 or edges.shape[1] != 2:
        raise DataError(f"expected two node ids per line, got shape {edges.shape}", file=str(paths["combined"]))
    egos = _read_ego_archive(paths["egos"])

    feat_nodes, feat_names, circ_nodes, circ_names, ego_ids = [], [], [], [], []
    for ego, files in egos.items():
        ego_ids.append(ego)
        n, f = _feature_pairs(ego, files, str(paths["egos"]))
        feat_nodes.append(n)
        feat_names.append(f)
        for line in files.get("circles", "").splitlines():
            parts = line.split()
            if parts:
                circ_nodes.append(np.array(parts[1:], dtype=str))
                circ_names.append(np.full(len(parts) - 1, f"{ego}:{parts[0]}", dtype=object))
    cat = lambda xs, dt: np.concatenate(xs) if xs else np.empty(0, dtype=dt)  # noqa: E731
    f_nodes, c_nodes = cat(feat_nodes, str), cat(circ_nodes, str)
    all_ids = _ids(np.concatenate([edges[:, 0], edges[:, 1], f_nodes, c_nodes, np.array(ego_ids, dtype=str)]))
    sizes = np.cumsum([len(edges), len(edges), len(f_nodes), len(c_nodes)])
    user_ids, (rows,) = index_ids(all_ids)
    src, dst, fr, cr = np.split(rows, sizes)[:4]

    n = len(user_ids)
    frame = pd.DataFrame({"features": multihot(n, fr, cat(feat_names, object).astype(str)),
                          "circles": multihot(n, cr, cat(circ_names, object).astype(str))})
    friends = np.stack([src, dst], axis=1) if directed else undirected(src, dst)
    return SocialGraph(name=card.name, user_ids=user_ids, friends=friends, directed=directed,
                       user_attrs=AttributeTable(frame, {"features": Role.MULTIHOT, "circles": Role.MULTIHOT}))
