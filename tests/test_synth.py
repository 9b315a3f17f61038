"""The synthetic generator: deterministic, the requested size, homophilous, clustered, heavy-tailed, and written
in the folder format that the readers accept; with items, engagements (counts or ratings) and timestamps on request,
while the default graph stays what it was."""
from __future__ import annotations

import warnings

import networkx as nx
import numpy as np
import pytest
from typer.testing import CliRunner

from socialgraph.cli.main import app
from socialgraph.data.convert import from_pandas, graph_roles, to_pandas
from socialgraph.data.folder import read_folder
from socialgraph.data.schema import Role
from socialgraph.synth import SynthConfig, generate, write_synthetic
from socialgraph.synth.generator import _community_traits, _item_traits


@pytest.fixture(scope="module")
def graph():
    return generate(users=2000, mean_degree=16, seed=3)


def test_deterministic_and_seeded():
    a, b = generate(users=300, mean_degree=8, seed=1), generate(users=300, mean_degree=8, seed=1)
    c = generate(users=300, mean_degree=8, seed=2)
    assert np.array_equal(a.friends, b.friends)
    assert a.user_attrs.frame.equals(b.user_attrs.frame)
    assert not np.array_equal(a.friends, c.friends) or not a.user_attrs.frame.equals(c.user_attrs.frame)


def test_size_degree_tail_and_roles(graph):
    assert graph.num_users == 2000
    assert np.array_equal(graph.user_ids, np.arange(1, 2001))
    d = graph.degrees()
    assert abs(d.mean() - 16) < 0.5                      # distinct pairs reach the requested mean degree
    assert d.max() > 5 * d.mean()                        # heavy tail
    assert np.array_equal(graph.friends, graph.undirected_pairs())
    roles = graph.user_attrs.roles
    assert {roles[c] for c in ("bio", "city", "age", "activity", "interests")} == \
        {Role.TEXT, Role.CATEGORICAL, Role.NUMERIC, Role.MULTIHOT}
    assert "community" not in roles                      # planted truth is kept but read by no encoder
    frac_missing = graph.user_attrs.frame["city"].isna().mean()
    assert 0.01 < frac_missing < 0.1


def test_communities_homophily_and_closure(graph):
    frame = graph.user_attrs.frame
    com = frame["community"].to_numpy()
    f = graph.friends
    c = SynthConfig(users=2000).num_communities
    inside = (com[f[:, 0]] == com[f[:, 1]]).mean()
    assert inside > 0.5 > 5.0 / c                        # far above what random pairs would give
    city = frame["city"].to_numpy(object)
    rng = np.random.default_rng(0)
    rand = rng.integers(0, graph.num_users, (len(f), 2))
    same_friends = np.mean([a == b for a, b in zip(city[f[:, 0]], city[f[:, 1]]) if a and b])
    same_random = np.mean([a == b for a, b in zip(city[rand[:, 0]], city[rand[:, 1]]) if a and b])
    assert same_friends > 3 * same_random
    clustering = nx.average_clustering(nx.Graph(f.tolist()))
    density = 2 * len(f) / graph.num_users ** 2
    assert clustering > 20 * density                     # triadic closure


def test_traits_do_not_depend_on_graph_size():
    small, big = _community_traits(0, 10) + _item_traits(0, 10), _community_traits(0, 500) + _item_traits(0, 500)
    for a, b in zip(small, big):
        assert np.array_equal(a, b[:10])


def test_written_folder_reads_back(tmp_path):
    cfg = SynthConfig(users=400, mean_degree=6, seed=5)
    write_synthetic(cfg, tmp_path / "csv")
    write_synthetic(cfg, tmp_path / "pq", format="parquet")
    g = generate(cfg)
    for sub in ("csv", "pq"):
        back = read_folder(tmp_path / sub)
        assert back.num_users == 400 and np.array_equal(back.undirected_pairs(), g.undirected_pairs())
        assert back.user_attrs.roles == g.user_attrs.roles
    assert (tmp_path / "pq" / "friends.parquet").is_file()


