"""Splits of friend links and engagements on real data: sizes, determinism, and above all no leakage.

Last.fm's tags and Ciao's trust where the data root has them; elsewhere the synthetic social graph made into the
same shapes (repeated timestamped engagements of one pair; directed rows, many with their reverse)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.io

from socialgraph.data import DataError, SocialGraph, canonical_pairs
from socialgraph.data.adjacency import unordered_keys
from socialgraph.data.splits import split_engagements, split_links

from shipped import SYNTH_SOCIAL, graph, pick


def _rows(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ids, inv = np.unique(values, return_inverse=True)
    return ids, inv.reshape(values.shape)


def _synthetic_tags() -> SocialGraph:
    """The synthetic graph's engagements, a third of them repeated later (one user tags one item many times)."""
    g = graph(SYNTH_SOCIAL)
    rng = np.random.default_rng(0)
    again = np.flatnonzero(rng.random(g.num_engagements) < 1 / 3)
    later = g.engagement_time[again] + rng.integers(1, 400 * 86400, len(again))
    return SocialGraph(user_ids=g.user_ids, friends=g.friends, item_ids=g.item_ids, name="synthetic-tags",
                       engagements=np.r_[g.engagements, g.engagements[again]],
                       engagement_time=np.r_[g.engagement_time, later])


def _synthetic_trust() -> SocialGraph:
    """The synthetic friendships as directed trust rows, 40 % of them with their reverse row too."""
    g = graph(SYNTH_SOCIAL)
    back = np.random.default_rng(1).random(g.num_friend_edges) < 0.4
    rows = np.r_[g.friends, g.friends[back][:, ::-1]]
    return SocialGraph(user_ids=g.user_ids, friends=rows, directed=True, name="synthetic-trust")


@pytest.fixture(scope="module")
def lastfm(data_root: Path) -> SocialGraph:
    """Last.fm friendships (undirected) with tag assignments user -> artist as timestamped engagements."""
    if pick("lastfm-hetrec-2k", SYNTH_SOCIAL) == SYNTH_SOCIAL:
        return _synthetic_tags()
    d = data_root / "lastfm-hetrec-2k"
    f = pd.read_csv(d / "user_friends.dat", sep="\t")
    tags = pd.read_csv(d / "user_taggedartists.dat", sep="\t")
    ids = np.unique(np.r_[f.userID, f.friendID, tags.userID])
    items, item_rows = np.unique(tags.artistID.to_numpy(), return_inverse=True)
    when = pd.to_datetime(tags[["year", "month", "day"]], errors="coerce").astype("int64") // 10**9
    return SocialGraph(
        user_ids=ids, name="lastfm-hetrec-2k",
        friends=canonical_pairs(np.c_[np.searchsorted(ids, f.userID), np.searchsorted(ids, f.friendID)]),
        item_ids=items, engagements=np.c_[np.searchsorted(ids, tags.userID), item_rows],
        engagement_time=when.to_numpy())


@pytest.fixture(scope="module")
def ciao(data_root: Path) -> SocialGraph:
    """Ciao directed trust, many rows with their reverse row."""
    if pick("ciao", SYNTH_SOCIAL) == SYNTH_SOCIAL:
        return _synthetic_trust()
    trust = scipy.io.loadmat(data_root / "ciao" / "trustnetwork.mat")["trustnetwork"].astype(np.int64)
    ids, rows = _rows(trust)
    return SocialGraph(user_ids=ids, friends=rows, directed=True, name="ciao")


def _keys(edges: np.ndarray, n: int) -> np.ndarray:
    return np.unique(unordered_keys(edges, n))


def test_random_split_is_disjoint_complete_and_leak_free(lastfm):
    s = split_links(lastfm, "random", val=0.05, test=0.10, seed=0)
    n, pairs = lastfm.num_users, lastfm.undirected_pairs()
    assert len(s.test) == int(0.10 * len(pairs)) and len(s.val) == int(0.05 * len(pairs))
    tr, va, te = _keys(s.train, n), _keys(s.val, n), _keys(s.test, n)
    assert len(np.intersect1d(tr, va)) == len(np.intersect1d(tr, te)) == len(np.intersect1d(va, te)) == 0
    assert np.array_equal(np.sort(np.r_[tr, va, te]), _keys(pairs, n))
    # The training graph holds no validation or test link, in either direction.
    adj = s.train_graph(lastfm).adjacency()
    held = np.r_[s.val, s.test]
    assert adj[held[:, 0], held[:, 1]].sum() == 0 and adj[held[:, 1], held[:, 0]].sum() == 0
    assert adj.nnz == 2 * len(s.train)


def test_split_is_deterministic_by_seed(lastfm):
    a, b, c = (split_links(lastfm, "random", seed=s) for s in (3, 3, 4))
    assert np.array_equal(a.test, b.test) and np.array_equal(a.train, b.train)
    assert not np.array_equal(a.test, c.test)
    e1, e2 = split_engagements(lastfm, "per_user", seed=1), split_engagements(lastfm, "per_user", seed=1)
    assert np.array_equal(e1.test, e2.test)


