"""Hidden users leak nowhere: not through explain's numbers, suggest's reasons, nor the offline job's rows.

The attack these tests mount: an asker who may not see ``h`` asks why ``u`` and ``v`` score as they do. The
explanation lists the visible mutual friends, and Adamic-Adar sums ``1 / log(deg)`` over every mutual friend, so
``aa - sum over visible m of 1 / log(deg m)`` is ``1 / log(deg h)``: it gives away ``h``'s degree, and with it
``h`` among ``u``'s friends. Everything an explanation says must therefore be computed on the graph without
``h`` (its edges gone, the others' degrees recomputed without it).
"""
from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
import pytest

import socialgraph
from socialgraph.jobs import JobError, read_suggestions, run_suggest_job
from socialgraph.predictor import CandidateConfig
from socialgraph.predictor import HiddenUserError, UnknownUserError
from socialgraph.synth import generate
from socialgraph.bundle.format import save_bundle
from socialgraph.bundle.config import Config
from socialgraph.train.trainer import Trainer


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    graph = generate(users=800, mean_degree=14, seed=3)
    cfg = Config()
    cfg.model.dim = 32
    cfg.train.epochs, cfg.train.eval_every, cfg.train.threads = 3, 3, 1
    cfg.encoders.text = "tfidf"  # synthetic bios are made-up words: TF-IDF learns them, a pretrained model cannot
    return save_bundle(Trainer(cfg, progress=False).fit(graph), tmp_path_factory.mktemp("models") / "synth")


@pytest.fixture()
def predictor(bundle):
    return socialgraph.Predictor.load(bundle)


def _graph(p) -> nx.Graph:
    """The predictor's message-passing graph on user rows, for networkx's heuristics as an independent oracle."""
    return nx.from_scipy_sparse_array(p.adjacency)


def _target(p) -> tuple[int, int, int]:
    """Rows ``u, v`` (not friends, at least three mutual friends) and a mutual friend ``h`` whose degree no other
    friend of ``u`` has: exactly the friend a degree leak singles out."""
    a = p.adjacency
    common = (a @ a).toarray()
    np.fill_diagonal(common, 0)
    common[a.toarray() > 0] = 0
    deg = np.diff(a.indptr)
    for u, v in np.argwhere(common >= 3):
        friends = a.indices[a.indptr[u]:a.indptr[u + 1]]
        for h in np.intersect1d(friends, a.indices[a.indptr[v]:a.indptr[v + 1]]):
            if (deg[friends] == deg[h]).sum() == 1:
                return int(u), int(v), int(h)
    raise AssertionError("no pair to attack in this graph")


def _ids(p, *rows):
    return [p.graph.user_ids[r].item() for r in rows]


def test_adamic_adar_attack_recovers_nothing(predictor):
    p = predictor
    u, v, h = _target(p)
    uid, vid, hid = _ids(p, u, v, h)
    g = _graph(p)
    seen = g.copy()
    seen.remove_node(h)  # what the asker may see
    e = p.explain(uid, vid, hidden=[hid])
    visible = p.rows(e.mutual_friends)
    assert hid not in e.mutual_friends and len(visible) >= 2
    # The attack: what is left of AA once the visible mutual friends' terms are taken away, read as 1 / log of a
    # degree, and that degree looked up among u's other friends (with the degrees of the whole graph, as a
    # profile's friend count would show them). Before the fix, this singled out h.
    aa_gap = e.heuristics["aa"] - sum(1 / np.log(g.degree[m]) for m in visible)
    suspects = [f for f in g.neighbors(u) if f not in visible and abs(1 / np.log(g.degree[f]) - aa_gap) < 1e-6]
    assert suspects == []
    # With the degrees the asker may see, nothing at all is left over for a hidden friend.
    aa_gap = e.heuristics["aa"] - sum(1 / np.log(seen.degree[m]) for m in visible)
    ra_gap = e.heuristics["ra"] - sum(1 / seen.degree[m] for m in visible)
    assert aa_gap == pytest.approx(0, abs=1e-9) and ra_gap == pytest.approx(0, abs=1e-9)
    # Every heuristic is the one of the graph without h (networkx as the oracle), degrees of u and v included.
    assert e.heuristics["cn"] == len(visible) == len(list(nx.common_neighbors(seen, u, v)))
    assert e.heuristics["aa"] == pytest.approx(next(nx.adamic_adar_index(seen, [(u, v)]))[2], rel=1e-6)
    assert e.heuristics["ra"] == pytest.approx(next(nx.resource_allocation_index(seen, [(u, v)]))[2], rel=1e-6)
    assert e.heuristics["jaccard"] == pytest.approx(next(nx.jaccard_coefficient(seen, [(u, v)]))[2], rel=1e-6)


def test_explanation_is_the_same_whatever_the_hidden_friend_does(bundle):
    """Give ``h`` a dozen more friends: an explanation that hides ``h`` does not change in any field (score,
    heuristics, mutual friends, modalities, attention), while one that does not hide it does."""
    first = socialgraph.Predictor.load(bundle)
    u, v, h = _target(first)
    uid, vid, hid = _ids(first, u, v, h)
    second = socialgraph.Predictor.load(bundle)
    a = second.adjacency
    strangers = [x for x in range(second.num_users) if x not in (u, v, h) and a[h, x] == 0][:12]
    second.add_edges([(hid, x) for x in _ids(second, *strangers)])
    assert second.adjacency[h].nnz == a[h].nnz + 12
    before, after = first.explain(uid, vid, hidden=[hid]), second.explain(uid, vid, hidden=[hid])
    assert before.to_dict() == after.to_dict()
    assert first.explain(uid, vid).heuristics["aa"] != second.explain(uid, vid).heuristics["aa"]
    # Hiding through the predictor is the same as hiding for one call.
    assert socialgraph.Predictor.load(bundle, hidden=[hid]).explain(uid, vid).to_dict() == before.to_dict()


