"""One suggestion pipeline: the offline job's rows for a user are the suggestions ``Predictor.suggest`` gives that
user, on a real graph, with hidden users and blocked pairs, users run in blocks of many."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from socialgraph.jobs import read_suggestions, run_suggest_job
from socialgraph.predictor import CandidateConfig, Predictor
from shipped import graph, small_bundle

DATASET = "twitch-engb"  # shipped with the project (MIT), 7,126 users


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    return small_bundle(tmp_path_factory.mktemp("m") / "b", epochs=2, graph=graph(DATASET))


@pytest.fixture(scope="module")
def asked(bundle, tmp_path_factory):
    """200 random users, 40 hidden users and 300 blocked pairs, as files the job reads."""
    ids = np.asarray(Predictor.load(bundle).graph.user_ids)
    rng = np.random.default_rng(5)
    users = rng.choice(ids, 200, replace=False)
    hidden = rng.choice(np.setdiff1d(ids, users), 40, replace=False)
    blocked = np.c_[rng.choice(users, 300), rng.choice(ids, 300)]
    blocked = blocked[blocked[:, 0] != blocked[:, 1]]
    folder = tmp_path_factory.mktemp("ids")
    pd.DataFrame({"user_id": users}).to_csv(folder / "users.csv", index=False)
    pd.DataFrame({"user_id": hidden}).to_csv(folder / "hidden.csv", index=False)
    pd.DataFrame({"src": blocked[:, 0], "dst": blocked[:, 1]}).to_csv(folder / "blocked.csv", index=False)
    return users, hidden, blocked, folder


@pytest.mark.parametrize("config", [CandidateConfig(k=10), CandidateConfig(k=7, fof=12, ann=40, fof_method="ra")],
                         ids=["defaults", "other-caps"])
def test_job_rows_equal_predictor_suggest(bundle, asked, config, tmp_path):
    users, hidden, blocked, folder = asked
    run_suggest_job(bundle, tmp_path / "job", config=config, users=folder / "users.csv",
                    hidden=folder / "hidden.csv", blocked=folder / "blocked.csv", shard_size=64, progress=False)
    job = read_suggestions(tmp_path / "job")
    predictor = Predictor.load(bundle, hidden=hidden.tolist(), blocked=blocked.tolist(), candidate_config=config)
    rows = []
    for u in users.tolist():
        for rank, s in enumerate(predictor.suggest(u), start=1):
            rows.append((u, rank, s.user_id, s.score, s.reason))
    api = pd.DataFrame(rows, columns=["user_id", "rank", "candidate_id", "score", "reason"])
    job = job.sort_values(["user_id", "rank"]).reset_index(drop=True)
    api = api.sort_values(["user_id", "rank"]).reset_index(drop=True)
    assert len(api) > 150 * config.k  # most users get a full list: the comparison covers real rankings
    pd.testing.assert_frame_equal(job[["user_id", "rank", "candidate_id", "reason"]],
                                  api[["user_id", "rank", "candidate_id", "reason"]], check_dtype=False)
    np.testing.assert_allclose(job["score"].to_numpy(), api["score"].to_numpy(), rtol=1e-6, atol=1e-12)
    # Both honour the filters: nobody hidden or blocked is suggested.
    assert not set(job["candidate_id"]) & set(hidden.tolist())
    pairs = {(a, b) for a, b in blocked.tolist()} | {(b, a) for a, b in blocked.tolist()}
    assert not pairs & set(zip(job["user_id"], job["candidate_id"]))


def test_suggest_reasons_start_with_the_job_reason(bundle):
    predictor = Predictor.load(bundle)
    user = predictor.graph.user_ids[0]
    got = predictor.suggest(user, k=20)
    assert got
    for s in got:
        assert s.reason == (s.reasons[0] if s.mutual_friends else "similar interests")