def test_directed_reciprocal_edges_stay_together(ciao):
    rows = ciao.friends
    n = ciao.num_users
    keys = unordered_keys(rows, n)
    assert len(np.unique(keys)) < len(keys) - 1000  # the data really holds reciprocal pairs
    s = split_links(ciao, "random", seed=0)
    sides = [_keys(x, n) for x in (s.train, s.val, s.test)]
    for i in range(3):
        for j in range(i + 1, 3):
            assert len(np.intersect1d(sides[i], sides[j])) == 0
    assert len(s.train) + len(s.val) + len(s.test) == int((rows[:, 0] != rows[:, 1]).sum())
    # Directed rows come back as given: every training row is a row of the graph.
    assert np.isin(s.train[:, 0] * n + s.train[:, 1], rows[:, 0] * n + rows[:, 1]).all()
    assert np.array_equal(ciao.friends[s.train_rows], s.train)


def test_inductive_training_graph_never_touches_held_out_users(lastfm):
    s = split_links(lastfm, "inductive", val=0.05, test=0.10, seed=0)
    held = s.held_out_users
    assert held is not None and len(held) > 0 and len(np.intersect1d(s.val_users, s.test_users)) == 0
    assert not np.isin(s.train, held).any()
    # Every link of a test user is a test link; every link of a validation user is a validation or test link.
    assert np.isin(s.test, s.test_users).any(axis=1).all()
    touches_test = np.isin(lastfm.undirected_pairs(), s.test_users).any(axis=1)
    assert touches_test.sum() == len(np.intersect1d(_keys(lastfm.undirected_pairs()[touches_test], lastfm.num_users),
                                                    _keys(s.test, lastfm.num_users)))
    assert np.isin(s.val, s.val_users).any(axis=1).all()
    assert s.train_graph(lastfm).degrees()[held].sum() == 0


def test_temporal_link_split_trains_on_the_oldest(lastfm):
    with pytest.raises(DataError, match="timestamps"):
        split_links(lastfm, "temporal")
    # The real friendship data carries no time; stamp each pair with a seeded time to test the ordering rule.
    t = np.random.default_rng(0).integers(1_000_000, 2_000_000, lastfm.num_friend_edges)
    g = SocialGraph(user_ids=lastfm.user_ids, friends=lastfm.friends, friend_time=t)
    s = split_links(g, "temporal", seed=0)
    time_of = dict(zip(unordered_keys(g.friends, g.num_users).tolist(), t.tolist()))
    tt = [np.array([time_of[k] for k in unordered_keys(x, g.num_users).tolist()]) for x in (s.train, s.val, s.test)]
    assert tt[0].max() <= tt[1].min() and tt[1].max() <= tt[2].min()
    assert s.train_graph(g).friend_time.max() == tt[0].max()


def test_engagement_splits_keep_pairs_together(lastfm):
    e = lastfm.engagements
    key = e[:, 0] * lastfm.num_items + e[:, 1]
    assert len(np.unique(key)) < len(key)  # one user tags one artist many times
    for method in ("random", "temporal", "per_user", "per_user_temporal", "inductive"):
        s = split_engagements(lastfm, method, seed=0)
        assert len(s.train) + len(s.val) + len(s.test) == len(e)
        ktr, kva, kte = np.unique(key[s.train]), np.unique(key[s.val]), np.unique(key[s.test])
        assert len(np.intersect1d(ktr, kte)) == 0 and len(np.intersect1d(ktr, kva)) == 0, method
        assert len(np.intersect1d(kva, kte)) == 0, method


def test_temporal_engagement_split_trains_on_the_oldest(lastfm):
    s = split_engagements(lastfm, "temporal", seed=0)
    t = lastfm.engagement_time
    # A (user, item) pair counts from its first tag: compare pair-level first times.
    key = lastfm.engagements[:, 0] * lastfm.num_items + lastfm.engagements[:, 1]
    first = pd.Series(t).groupby(key).min()
    assert first[np.unique(key[s.train])].max() <= first[np.unique(key[s.test])].min()


def test_per_user_holdout_keeps_a_training_item(lastfm):
    s = split_engagements(lastfm, "per_user", val=0.1, test=0.2, seed=0)
    users = lastfm.engagements[:, 0]
    key = users * lastfm.num_items + lastfm.engagements[:, 1]
    _, first = np.unique(key, return_index=True)
    per_user = np.bincount(users[first], minlength=lastfm.num_users)
    train_units = np.bincount(users[s.train][np.unique(key[s.train], return_index=True)[1]],
                              minlength=lastfm.num_users)
    assert (train_units[per_user > 0] >= 1).all()
    test_units = np.bincount(users[s.test][np.unique(key[s.test], return_index=True)[1]], minlength=lastfm.num_users)
    many = per_user >= 20
    # Each user with many items holds out about 20% of them.
    assert np.allclose(test_units[many] / per_user[many], 0.2, atol=0.05)


def test_inductive_engagement_split_holds_out_whole_users(lastfm):
    s = split_engagements(lastfm, "inductive", seed=0)
    users = lastfm.engagements[:, 0]
    assert not np.isin(users[s.train], s.held_out_users).any()
    assert np.isin(users[s.test], s.test_users).all() and np.isin(users[s.val], s.val_users).all()


def test_bad_arguments_are_refused(lastfm):
    with pytest.raises(ValueError, match="fractions"):
        split_links(lastfm, "random", val=0.6, test=0.5)
    with pytest.raises(ValueError, match="unknown"):
        split_links(lastfm, "chronological")
    with pytest.raises(DataError, match="no engagements"):
        split_engagements(SocialGraph(user_ids=lastfm.user_ids, friends=lastfm.friends))
