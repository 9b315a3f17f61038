"""Conversions to and from pandas, NetworkX and PyG HeteroData on real data (Last.fm where present, else the
synthetic social graph's tables written the way Last.fm's are: every friendship listed both ways)."""
from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
import pytest
import torch

from socialgraph.data import DataError, Role, SocialGraph
from socialgraph.data.convert import from_networkx, from_pandas, graph_roles, to_hetero_data, to_networkx, to_pandas

from shipped import SYNTH_SOCIAL, graph, pick


def _lastfm_tables(root) -> dict[str, pd.DataFrame]:
    d = root / "lastfm-hetrec-2k"
    friends = pd.read_csv(d / "user_friends.dat", sep="\t").rename(columns={"userID": "src", "friendID": "dst"})
    listens = pd.read_csv(d / "user_artists.dat", sep="\t").rename(
        columns={"userID": "user_id", "artistID": "item_id", "weight": "value"})
    tagged = pd.read_csv(d / "user_taggedartists.dat", sep="\t")
    # when a user first tagged an artist, as the engagement time of that listen (where there is one)
    first = tagged.assign(time=pd.to_datetime(tagged[["year", "month", "day"]], errors="coerce")).dropna()
    first = first.groupby(["userID", "artistID"])["time"].min().rename_axis(["user_id", "item_id"]).reset_index()
    timed = listens.merge(first, on=["user_id", "item_id"], how="inner")
    timed["time"] = timed["time"].dt.strftime("%Y-%m-%d")
    users = pd.DataFrame({"user_id": np.sort(listens["user_id"].unique())})
    users["n_tags"] = users["user_id"].map(tagged.groupby("userID").size()).astype(float)
    counts = dict(users=1892, pairs=12717, rows=25434, items=17632, engagements=92834)
    return {"friends": friends, "users": users, "engagements": listens, "timed": timed, "counts": counts}


def _synthetic_tables() -> dict:
    """The same tables from the synthetic social graph: friendships both ways, a numeric column with gaps, play
    counts, and ISO dates for the engagements that have a time (every other one)."""
    g = graph(SYNTH_SOCIAL)
    t = to_pandas(g)
    f = t["friends"][["src", "dst"]]
    friends = pd.concat([f, f.rename(columns={"src": "dst", "dst": "src"})[["src", "dst"]]], ignore_index=True)
    users = t["users"][["user_id"]].assign(n_tags=t["users"]["activity"])
    engagements = t["engagements"][["user_id", "item_id", "value"]]
    timed = t["engagements"].iloc[::2][["user_id", "item_id", "value", "time"]].copy()
    timed["time"] = pd.to_datetime(timed["time"], unit="s").dt.strftime("%Y-%m-%d")
    counts = dict(users=g.num_users, pairs=g.num_friend_pairs, rows=len(friends), items=g.num_items,
                  engagements=g.num_engagements)
    return {"friends": friends, "users": users, "engagements": engagements, "timed": timed, "counts": counts}


@pytest.fixture(scope="module")
def tables(data_root) -> dict:
    if pick("lastfm-hetrec-2k", SYNTH_SOCIAL) == SYNTH_SOCIAL:
        return _synthetic_tables()
    return _lastfm_tables(data_root)


@pytest.fixture(scope="module")
def counts(tables) -> dict:
    return tables["counts"]


@pytest.fixture(scope="module")
def lastfm(tables) -> SocialGraph:
    return from_pandas(tables["friends"], tables["users"], engagements=tables["engagements"], name="lastfm")


def _edge_set(frame: pd.DataFrame, directed: bool) -> set:
    pairs = frame[["src", "dst"]].to_numpy()
    return {tuple(p) for p in (pairs if directed else np.sort(pairs, axis=1)).tolist()}


# ------------------------------------------------------------------------------------------------ pandas
def test_pandas_round_trip_preserves_counts_and_edges(lastfm, tables, counts):
    out = to_pandas(lastfm)
    assert set(out) == {"friends", "users", "items", "engagements"}
    assert len(out["friends"]) == counts["pairs"] and len(out["users"]) == counts["users"]
    assert len(out["engagements"]) == counts["engagements"]
    assert _edge_set(out["friends"], False) == _edge_set(tables["friends"], False)
    # engagements keep their external ids and values, row for row
    pd.testing.assert_frame_equal(out["engagements"][["user_id", "item_id"]],
                                  tables["engagements"][["user_id", "item_id"]])
    np.testing.assert_array_equal(out["engagements"]["value"], tables["engagements"]["value"].astype(float))
    back = from_pandas(**out, directed=lastfm.directed, roles=graph_roles(lastfm), name=lastfm.name)
    np.testing.assert_array_equal(back.user_ids, lastfm.user_ids)
    np.testing.assert_array_equal(back.friends, lastfm.friends)
    np.testing.assert_array_equal(back.engagements, lastfm.engagements)
    pd.testing.assert_frame_equal(back.user_attrs.frame, lastfm.user_attrs.frame)