def test_cli_writes_and_rejects_bad_input(tmp_path):
    runner = CliRunner()
    res = runner.invoke(app, ["synth", "--users", "300", "--mean-degree", "5", "--out", str(tmp_path / "s"),
                              "--seed", "2", "--format", "parquet"])
    assert res.exit_code == 0, res.output
    assert read_folder(tmp_path / "s").num_users == 300
    bad = runner.invoke(app, ["synth", "--users", "1", "--out", str(tmp_path / "bad")])
    assert bad.exit_code == 2 and "users must be at least 2" in bad.output
    assert not (tmp_path / "bad").exists()
    again = runner.invoke(app, ["synth", "--users", "300", "--out", str(tmp_path / "s")])
    assert again.exit_code == 2 and "not empty" in again.output


# ------------------------------------------------------------------------------------------------ content
@pytest.fixture(scope="module")
def counts():
    return generate(users=800, mean_degree=10, items=400, seed=3)


@pytest.fixture(scope="module")
def ratings():
    return generate(users=800, mean_degree=10, items=400, engagement="ratings", timestamps=True, seed=3)


def _same_community(g):
    e = g.engagements
    return g.user_attrs.frame["community"].to_numpy()[e[:, 0]] == g.item_attrs.frame["community"].to_numpy()[e[:, 1]]


def test_defaults_unchanged_by_content_options():
    a = generate(users=500, seed=3)
    b = generate(users=500, seed=3, items=0, engagements_per_user=5.0, engagement="ratings", timestamps=False)
    c = generate(users=500, seed=3, items=50, timestamps=True)   # content draws never touch the user graph
    for g in (b, c):
        assert np.array_equal(a.friends, g.friends) and np.array_equal(a.blocked, g.blocked)
        assert a.user_attrs.frame.equals(g.user_attrs.frame)
    assert a.name == b.name and a.summary() == b.summary()
    assert a.item_ids is None and a.engagements is None and a.item_attrs is None
    assert a.engagement_value is None and a.friend_time is None and a.engagement_time is None


def test_items_and_engagements_shapes_ids_and_roles(counts):
    g = counts
    assert g.num_items == 400 and len(g.item_attrs) == 400
    assert np.array_equal(g.item_ids, np.arange(1_000_001, 1_000_401))       # ids above every user id
    assert not np.isin(g.item_ids, g.user_ids).any()
    e = g.engagements
    assert e.dtype == np.int64 and e.shape[1] == 2 and len(g.engagement_value) == len(e)
    assert e[:, 0].max() < g.num_users and e[:, 1].max() < g.num_items and e.min() >= 0
    assert len(np.unique(e[:, 0] * g.num_items + e[:, 1])) == len(e)         # distinct pairs
    per_user = np.bincount(e[:, 0], minlength=g.num_users)
    assert per_user.min() >= 1 and abs(per_user.mean() - 20) < 3 and per_user.max() > 3 * per_user.mean()
    assert g.item_attrs.roles == {"title": Role.TEXT, "genre": Role.CATEGORICAL, "tags": Role.MULTIHOT}
    assert 10 <= g.item_attrs.frame["genre"].nunique() <= 20
    assert g.friend_time is None and g.engagement_time is None
    assert g.modalities()["user"].count("interactions") == 1


def test_engagements_are_homophilous_and_heavy_tailed(counts):
    g = counts
    com = g.user_attrs.frame["community"].to_numpy()
    item_com = g.item_attrs.frame["community"].to_numpy()
    c = max(com.max(), item_com.max()) + 1
    chance = np.bincount(com, minlength=c) @ np.bincount(item_com, minlength=c) / (len(com) * len(item_com))
    assert _same_community(g).mean() > max(0.4, 3 * chance)
    popularity = np.bincount(g.engagements[:, 1], minlength=g.num_items)
    assert popularity.max() > 5 * popularity.mean()
    genre = g.item_attrs.frame.groupby("community")["genre"].agg(lambda s: s.value_counts(normalize=True).iloc[0])
    assert genre.mean() > 0.5                                                # genres follow communities


def test_counts_are_positive_integers(counts):
    v = counts.engagement_value
    assert v.dtype == np.float64 and (v >= 1).all() and np.array_equal(v, np.round(v))
    assert v.max() > 10                                                      # read as implicit feedback
    assert np.median(v[_same_community(counts)]) > np.median(v[~_same_community(counts)])


