"""Conversions between :class:`SocialGraph` and pandas tables, NetworkX graphs and PyG ``HeteroData``.

:func:`from_pandas` is the one place where raw tables become a graph, so every reader (the folder format,
:func:`from_networkx`, dataset loaders) gets the same validation (:mod:`socialgraph.data.validation`). Its tables
are those of the folder format (``docs/data-format.md``), with external ids:

* ``friends``: ``src, dst`` [, ``weight``, ``time``]
* ``users``: ``user_id`` + attribute columns; ``items``: ``item_id`` + attribute columns
* ``engagements``: ``user_id, item_id`` [, ``value``, ``time``]
* ``blocked``: ``src, dst``

User rows are the users table's rows in order, then ids met only in friend edges (and, without a users table, in
engagements) in order of first appearance; item rows likewise. :func:`to_pandas` writes the tables back in row
order, so ``from_pandas(**to_pandas(g), directed=g.directed, roles=graph_roles(g))`` equals ``g``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional, Union

import numpy as np
import pandas as pd

from socialgraph.data.errors import DataError
from socialgraph.data.graph import SocialGraph, canonical_pairs
from socialgraph.data.schema import AttributeTable, Role, infer_roles
from socialgraph.data.validation import (
    Table, check_roles, check_same_id_kind, check_unique_ids, coerce_attributes, dedupe_edges, drop_self_loops,
    parse_float, parse_ids, parse_time, require_columns, rows_of,
)

TableLike = Union[pd.DataFrame, Table]
RolesLike = Mapping[str, Mapping[str, Union[Role, str]]]

#: Required columns and a correct header, per table of the folder format.
TABLES: dict[str, tuple[tuple[str, ...], str]] = {
    "friends": (("src", "dst"), "src,dst,weight,time"),
    "users": (("user_id",), "user_id,bio,age"),
    "items": (("item_id",), "item_id,title"),
    "engagements": (("user_id", "item_id"), "user_id,item_id,value,time"),
    "blocked": (("src", "dst"), "src,dst"),
}


def _table(kind: str, t: Optional[TableLike]) -> Optional[Table]:
    if t is None or isinstance(t, Table):
        out = t
    elif isinstance(t, pd.DataFrame):
        out = Table(t, f"{kind} table")
    else:
        raise TypeError(f"{kind} must be a pandas DataFrame, not {type(t).__name__}")
    if out is not None:
        required, example = TABLES[kind]
        require_columns(out, required, example)
    return out


def _union(parts: list[np.ndarray]) -> np.ndarray:
    """Distinct ids of ``parts`` in order of first appearance (int64 or object of str)."""
    parts = [p for p in parts if len(p)]
    if not parts:
        return np.zeros(0, dtype=np.int64)
    return pd.unique(np.concatenate(parts) if len(parts) > 1 else parts[0])


def _attrs(table: Optional[Table], id_column: str, kind: str, declared: Mapping[str, Union[Role, str]],
           n: int, base_dir: Optional[Path]) -> Optional[AttributeTable]:
    """Attribute table aligned to ``n`` rows (the table's rows first, then rows with every value missing)."""
    if table is None:
        if declared:
            raise DataError(f"roles are given for {kind} columns {sorted(declared)} but there is no {kind} table",
                            hint=f"add a {kind} table or drop those roles")
        return None
    if len(table.frame.columns) == 1:
        return None
    roles = infer_roles(table.frame, id_column)
    roles.update(check_roles(table, declared, id_column, schema_file="roles"))
    frame = coerce_attributes(table, id_column, roles, base_dir)
    if n > len(frame):
        frame = frame.reindex(range(n))
        obj = frame.columns[frame.dtypes == object]
        frame[obj] = frame[obj].astype(object).where(frame[obj].notna(), None)
    return AttributeTable(frame, roles)


def from_pandas(friends: TableLike, users: Optional[TableLike] = None, items: Optional[TableLike] = None,
                engagements: Optional[TableLike] = None, blocked: Optional[TableLike] = None, *,
                directed: bool = False, roles: Optional[RolesLike] = None, self_loops: str = "drop",
                name: str = "graph", base_dir: Optional[Union[str, os.PathLike]] = None) -> SocialGraph:
    """A validated :class:`SocialGraph` from tables of the folder format.

    Args:
        friends, users, items, engagements, blocked: ``DataFrame`` s (or :class:`~socialgraph.data.validation.Table`
            s, which also carry file names and line numbers for messages).
        directed: keep ``(a, b)`` and ``(b, a)`` apart; otherwise friend edges are stored once per pair with
            ``src < dst`` (by row).
        roles: ``{"users": {column: role}, "items": {...}}``; undeclared columns are inferred by
            :func:`~socialgraph.data.schema.infer_roles`.
        self_loops: ``"drop"`` (with a warning) or ``"error"``.
        base_dir: the folder relative image paths are taken from (default: the working directory).

    Raises:
        DataError: naming the table, line / row and id, for any of the problems listed in
            :mod:`socialgraph.data.validation`.
    """
    roles = _check_role_keys(roles)
    base = Path(base_dir) if base_dir is not None else None
    t = _Tables(_table("friends", friends), _table("users", users), _table("items", items),
                _table("engagements", engagements), _table("blocked", blocked))
    ids = _parse_ids(t)
    user_ids = _user_ids(t, ids)
    user_index = pd.Index(user_ids)
    edges, keep, weight, ftime = _friend_edges(t.friends, ids, user_ids, user_index, directed, self_loops)
    item_ids, eng, value, etime = _engagements(t, ids, user_index)
    _check_not_empty(t.friends, edges, keep, eng)
    blocked_rows = _blocked_rows(t.blocked, ids, user_index)
    return SocialGraph(
        user_ids=np.asarray(user_ids), friends=edges, directed=bool(directed),
        friend_weight=None if weight is None else weight[keep],
        friend_time=None if ftime is None else ftime[keep],
        item_ids=None if item_ids is None else np.asarray(item_ids),
        engagements=eng, engagement_value=value, engagement_time=etime,
        user_attrs=_attrs(t.users, "user_id", "users", roles.get("users", {}), len(user_ids), base),
        item_attrs=_attrs(t.items, "item_id", "items", roles.get("items", {}), 0 if item_ids is None
                          else len(item_ids), base),
        blocked=blocked_rows, name=name)


@dataclass(frozen=True)
class _Tables:
    """The tables of one :func:`from_pandas` call, columns checked (``None``: not given)."""

    friends: Table
    users: Optional[Table]
    items: Optional[Table]
    engagements: Optional[Table]
    blocked: Optional[Table]


@dataclass(frozen=True)
class _Ids:
    """Every id column of the tables, parsed (empty where the table is absent)."""

    src: np.ndarray        # friends
    dst: np.ndarray
    users: np.ndarray      # users.user_id
    eng_users: np.ndarray  # engagements.user_id / item_id
    eng_items: np.ndarray
    items: np.ndarray      # items.item_id
    blocked_src: np.ndarray
    blocked_dst: np.ndarray


def _check_role_keys(roles: Optional[RolesLike]) -> dict:
    roles = dict(roles or {})
    unknown = set(roles) - {"users", "items"}
    if unknown:
        raise ValueError(f"roles are keyed by 'users' / 'items', not {sorted(unknown)}")
    return roles


def _parse_ids(t: _Tables) -> _Ids:
    """Parse every id column, then check one id kind per entity across the tables and unique table ids."""
    def parse(table: Optional[Table], column: str) -> np.ndarray:
        return parse_ids(table, column) if table is not None else np.zeros(0, dtype=np.int64)

    # parsed in this order so that the first bad column reported stays the same
    ids = _Ids(src=parse_ids(t.friends, "src"), dst=parse_ids(t.friends, "dst"), users=parse(t.users, "user_id"),
               eng_users=parse(t.engagements, "user_id"), eng_items=parse(t.engagements, "item_id"),
               items=parse(t.items, "item_id"), blocked_src=parse(t.blocked, "src"),
               blocked_dst=parse(t.blocked, "dst"))
    user_cols = [(t.friends, "src", ids.src), (t.friends, "dst", ids.dst)]
    user_cols = ([(t.users, "user_id", ids.users)] if t.users is not None else []) + user_cols
    user_cols += [(t.engagements, "user_id", ids.eng_users)] if t.engagements is not None else []
    user_cols += ([(t.blocked, "src", ids.blocked_src), (t.blocked, "dst", ids.blocked_dst)]
                  if t.blocked is not None else [])
    check_same_id_kind(user_cols, "user")
    item_cols = ([(t.items, "item_id", ids.items)] if t.items is not None else [])
    item_cols += [(t.engagements, "item_id", ids.eng_items)] if t.engagements is not None else []
    check_same_id_kind(item_cols, "item")
    if t.users is not None:
        check_unique_ids(t.users, "user_id", ids.users)
    if t.items is not None:
        check_unique_ids(t.items, "item_id", ids.items)
    return ids


def _user_ids(t: _Tables, ids: _Ids) -> np.ndarray:
    """User rows: the users table's, then ids met only in friend edges (and, without a users table, in
    engagements), in order of first appearance."""
    return _union([ids.users, np.column_stack([ids.src, ids.dst]).ravel()]
                  + ([ids.eng_users] if t.users is None else []))


def _friend_edges(friends_t: Table, ids: _Ids, user_ids: np.ndarray, user_index: pd.Index, directed: bool,
                  self_loops: str) -> tuple[np.ndarray, np.ndarray, Optional[np.ndarray], Optional[np.ndarray]]:
    """``(edges [m, 2] of rows, kept friend rows, weight, time)``: self-loops and duplicates dropped, undirected
    pairs stored ``src < dst``; weight and time are per friend row (``[keep]`` selects the edges')."""
    s_row = user_index.get_indexer(ids.src).astype(np.int64)
    d_row = user_index.get_indexer(ids.dst).astype(np.int64)
    weight = parse_float(friends_t, "weight", allow_nan=False) if "weight" in friends_t.frame else None
    ftime = parse_time(friends_t, "time") if "time" in friends_t.frame else None
    ok = drop_self_loops(friends_t, s_row, d_row, user_ids, self_loops)
    kept_t = friends_t.take(ok)
    keep = np.flatnonzero(ok)[dedupe_edges(kept_t, s_row[ok], d_row[ok], user_ids, len(user_ids), directed)]
    edges = np.column_stack([s_row[keep], d_row[keep]]).astype(np.int64).reshape(-1, 2)
    if not directed:
        edges = np.sort(edges, axis=1)
    return edges, keep, weight, ftime


def _engagements(t: _Tables, ids: _Ids, user_index: pd.Index) -> tuple[Optional[np.ndarray], ...]:
    """``(item_ids, engagements [e, 2] of rows, value, time)``, each ``None`` where there is none."""
    eng_t, users_t, items_t = t.engagements, t.users, t.items
    if eng_t is None:
        return (ids.items if items_t is not None else None), None, None, None
    among = f"the users table ({users_t.file})" if users_t is not None else "the users"
    eng_u = rows_of(user_index, eng_t, "user_id", ids.eng_users, among) if users_t is not None \
        else user_index.get_indexer(ids.eng_users).astype(np.int64)
    item_ids = _union([ids.items] + ([ids.eng_items] if items_t is None else []))
    item_among = f"the items table ({items_t.file})" if items_t is not None else "the items"
    eng_i = rows_of(pd.Index(item_ids), eng_t, "item_id", ids.eng_items, item_among)
    eng = np.column_stack([eng_u, eng_i]).astype(np.int64).reshape(-1, 2)
    value = parse_float(eng_t, "value", allow_nan=False) if "value" in eng_t.frame else None
    etime = parse_time(eng_t, "time") if "time" in eng_t.frame else None
    return item_ids, eng, value, etime


def _check_not_empty(friends_t: Table, edges: np.ndarray, keep: np.ndarray, eng: Optional[np.ndarray]) -> None:
    if len(edges) == 0 and (eng is None or len(eng) == 0):
        dropped = len(friends_t) - len(keep)
        raise DataError("the graph is empty: no friend edges" + (f" (all {dropped} rows were self-loops)"
                                                                 if dropped else "") + " and no engagements",
                        file=friends_t.file, hint="add friend rows `src,dst` (or engagements `user_id,item_id`)")


def _blocked_rows(blocked_t: Optional[Table], ids: _Ids, user_index: pd.Index) -> Optional[np.ndarray]:
    """Blocked pairs as user rows: symmetric, once per pair."""
    if blocked_t is None:
        return None
    among = "the graph's users (users table and friend edges)"
    b = np.column_stack([rows_of(user_index, blocked_t, "src", ids.blocked_src, among),
                         rows_of(user_index, blocked_t, "dst", ids.blocked_dst, among)])
    return canonical_pairs(b)


def graph_roles(graph: SocialGraph) -> dict[str, dict[str, Role]]:
    """Every attribute column's role, ``ignore`` for columns kept in a table but used by no encoder."""
    out: dict[str, dict[str, Role]] = {}
    for kind, attrs in (("users", graph.user_attrs), ("items", graph.item_attrs)):
        if attrs is not None:
            out[kind] = {str(c): attrs.roles.get(c, Role.IGNORE) for c in attrs.frame.columns}
    return out


def to_pandas(graph: SocialGraph) -> dict[str, pd.DataFrame]:
    """The tables of the folder format with external ids: ``friends``, ``users`` and, where present, ``items``,
    ``engagements``, ``blocked``. Rows follow the graph's row order."""
    uid = np.asarray(graph.user_ids)
    friends = pd.DataFrame({"src": uid[graph.friends[:, 0]], "dst": uid[graph.friends[:, 1]]})
    if graph.friend_weight is not None:
        friends["weight"] = np.asarray(graph.friend_weight, dtype=np.float64)
    if graph.friend_time is not None:
        friends["time"] = np.asarray(graph.friend_time, dtype=np.int64)
    out = {"friends": friends, "users": _entity_frame("user_id", uid, graph.user_attrs)}
    if graph.item_ids is not None:
        out["items"] = _entity_frame("item_id", np.asarray(graph.item_ids), graph.item_attrs)
    if graph.engagements is not None:
        iid = np.asarray(graph.item_ids)
        eng = pd.DataFrame({"user_id": uid[graph.engagements[:, 0]], "item_id": iid[graph.engagements[:, 1]]})
        if graph.engagement_value is not None:
            eng["value"] = np.asarray(graph.engagement_value, dtype=np.float64)
        if graph.engagement_time is not None:
            eng["time"] = np.asarray(graph.engagement_time, dtype=np.int64)
        out["engagements"] = eng
    if graph.blocked is not None:
        out["blocked"] = pd.DataFrame({"src": uid[graph.blocked[:, 0]], "dst": uid[graph.blocked[:, 1]]})
    return out


def _entity_frame(id_column: str, ids: np.ndarray, attrs: Optional[AttributeTable]) -> pd.DataFrame:
    frame = pd.DataFrame({id_column: ids})
    if attrs is not None:
        if id_column in attrs.frame.columns:
            raise ValueError(f"an attribute column is named {id_column!r}, which the folder format reserves")
        frame = pd.concat([frame, attrs.frame.reset_index(drop=True)], axis=1)
    return frame


# ------------------------------------------------------------------------------------------------ networkx
def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and np.isnan(v))


