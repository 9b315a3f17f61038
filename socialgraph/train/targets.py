"""Targets of the content-preference head: what categories (genres, tags, item categories) a user prefers.

Two sources, in order of preference:

1. ``items:<column>``: a categorical or multi-hot column of the items (MovieLens genres, Ciao categories), spread
   over each user's engagements weighted by :math:`\\log(1 + \\text{value})`: :math:`q(c|u) \\propto \\sum_{i}
   w_{ui} [c \\in \\mathrm{cat}(i)]`. Evaluation uses the categories of held-out engagements.
2. ``users:<column>``: a multi-hot column of the users themselves (the tags a Last.fm user applied). Evaluation
   holds out users, whose column is hidden from the model's inputs.

:func:`preference_task` chooses the source and the held-out users of a run (:class:`PreferenceTask`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch

from socialgraph.data.graph import SocialGraph
from socialgraph.data.schema import AttributeTable, Role
from socialgraph.model.social_model import NodeInputs


@dataclass
class PreferenceTargets:
    """Category names and a ``[num_users, C]`` row-normalised target distribution (zero rows: unobserved)."""

    source: str
    names: list[str]
    matrix: sp.csr_matrix


@dataclass(frozen=True)
class PreferenceTask:
    """What the preference head of one run learns, and whom it is judged on.

    Attributes:
        targets: the training targets: from the training engagements (``items:`` sources) or every user's own
            column (``users:`` sources).
        held_users: sorted user rows held out of a ``users:`` source, their column hidden from their inputs in
            training and evaluation; ``None`` for ``items:`` sources (held-out engagements judge those) and for
            columns that 10 users or fewer have.
    """

    targets: PreferenceTargets
    held_users: Optional[np.ndarray] = None

    @property
    def source(self) -> str:
        return self.targets.source

    def hide_held_column(self, users: NodeInputs) -> NodeInputs:
        """``users`` with the source column marked missing for the held-out users (the same inputs otherwise):
        scoring them with it visible would read the answer."""
        if self.held_users is None:
            return users
        modality = f"multihot:{self.source.split(':', 1)[1]}"
        if modality not in users.mask:
            return users
        mask = dict(users.mask)
        m = mask[modality].clone()
        m[torch.from_numpy(self.held_users).to(m.device)] = False
        mask[modality] = m
        return NodeInputs(users.num, users.x, mask, users.known, users.positions)


def preference_task(graph: SocialGraph, engagement_rows: Optional[np.ndarray], seed: int) -> Optional[PreferenceTask]:
    """The preference task of ``graph`` (``None`` without a source, :func:`find_preference_source`).

    ``items:`` sources learn from the engagements ``engagement_rows`` (the training ones). ``users:`` sources hold
    out a tenth of the users with the column (when more than 10 have it), drawn from a stream of their own
    (``seed + 7``), so that the choice never shifts another draw of the run."""
    source = find_preference_source(graph)
    if source is None:
        return None
    if source.startswith("items:"):
        return PreferenceTask(preference_targets(graph, source, engagement_rows))
    t = preference_targets(graph, source)
    has = np.flatnonzero(np.diff(t.matrix.indptr) > 0)
    rng = np.random.default_rng(seed + 7)
    held = np.sort(rng.choice(has, size=max(1, len(has) // 10), replace=False)) if len(has) > 10 else None
    return PreferenceTask(t, held)


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
