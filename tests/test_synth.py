"""The synthetic generator: deterministic, the requested size, homophilous, clustered, heavy-tailed, and written
in the folder format that the readers accept."""
from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from typer.testing import CliRunner

from socialgraph.cli.main import app
from socialgraph.data.folder import read_folder
from socialgraph.data.schema import Role
from socialgraph.synth import SynthConfig, generate, write_synthetic
from socialgraph.synth.generator import _community_traits


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
    small, big = _community_traits(0, 10), _community_traits(0, 500)
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