def to_networkx(graph: SocialGraph):
    """A ``networkx.Graph`` (``DiGraph`` when directed) of the users, keyed by external id.

    Nodes carry their non-missing attributes; edges carry ``weight`` / ``time`` where the graph has them; the graph
    carries ``name``. Items and engagements are not included (their ids may collide with user ids).
    """
    import networkx as nx

    g = nx.DiGraph(name=graph.name) if graph.directed else nx.Graph(name=graph.name)
    tables = to_pandas(graph)
    users = tables["users"]
    cols = [c for c in users.columns if c != "user_id"]
    records = users[cols].to_dict("records") if cols else [{} for _ in range(len(users))]
    g.add_nodes_from((u, {k: v for k, v in r.items() if not _missing(v)})
                     for u, r in zip(users["user_id"].tolist(), records))
    f = tables["friends"]
    attr_cols = [c for c in ("weight", "time") if c in f.columns]
    attrs = f[attr_cols].to_dict("records") if attr_cols else [{} for _ in range(len(f))]
    g.add_edges_from(zip(f["src"].tolist(), f["dst"].tolist(), attrs))
    return g


def from_networkx(g, *, roles: Optional[RolesLike] = None, self_loops: str = "drop",
                  name: Optional[str] = None) -> SocialGraph:
    """A :class:`SocialGraph` from a NetworkX graph: nodes become users (node attributes become user attributes,
    missing where a node lacks one), edges become friend edges with their ``weight`` / ``time`` attributes (other
    edge attributes are dropped); a ``DiGraph`` gives a directed graph. Validation is :func:`from_pandas`'s."""
    nodes = list(g.nodes)
    users = pd.DataFrame.from_records([dict(g.nodes[n]) for n in nodes], index=range(len(nodes)))
    if "user_id" in users.columns:
        raise DataError("a node attribute is named 'user_id', which is reserved for the node key",
                        file="networkx graph", hint="rename that attribute")
    users.insert(0, "user_id", pd.Series(nodes, dtype=object))
    edges = list(g.edges(data=True))
    friends = pd.DataFrame({"src": pd.Series([e[0] for e in edges], dtype=object),
                            "dst": pd.Series([e[1] for e in edges], dtype=object)})
    for key in ("weight", "time"):
        if any(key in e[2] for e in edges):
            friends[key] = [e[2].get(key, np.nan) for e in edges]
    return from_pandas(Table(friends, "networkx graph edges"), Table(users, "networkx graph nodes"),
                       directed=g.is_directed(), roles=roles, self_loops=self_loops,
                       name=name or g.graph.get("name") or "graph")


