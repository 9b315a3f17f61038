"""Facebook100 (Traud et al.): one ``<School>.mat`` per school with ``A`` and ``local_info``.

``A`` is the sparse symmetric friendship adjacency (friends: upper-triangle non-zeros, self-loops dropped);
``local_info`` has one row per user and seven integer columns, each a categorical attribute where ``0`` means
missing: student/faculty status, gender, major, second major, dorm/house, year, high school.
"""
from __future__ import annotations

from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd
import scipy.io

from socialgraph.data.errors import DataError
from socialgraph.data.graph import SocialGraph
from socialgraph.data.loaders._common import undirected
from socialgraph.data.loaders.seal import read_adjacency
from socialgraph.data.schema import AttributeTable, Role

LOCAL_INFO = ("status", "gender", "major", "second_major", "dorm", "year", "high_school")


def load(card, paths: Mapping[str, Path]) -> SocialGraph:
    path = paths["graph"]
    a = read_adjacency(path, "A")
    info = np.asarray(scipy.io.loadmat(path, variable_names=["local_info"]).get("local_info", np.empty((0, 0))))
    if info.shape != (a.shape[0], len(LOCAL_INFO)):
        raise DataError(f"local_info has shape {info.shape}, expected ({a.shape[0]}, {len(LOCAL_INFO)})",
                        file=str(path), hint="the file is not a Facebook100 school graph")
    # Codes are labels, not quantities: keep them as categories, with 0 (missing) as a missing value.
    frame = pd.DataFrame({c: pd.Series(info[:, j].astype(np.int64)).where(info[:, j] != 0).astype("Int64")
                          for j, c in enumerate(LOCAL_INFO)})
    return SocialGraph(name=card.name, user_ids=np.arange(a.shape[0], dtype=np.int64),
                       friends=undirected(a.row, a.col), directed=False,
                       user_attrs=AttributeTable(frame, {c: Role.CATEGORICAL for c in LOCAL_INFO}))