def test_ratings_are_stars_higher_in_community(ratings):
    v = ratings.engagement_value
    assert v.dtype == np.float64 and set(np.unique(v)) <= {1.0, 2.0, 3.0, 4.0, 5.0}
    assert len(np.unique(v)) >= 4
    same = _same_community(ratings)
    assert v[same].mean() > v[~same].mean() + 0.3


def test_timestamps_plausible_and_seeded(ratings):
    g = ratings
    for t, rows in ((g.friend_time, g.num_friend_edges), (g.engagement_time, g.num_engagements)):
        assert t.dtype == np.int64 and len(t) == rows
        assert (t >= 1420070400).all() and (t < 1609459200).all()          # 2015-2020
        assert len(np.unique(t)) > 0.9 * len(t)
    again = generate(users=800, mean_degree=10, items=400, engagement="ratings", timestamps=True, seed=3)
    other = generate(users=800, mean_degree=10, items=400, engagement="ratings", timestamps=True, seed=4)
    assert np.array_equal(g.friend_time, again.friend_time)
    assert np.array_equal(g.engagement_time, again.engagement_time)
    assert np.array_equal(g.engagement_value, again.engagement_value)
    assert not np.array_equal(g.engagement_time[:100], other.engagement_time[:100])
    no_items = generate(users=800, mean_degree=10, timestamps=True, seed=3)
    assert np.array_equal(no_items.friend_time, g.friend_time) and no_items.engagement_time is None


def test_content_passes_validation(ratings):
    with warnings.catch_warnings():
        warnings.simplefilter("error")                                       # nothing to repair either
        back = from_pandas(**to_pandas(ratings), directed=ratings.directed, roles=graph_roles(ratings))
    for field in ("user_ids", "friends", "friend_time", "item_ids", "engagements", "engagement_value",
                  "engagement_time"):
        assert np.array_equal(getattr(back, field), getattr(ratings, field)), field
    assert back.item_attrs.frame.equals(ratings.item_attrs.frame)
    assert back.item_attrs.roles == ratings.item_attrs.roles


def test_written_folder_keeps_content(tmp_path):
    cfg = SynthConfig(users=300, mean_degree=6, items=120, engagements_per_user=8, engagement="ratings",
                      timestamps=True, seed=5)
    g = generate(cfg)
    for fmt in ("csv", "parquet"):
        write_synthetic(cfg, tmp_path / fmt, format=fmt)
        back = read_folder(tmp_path / fmt)
        for field in ("item_ids", "engagements", "engagement_value", "engagement_time", "friend_time"):
            assert np.array_equal(getattr(back, field), getattr(g, field)), (fmt, field)
        assert back.item_attrs.roles == g.item_attrs.roles
        assert back.item_attrs.frame.equals(g.item_attrs.frame), fmt
    assert (tmp_path / "csv" / "items.csv").is_file() and (tmp_path / "parquet" / "engagements.parquet").is_file()


@pytest.mark.parametrize("bad, message", [({"items": -1}, "items must be 0 or more"),
                                          ({"engagements_per_user": 0.5}, "engagements_per_user must be at least 1"),
                                          ({"engagement": "likes"}, "engagement must be one of counts, ratings")])
def test_content_options_are_checked(bad, message):
    with pytest.raises(ValueError, match=message):
        SynthConfig(users=100, **bad)


def test_cli_content_options(tmp_path):
    runner = CliRunner()
    res = runner.invoke(app, ["synth", "--users", "200", "--mean-degree", "5", "--out", str(tmp_path / "s"),
                              "--items", "60", "--engagements-per-user", "6", "--engagement", "ratings",
                              "--timestamps"])
    assert res.exit_code == 0, res.output
    g = read_folder(tmp_path / "s")
    assert g.num_items == 60 and g.engagement_time is not None and g.friend_time is not None
    assert set(np.unique(g.engagement_value)) <= {1.0, 2.0, 3.0, 4.0, 5.0}
    bad = runner.invoke(app, ["synth", "--users", "200", "--items", "60", "--engagement", "likes",
                              "--out", str(tmp_path / "bad")])
    assert bad.exit_code == 2 and "engagement must be one of" in bad.output
    assert not (tmp_path / "bad").exists()