def test_explaining_a_pair_with_a_hidden_end_is_refused(predictor):
    u, v, h = _target(predictor)
    uid, vid, hid = _ids(predictor, u, v, h)
    for pair in ((uid, hid), (hid, vid)):
        with pytest.raises(HiddenUserError, match=f"user {hid!r} is hidden from the asker"):
            predictor.explain(*pair, hidden=[hid])
    predictor.hide([vid])
    # A subclass of UnknownUserError: a service that answers "unknown user" tells hidden and absent users apart
    # in no way.
    with pytest.raises(UnknownUserError, match=f"user {vid!r} is hidden"):
        predictor.explain(uid, vid)


def test_suggest_reasons_never_count_hidden_users(predictor):
    p = predictor
    deg = np.diff(p.adjacency.indptr)
    u = int(np.argmax(deg))
    friends = p.adjacency.indices[p.adjacency.indptr[u]:p.adjacency.indptr[u + 1]]
    hidden_rows = friends[np.argsort(-deg[friends], kind="stable")[:3]]  # the friends most suggestions go through
    uid, hidden = _ids(p, u)[0], _ids(p, *hidden_rows)
    seen = _graph(p)
    seen.remove_nodes_from(hidden_rows.tolist())
    sug = p.suggest(uid, k=30, hidden=hidden)
    assert len(sug) == 30
    for s in sug:
        c = int(p.rows([s.user_id])[0])
        assert s.user_id not in hidden
        assert s.mutual_friends == len(list(nx.common_neighbors(seen, u, c)))
        assert s.mutual_friends == len(p.explain(uid, s.user_id, hidden=hidden).mutual_friends)
        # A user reached only through a hidden friend is not proposed as a friend of a friend.
        assert s.mutual_friends > 0 or "similar interests" in s.reasons


def _job_rows(p, table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    return p.rows(table["user_id"]), p.rows(table["candidate_id"])


def test_job_never_suggests_nor_counts_hidden_users(bundle, tmp_path):
    p = socialgraph.Predictor.load(bundle)
    deg = np.diff(p.adjacency.indptr)
    hidden_rows = np.argsort(-deg, kind="stable")[:4]  # the users most often suggested and most often mutual
    hidden = _ids(p, *hidden_rows)
    cfg = CandidateConfig(k=10)
    run_suggest_job(bundle, tmp_path / "all", config=cfg, shard_size=400, progress=False)
    plain = read_suggestions(tmp_path / "all")
    assert plain["candidate_id"].isin(hidden).any()  # without hiding them they are suggested
    ids_file = tmp_path / "hidden.csv"
    ids_file.write_text("user_id\n" + "\n".join(map(str, hidden)) + "\n")
    manifest = run_suggest_job(bundle, tmp_path / "hid", config=cfg, shard_size=400, hidden=ids_file,
                               progress=False)
    table = read_suggestions(tmp_path / "hid")
    assert manifest["hidden"] == 4
    assert not table["candidate_id"].isin(hidden).any()
    # Hiding is one-way: hidden users still get their own suggestions.
    assert set(hidden) <= set(table["user_id"])
    # Reasons count mutual friends that are not hidden (for a hidden user's own rows too: its friends are its own).
    u, c = _job_rows(p, table)
    keep = np.ones(p.num_users)
    keep[hidden_rows] = 0
    seen = p.adjacency.multiply(keep[None, :]).tocsr()
    mutual = np.asarray(seen[u].multiply(seen[c]).sum(1)).ravel().astype(int)
    words = np.where(mutual > 0, [f"{m} mutual friend{'s' if m != 1 else ''}" for m in mutual], "similar interests")
    assert (table["reason"].to_numpy() == words).all()
    # The same ids given as a list are the same settings; other hidden users are other settings.
    again = run_suggest_job(bundle, tmp_path / "hid", config=cfg, shard_size=400, hidden=list(hidden),
                            resume=True, progress=False)
    assert again["_run"]["shards_run"] == 0
    with pytest.raises(JobError, match="other settings.*hidden"):
        run_suggest_job(bundle, tmp_path / "hid", config=cfg, shard_size=400, hidden=hidden[:2], resume=True,
                        progress=False)


def test_job_hidden_ids_are_checked_before_anything_is_written(bundle, tmp_path):
    with pytest.raises(JobError, match=r"hidden: item 1: unknown user id 'nobody'"):
        run_suggest_job(bundle, tmp_path / "o1", hidden=[1, "nobody"], progress=False)
    bad = tmp_path / "hidden.csv"
    bad.write_text("user_id\n3\n99999\n")
    with pytest.raises(JobError, match=r"hidden.csv: line 3: unknown user id '99999' in column user_id"):
        run_suggest_job(bundle, tmp_path / "o2", hidden=bad, progress=False)
    assert not (tmp_path / "o1").exists() and not (tmp_path / "o2").exists()
