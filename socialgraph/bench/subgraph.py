"""Induced subgraphs: the small datasets ``--quick`` runs use, and modality ablations."""
from __future__ import annotations

from dataclasses import replace
import numpy as np

from socialgraph.data.graph import SocialGraph
from socialgraph.data.schema import AttributeTable, Role


def top_users(graph: SocialGraph, num: int) -> np.ndarray:
    """The ``num`` users with the most friends (ties by row), sorted: a dense, small, still social core."""
    deg = graph.degrees()
    return np.sort(np.argsort(-deg, kind="stable")[:num])


def induced(graph: SocialGraph, users: np.ndarray) -> SocialGraph:
    """``graph`` restricted to the user rows ``users`` (renumbered in the given order) and to the items they engaged
    with; attributes, engagement values and times follow their rows."""
    users = np.asarray(users, dtype=np.int64)
    new = np.full(graph.num_users, -1, dtype=np.int64)
    new[users] = np.arange(len(users))
    f = new[graph.friends]
    keep_f = (f >= 0).all(1)
    g = replace(graph, user_ids=graph.user_ids[users], friends=f[keep_f],
                friend_weight=None if graph.friend_weight is None else graph.friend_weight[keep_f],
                friend_time=None if graph.friend_time is None else graph.friend_time[keep_f],
                user_attrs=None if graph.user_attrs is None else graph.user_attrs.take(users),
                blocked=None, name=f"{graph.name}[{len(users)}]")
    if graph.num_engagements:
        e = graph.engagements.copy()
        e[:, 0] = new[e[:, 0]]
        rows = np.flatnonzero(e[:, 0] >= 0)
        items = np.unique(e[rows, 1])
        inew = np.full(graph.num_items, -1, dtype=np.int64)
        inew[items] = np.arange(len(items))
        e = np.c_[e[rows, 0], inew[e[rows, 1]]]
        g = replace(g, item_ids=graph.item_ids[items], engagements=e,
                    engagement_value=None if graph.engagement_value is None else graph.engagement_value[rows],
                    engagement_time=None if graph.engagement_time is None else graph.engagement_time[rows],
                    item_attrs=None if graph.item_attrs is None else graph.item_attrs.take(items))
    return g


def without_modality(graph: SocialGraph, modality: str) -> SocialGraph:
    """``graph`` without one user modality: a role's columns lose that role, ``"interactions"`` drops engagements."""
    if modality == "interactions":
        return replace(graph, item_ids=None, engagements=None, engagement_value=None, engagement_time=None,
                       item_attrs=None)
    role = Role(modality)
    t = graph.user_attrs
    if t is None:
        return graph
    return replace(graph, user_attrs=AttributeTable(t.frame, {c: r for c, r in t.roles.items() if r is not role}))


def user_modalities(graph: SocialGraph) -> list[str]:
    return list(graph.modalities()["user"])
