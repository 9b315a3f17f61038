"""socialgraph.Predictor on a small model trained on a synthetic graph (one bundle for the whole module)."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
import torch

import socialgraph
from socialgraph.eval.link import evaluate_link_scores
from socialgraph.predictor import Explanation, UnknownUserError
from socialgraph.predictor.embed import layerwise_user_states
from socialgraph.synth import generate
from socialgraph.bundle.format import BundleError, load_bundle, save_bundle
from socialgraph.bundle.config import Config
from socialgraph.train.trainer import Trainer


def _config(epochs: int = 4) -> Config:
    cfg = Config()
    cfg.model.dim = 32
    cfg.train.epochs, cfg.train.eval_every, cfg.train.threads = epochs, 2, 1
    cfg.encoders.text = "tfidf"  # synthetic bios are made-up words: TF-IDF learns them, a pretrained model cannot
    return cfg


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    graph = generate(users=1000, mean_degree=16, seed=0)
    fitted = Trainer(_config(), progress=False).fit(graph)
    return save_bundle(fitted, tmp_path_factory.mktemp("models") / "synth")


@pytest.fixture()
def predictor(bundle):
    return socialgraph.Predictor.load(bundle)


def test_lazy_export():
    import subprocess
    import sys

    code = "import socialgraph, sys; assert 'torch' not in sys.modules; socialgraph.Predictor; " \
           "assert 'torch' in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_scores_match_fitted_model(predictor, bundle):
    fitted = load_bundle(bundle)
    rng = np.random.default_rng(1)
    friends = fitted.graph.undirected_pairs()[:300]
    rand = rng.integers(0, 1000, (300, 2))
    rows = np.r_[friends, rand]
    assert np.array_equal(predictor.link_logits(rows), fitted.link_logits(rows))
    ids = fitted.graph.user_ids[rows]
    p = predictor.score_pairs(ids)
    assert np.all((p > 0) & (p < 1))
    # Calibration is monotone: same ranking, same evaluation scores as the raw logits.
    logits = fitted.link_logits(rows)
    assert np.array_equal(np.argsort(p[:300], kind="stable"), np.argsort(logits[:300], kind="stable"))
    a = evaluate_link_scores(p[:300], p[300:])
    b = evaluate_link_scores(logits[:300], logits[300:])
    assert a["auc"] == pytest.approx(b["auc"]) and a["hits@50"] == pytest.approx(b["hits@50"])
    assert predictor.score(*ids[0]) == pytest.approx(p[0])
    frame = predictor.score_pairs(pd.DataFrame({"src": ids[:5, 0], "dst": ids[:5, 1]}))
    assert np.allclose(frame["score"], p[:5])


def test_calibration_comes_from_training(predictor):
    c = predictor.calibration
    assert c.calibrated and c.method == "platt" and c.a > 0
    meta = predictor.fitted.metrics["calibration"]
    assert meta["positives"] > 0 and meta["negatives"] > 0


def test_probabilities_add_up_to_the_hidden_friendships():
    # Calibrated on validation friendships hidden among every unknown pair, the probabilities over all unknown pairs
    # of a graph must account for about as many friendships as are hidden there (here a test slice the size of the
    # validation slice), and each probability band must hold about that share of them. Fitted on the sample's own
    # mix (10,000 negatives for 180 positives) they summed to ~13x the hidden count.
    from socialgraph.bundle.calibration import Calibration
    from socialgraph.train.links import LinkData

    graph = generate(users=600, mean_degree=12, seed=1)
    edges = graph.undirected_pairs()
    perm = np.random.default_rng(0).permutation(len(edges))
    k = len(edges) // 20
    test, val, train = edges[perm[:k]], edges[perm[k:2 * k]], edges[perm[2 * k:]]
    fitted = Trainer(_config(), progress=False).fit(graph.with_friends(train), LinkData(train, val))
    n = graph.num_users
    pairs = np.stack(np.triu_indices(n, 1), 1)
    key = lambda p: np.sort(p, 1) @ np.array([n, 1])  # noqa: E731
    unknown = pairs[~np.isin(key(pairs), key(np.r_[train, val]))]
    hidden = np.isin(key(unknown), key(test))
    p = Calibration.from_metrics(fitted.metrics)(fitted.link_logits(unknown))
    assert 0.6 * len(test) < p.sum() < 1.6 * len(test), (p.sum(), len(test))
    band = (p >= 0.01) & (p < 0.3)  # thousands of pairs, dozens of friendships: enough to compare rates
    assert band.sum() > 1000 and 0.5 < hidden[band].mean() / p[band].mean() < 2.0
    assert fitted.metrics["calibration"]["base_rate"] == pytest.approx(len(val) / (len(val) + len(unknown)))


def test_suggestions_rank_by_log_odds_where_probabilities_saturate(predictor):
    # A steep calibration rounds the best candidates' probabilities to exactly 1.0, as a well-connected user's are
    # in practice; the order must still follow the model's logits.
    from socialgraph.bundle.calibration import Calibration

    predictor.calibration = Calibration(a=200.0, b=0.0, method="platt")
    user = predictor.graph.user_ids[int(np.argmax(np.diff(predictor.adjacency.indptr)))]
    got = predictor.suggest(user, k=10)
    assert sum(s.score == 1.0 for s in got) >= 2  # ties in probability: the case under test
    logits = predictor.link_logits(predictor.pair_rows([(user, s.user_id) for s in got]))
    assert (np.diff(logits) <= 0).all(), logits


def test_reasons_count_anonymised_tokens_instead_of_listing_them(predictor):
    from socialgraph.predictor.reasons import shared_attributes

    frame = predictor.graph.user_attrs.frame
    frame.at[0, "interests"], frame.at[1, "interests"] = ["hiking", "12", "40"], ["hiking", "12", "40", "7"]
    assert "shared interests: hiking" in shared_attributes(predictor.graph.user_attrs, 0, 1)
    frame.at[0, "interests"], frame.at[1, "interests"] = ["3818", "1105"], ["1105", "3818", "2455"]
    reasons = shared_attributes(predictor.graph.user_attrs, 0, 1)
    assert "2 shared interests tokens" in reasons and not any("1105" in r for r in reasons)


def test_unknown_ids_are_clear_errors(predictor):
    with pytest.raises(UnknownUserError, match="unknown user id 99999"):
        predictor.score(1, 99999)
    with pytest.raises(UnknownUserError, match=r"pair 1 \(3, 'nobody'\): unknown user id 'nobody'"):
        predictor.score_pairs([(1, 2), (3, "nobody")])
    with pytest.raises(ValueError, match=r"shape \[P, 2\]"):
        predictor.score_pairs(np.array([1, 2, 3]))
    with pytest.raises(ValueError, match="two different users; got 5 twice"):
        predictor.explain(5, 5)


def test_suggestions_never_hold_friends_self_blocked_or_hidden(predictor):
    adj = predictor.friend_adjacency
    users = [1, 2, 3, 50, 400]
    first = predictor.suggest(users[0], k=10)
    assert len(first) == 10 and all(s.score >= t.score for s, t in zip(first, first[1:]))
    hidden, blocked = first[0].user_id, first[1].user_id
    predictor.hide([hidden])
    predictor.block([(users[0], blocked)])
    for u in users:
        r = int(predictor.rows([u])[0])
        sug = predictor.suggest(u, k=15, exclude=[7])
        rows = predictor.rows([s.user_id for s in sug])
        assert r not in rows and 7 not in [s.user_id for s in sug]
        assert not adj[r, rows].toarray().any()
        assert hidden not in [s.user_id for s in sug]
        for s in sug:
            assert s.reasons  # every suggestion says why
            if s.mutual_friends:
                assert s.reasons[0] == f"{s.mutual_friends} mutual friend{'s' if s.mutual_friends != 1 else ''}"
    assert blocked not in [s.user_id for s in predictor.suggest(users[0], k=15)]
    # Explicit candidates are filtered the same way.
    friend = predictor.graph.user_ids[adj[0].indices[0]]
    got = [s.user_id for s in predictor.suggest(1, k=5, candidates=[friend, 1, blocked, 999])]
    assert got == [999]


def test_explain_hides_hidden_mutual_friends(predictor):
    sug = predictor.suggest(1, k=5)
    v = next(s.user_id for s in sug if s.mutual_friends >= 2)
    full = predictor.explain(1, v)
    assert isinstance(full, Explanation) and len(full.mutual_friends) >= 2
    assert full.heuristics["cn"] == len(full.mutual_friends)
    assert full.score == pytest.approx(predictor.score(1, v))
    secret = full.mutual_friends[0]
    part = predictor.explain(1, v, hidden=[secret])
    assert secret not in part.mutual_friends and len(part.mutual_friends) == len(full.mutual_friends) - 1
    assert all(n != secret for n, _ in part.sides["u"].neighbours + part.sides["v"].neighbours)
    mods = full.sides["u"].modalities
    assert set(mods) >= {"fallback", "text:bio", "categorical", "numeric", "multihot:interests"}
    assert sum(mods.values()) == pytest.approx(1.0, abs=1e-5)
    assert full.sides["u"].neighbours and sum(a for _, a in full.sides["u"].neighbours) <= 1.0 + 1e-6
    data = json.loads(full.to_json())
    assert data["u"] == 1 and data["v"] == v and data["mutual_friends"] == full.mutual_friends
    text = str(full)
    assert f"1 - {v}: probability" in text and "modalities:" in text and "attention:" in text


def test_cold_start_user_gets_its_community(bundle):
    """A user with features and no friends is suggested members of its planted community. Three profiles from
    each of eight of the 16 communities (a fresh predictor each, so earlier newcomers are not candidates)."""
    from socialgraph.bench.newcomers import newcomer_community_share

    share = newcomer_community_share(bundle, communities=8, per_community=3, k=10)
    assert len(share) == 24 and np.mean(share) >= 0.6, share


def test_add_user_with_friends_and_add_edges(predictor):
    n = predictor.num_users
    before = predictor.user_embeddings()[4].copy()
    uid = predictor.add_user({"bio": "kamoko wanefe", "city": "city_3", "interests": ["tag1"]}, friends=[5, 6])
    assert uid == n + 1 and predictor.num_users == n + 1
    assert not bool(predictor.fitted.encoded.users.known[-1])
    positions = predictor.fitted.encoded.users.positions
    assert positions.shape[0] == n + 1  # the new user sits at its friends' mean position
    assert torch.allclose(positions[-1], positions[torch.from_numpy(predictor.rows([5, 6]))].mean(0))
    assert not np.allclose(before, predictor.user_embeddings()[4])  # user 5 has a new neighbour
    got = [s.user_id for s in predictor.suggest(uid, k=20)]
    assert 5 not in got and 6 not in got and uid not in got
    top = got[0]
    predictor.add_edges([(uid, top)])
    assert top not in [s.user_id for s in predictor.suggest(uid, k=20)]
    assert 0 < predictor.score(uid, 9) < 1
    with pytest.raises(ValueError, match="unknown feature"):
        predictor.add_user({"favourite_colour": "red"})
    with pytest.raises(ValueError, match="'interests' is multi-hot"):
        predictor.add_user({"interests": 7})
    missing = predictor.add_user({"bio": "kamoko", "interests": None})  # None is a missing value, as in the data
    assert 0 < predictor.score(missing, 9) < 1
    with pytest.raises(ValueError, match="already exists"):
        predictor.add_user({}, user_id=5)


def test_cold_start_score_with_features(predictor):
    p = predictor.score(1, "newcomer", features={"newcomer": {"bio": "lazula jivi", "age": 30}})
    assert 0 < p < 1 and predictor.graph.user_ids[-1] == "newcomer"


def test_layerwise_embeddings_equal_full_pass(predictor):
    f = predictor.fitted
    full = predictor.embeddings()["user"]
    blocks = layerwise_user_states(f.model, f.encoded.users, f.adjacency, block=97)
    assert torch.allclose(full, blocks, atol=1e-5)


def test_similar_users_and_preferences(predictor):
    sim = predictor.similar_users(1, k=5)
    assert list(sim.columns) == ["user_id", "similarity"] and 1 not in sim["user_id"].tolist()
    assert sim["similarity"].is_monotonic_decreasing
    prefs = predictor.preferences(1)  # synthetic users have a multi-hot 'interests' column: the preference head
    assert sum(prefs.values()) == pytest.approx(1.0, abs=1e-5)
    assert all(name.startswith("tag") for name in prefs)
    with pytest.raises(ValueError, match="no engagement head"):
        predictor.recommend(1)


def test_recommend_excludes_engaged_items(tmp_path):
    from dataclasses import replace

    from socialgraph.data.schema import AttributeTable

    g = generate(users=300, mean_degree=8, seed=4)
    com = g.user_attrs.frame["community"].to_numpy()
    rng = np.random.default_rng(0)
    items = 40
    users = np.repeat(np.arange(300), 4)
    eng_items = (com[users] * 5 + rng.integers(0, 5, len(users))) % items  # communities like their own items
    eng = np.unique(np.stack([users, eng_items], 1), axis=0)
    g = replace(g, item_ids=np.arange(1000, 1000 + items), engagements=eng,
                item_attrs=AttributeTable(pd.DataFrame({"genre": [f"g{i % 4}" for i in range(items)]}),
                                          {"genre": "categorical"}))
    fitted = Trainer(_config(epochs=2), progress=False).fit(g)
    p = socialgraph.Predictor(fitted)
    rec = p.recommend(1, k=10)
    seen = set((eng[eng[:, 0] == 0, 1] + 1000).tolist())
    assert len(rec) == 10 and not seen & set(rec["item_id"].tolist())
    assert rec["score"].is_monotonic_decreasing


def test_bad_bundles_are_refused(bundle, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(bundle, copy)
    (copy / "model.safetensors").write_bytes(b"tampered")
    with pytest.raises(BundleError, match="does not match its checksum"):
        socialgraph.Predictor.load(copy)
    (copy / "meta.json").unlink()
    with pytest.raises(BundleError, match="meta.json is missing"):
        socialgraph.Predictor.load(copy)
    with pytest.raises(BundleError, match="no such bundle"):
        socialgraph.Predictor.load(tmp_path / "nothing")