# ------------------------------------------------------------------------------------------------ PyG
def to_hetero_data(graph: SocialGraph):
    """A ``torch_geometric.data.HeteroData`` with the graph's structure.

    Node types ``user`` (and ``item`` when the graph has items), each with ``num_nodes``. Edge types
    ``('user', 'friend', 'user')`` (both directions when undirected, so ``2 * num_friend_edges`` columns),
    ``('user', 'engages', 'item')`` and its reverse ``('item', 'rev_engages', 'user')``. Friend edges carry
    ``edge_attr = weight[:, None]`` and engagement edges ``edge_attr = value[:, None]`` (float32) where present, and
    both carry ``time`` (int64 unix seconds) where present. Features are not set: encoders produce them.
    """
    import torch
    from torch_geometric.data import HeteroData

    data = HeteroData()
    data["user"].num_nodes = graph.num_users
    f = torch.from_numpy(np.ascontiguousarray(graph.friends.T, dtype=np.int64))
    w = None if graph.friend_weight is None else torch.from_numpy(np.asarray(graph.friend_weight, np.float32))
    t = None if graph.friend_time is None else torch.from_numpy(np.asarray(graph.friend_time, np.int64))
    if not graph.directed:
        f = torch.cat([f, f.flip(0)], dim=1)
        w = None if w is None else torch.cat([w, w])
        t = None if t is None else torch.cat([t, t])
    store = data["user", "friend", "user"]
    store.edge_index = f
    if w is not None:
        store.edge_attr = w.view(-1, 1)
    if t is not None:
        store.time = t
    if graph.item_ids is not None:
        data["item"].num_nodes = graph.num_items
        e = graph.engagements if graph.engagements is not None else np.zeros((0, 2), dtype=np.int64)
        ei = torch.from_numpy(np.ascontiguousarray(e.T, dtype=np.int64))
        for key, index in ((("user", "engages", "item")), ei), ((("item", "rev_engages", "user")), ei.flip(0)):
            store = data[key]
            store.edge_index = index
            if graph.engagement_value is not None:
                store.edge_attr = torch.from_numpy(np.asarray(graph.engagement_value, np.float32)).view(-1, 1)
            if graph.engagement_time is not None:
                store.time = torch.from_numpy(np.asarray(graph.engagement_time, np.int64))
    return data


__all__ = ["TABLES", "from_networkx", "from_pandas", "graph_roles", "to_hetero_data", "to_networkx", "to_pandas"]
