"""Planetoid citation graphs (Cora, CiteSeer, PubMed) read through ``torch_geometric.datasets.Planetoid``.

PyG reads ``<root>/<Name>/raw/ind.<name>.*`` offline but writes ``<root>/<Name>/processed/``, so the eight raw files
are copied into ``cache_root()/planetoid/<Name>/raw`` first (the data root stays untouched).

Mapping: users are the papers (rows ``0..n-1``, isolated papers included); friends are the citations as undirected
pairs; ``words`` is the multihot of the non-zero feature indices (binary bag of words for Cora / CiteSeer; for
PubMed the TF-IDF weights are reduced to the set of non-zero words); ``label`` is the class, categorical.
"""
from __future__ import annotations

import shutil
import warnings
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd

from socialgraph.data.errors import DataError
from socialgraph.data.graph import SocialGraph
from socialgraph.data.loaders._common import multihot, undirected
from socialgraph.data.schema import AttributeTable, Role
from socialgraph.paths import cache_root


def load(card, paths: Mapping[str, Path]) -> SocialGraph:
    from torch_geometric.datasets import Planetoid

    name = card.params["pyg_name"]
    root = cache_root() / "planetoid"
    raw = root / name / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for src in paths.values():
        dst = raw / src.name
        if not dst.exists() or dst.stat().st_size != src.stat().st_size:
            shutil.copyfile(src, dst)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # PyG's notes on processing, not the user's concern
            data = Planetoid(str(root), name)[0]
    except Exception as err:  # PyG raises plain exceptions on malformed raw files
        raise DataError(f"torch_geometric could not read the raw files: {err}", file=str(raw)) from err
    ei = data.edge_index.numpy()
    r, c = np.nonzero(data.x.numpy())
    n = int(data.num_nodes)
    frame = pd.DataFrame({"words": multihot(n, r, c), "label": data.y.numpy().astype(np.int64)})
    return SocialGraph(name=card.name, user_ids=np.arange(n, dtype=np.int64), friends=undirected(ei[0], ei[1]),
                       directed=False,
                       user_attrs=AttributeTable(frame, {"words": Role.MULTIHOT, "label": Role.CATEGORICAL}))
