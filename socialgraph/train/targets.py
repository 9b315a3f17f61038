"""Targets of the content-preference head: what categories (genres, tags, item categories) a user prefers.

Two sources, in order of preference:

1. ``items:<column>``: a categorical or multi-hot column of the items (MovieLens genres, Ciao categories), spread
   over each user's engagements weighted by :math:`\\log(1 + \\text{value})`: :math:`q(c|u) \\propto \\sum_{i}
   w_{ui} [c \\in \\mathrm{cat}(i)]`. Evaluation uses the categories of held-out engagements.
2. ``users:<column>``: a multi-hot column of the users themselves (the tags a Last.fm user applied). Evaluation
   holds out users, whose column is hidden from the model's inputs.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
import pandas as pd
import scipy.sparse as sp

from socialgraph.data.graph import SocialGraph
from socialgraph.data.schema import AttributeTable, Role


@dataclass
class PreferenceTargets:
    """Category names and a ``[num_users, C]`` row-normalised target distribution (zero rows: unobserved)."""

    source: str
    names: list[str]
    matrix: sp.csr_matrix


def find_preference_source(graph: SocialGraph) -> Optional[str]:
    """The column preferences are learned from, or ``None`` (see the module docstring)."""
    if graph.num_engagements and graph.item_attrs is not None:
        for role in (Role.MULTIHOT, Role.CATEGORICAL):
            cols = graph.item_attrs.columns(role)
            if cols:
                return f"items:{cols[0]}"
    if graph.user_attrs is not None:
        cols = graph.user_attrs.columns(Role.MULTIHOT)
        if cols:
            return f"users:{cols[0]}"
    return None


def _token_matrix(table: AttributeTable, column: str, max_categories: int,
                  names: Optional[list[str]] = None) -> tuple[list[str], sp.csr_matrix]:
    values = table.frame[column]
    lists = [v if isinstance(v, (list, tuple, np.ndarray)) else ([] if _missing(v) else [v]) for v in values]
    tokens = pd.Series([str(t) for row in lists for t in row])
    if names is None:
        names = tokens.value_counts().index[:max_categories].tolist() if len(tokens) else []
    index = {n: i for i, n in enumerate(names)}
    rows, cols = [], []
    for r, row in enumerate(lists):
        for t in row:
            c = index.get(str(t))
            if c is not None:
                rows.append(r)
                cols.append(c)
    m = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(len(lists), len(names)))
    m.data[:] = 1.0
    return names, m


def preference_targets(graph: SocialGraph, source: str, engagement_rows: Optional[np.ndarray] = None,
                       names: Optional[list[str]] = None, max_categories: int = 200) -> PreferenceTargets:
    """Targets from ``source`` (``items:<col>`` or ``users:<col>``); ``engagement_rows`` restricts which
    engagements count (training rows for training targets, held-out rows for evaluation)."""
    side, column = source.split(":", 1)
    if side == "items":
        names, item_cat = _token_matrix(graph.item_attrs, column, max_categories, names)
        g = graph if engagement_rows is None else graph.with_engagements(engagement_rows)
        w = g.engagement_matrix()
        w.data = np.log1p(np.maximum(w.data, 0)).astype(np.float32) + 1e-3
        m = sp.csr_matrix(w @ item_cat)
    else:
        names, m = _token_matrix(graph.user_attrs, column, max_categories, names)
    total = np.asarray(m.sum(1)).ravel()
    m = sp.diags(1.0 / np.maximum(total, 1e-12)) @ m
    return PreferenceTargets(source, list(names), sp.csr_matrix(m, dtype=np.float32))


def _missing(v) -> bool:
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False