def test_directed_keeps_both_directions(tables, counts):
    g = from_pandas(tables["friends"], directed=True)
    assert g.num_friend_edges == len(tables["friends"]) == counts["rows"]
    assert _edge_set(to_pandas(g)["friends"], True) == _edge_set(tables["friends"], True)


# ------------------------------------------------------------------------------------------------ networkx
def test_networkx_round_trip(lastfm, counts):
    g = to_networkx(lastfm)
    assert isinstance(g, nx.Graph) and not g.is_directed()
    assert g.number_of_nodes() == counts["users"] and g.number_of_edges() == counts["pairs"]
    ids = lastfm.user_ids
    assert all(g.has_edge(ids[a], ids[b]) for a, b in lastfm.friends[:100])
    missing = lastfm.user_attrs.frame["n_tags"].isna().to_numpy()
    assert sum("n_tags" in g.nodes[u] for u in g) == int((~missing).sum())  # missing values are left out
    back = from_networkx(g)
    np.testing.assert_array_equal(back.user_ids, lastfm.user_ids)
    assert _edge_set(to_pandas(back)["friends"], False) == _edge_set(to_pandas(lastfm)["friends"], False)
    np.testing.assert_array_equal(back.user_attrs.frame["n_tags"], lastfm.user_attrs.frame["n_tags"])


def test_networkx_directed_and_edge_attributes(tables):
    f = tables["friends"].iloc[:2000].assign(weight=np.linspace(0.1, 1.0, 2000), time=np.arange(2000) * 60)
    g = from_pandas(f, directed=True)
    dg = to_networkx(g)
    assert isinstance(dg, nx.DiGraph) and dg.number_of_edges() == 2000
    s, d = f.iloc[7][["src", "dst"]]
    assert dg.edges[s, d]["weight"] == pytest.approx(f["weight"].iloc[7]) and dg.edges[s, d]["time"] == 420
    back = from_networkx(dg)
    assert back.directed
    order = np.argsort(back.friend_time)
    np.testing.assert_allclose(back.friend_weight[order], f["weight"])


def test_from_networkx_karate_club():
    """Zachary's karate club (shipped with NetworkX): 34 members, 78 ties, a `club` label and tie weights."""
    k = nx.karate_club_graph()
    g = from_networkx(k)
    assert g.num_users == 34 and g.num_friend_edges == 78 and g.name == "Zachary's Karate Club"
    assert g.user_attrs.roles == {"club": Role.CATEGORICAL}
    assert sorted(np.unique(g.friend_weight).tolist()) == sorted({w for *_, w in k.edges(data="weight")})


def test_from_networkx_missing_weight_is_an_error():
    k = nx.Graph()
    k.add_edge("a", "b", weight=1.0)
    k.add_edge("b", "c")
    with pytest.raises(DataError, match=r"networkx graph edges: row 2: weight is missing"):
        from_networkx(k)


# ------------------------------------------------------------------------------------------------ HeteroData
def test_hetero_data_shapes(lastfm, counts):
    data = to_hetero_data(lastfm)
    assert data.validate()
    assert data["user"].num_nodes == counts["users"] and data["item"].num_nodes == counts["items"]
    friend = data["user", "friend", "user"].edge_index
    assert friend.shape == (2, 2 * counts["pairs"]) and friend.dtype == torch.long
    # both directions of every pair
    fwd = set(map(tuple, friend.T.tolist()))
    assert all((b, a) in fwd for a, b in list(fwd)[:500])
    eng, rev = data["user", "engages", "item"], data["item", "rev_engages", "user"]
    assert eng.edge_index.shape == rev.edge_index.shape == (2, counts["engagements"])
    assert torch.equal(rev.edge_index, eng.edge_index.flip(0))
    assert eng.edge_attr.shape == (counts["engagements"], 1)
    np.testing.assert_allclose(eng.edge_attr[:, 0].numpy(), lastfm.engagement_value, rtol=1e-6)
    assert "time" not in eng


def test_hetero_data_times_and_directed(tables, counts):
    g = from_pandas(tables["friends"], engagements=tables["timed"], directed=True)
    data = to_hetero_data(g)
    assert data["user", "friend", "user"].edge_index.shape == (2, counts["rows"])
    eng = data["user", "engages", "item"]
    assert eng.time.dtype == torch.long and len(eng.time) == len(tables["timed"])
    expected = (pd.to_datetime(tables["timed"]["time"], utc=True) - pd.Timestamp(0, tz="UTC")) // pd.Timedelta("1s")
    np.testing.assert_array_equal(eng.time.numpy(), expected.to_numpy())
    assert torch.equal(data["item", "rev_engages", "user"].time, eng.time)


def test_hetero_data_without_items(tables):
    data = to_hetero_data(from_pandas(tables["friends"]))
    assert data.node_types == ["user"] and data.edge_types == [("user", "friend", "user")]
