"""The HTTP service: the same answers as the Python API, access, bad input, hidden users, persistence, reload,
metrics. Against a real uvicorn server on loopback where concurrency matters, FastAPI's TestClient elsewhere."""
from __future__ import annotations

import shutil
import threading

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from socialgraph.cli.main import app as cli
from socialgraph.predictor import Predictor
from socialgraph.serve.app import create_app
from socialgraph.serve.service import ModelService
from serving import Server
from shipped import small_bundle

TOKEN = "test-token-1"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    return small_bundle(tmp_path_factory.mktemp("models") / "synth", seed=3)


@pytest.fixture()
def bundle(trained, tmp_path):
    """A copy per test: some tests add users to it."""
    return shutil.copytree(trained, tmp_path / "bundle")


@pytest.fixture()
def hidden(trained):
    ids = Predictor.load(trained).graph.user_ids
    return [int(ids[5]), int(ids[17]), int(ids[101])]


@pytest.fixture()
def client(bundle, hidden):
    return TestClient(create_app(ModelService(bundle, hidden=hidden), TOKEN))


def test_open_endpoints_and_the_token(client):
    assert client.get("/health").json() == {"status": "ok"}
    ready = client.get("/ready").json()
    assert ready["ready"] and ready["users"] == 800 - 3 and ready["version"] == 0
    spec = client.get("/openapi.json").json()
    assert {"/score", "/score/batch", "/suggest", "/explain", "/users", "/recommend", "/metrics",
            "/admin/reload"} <= set(spec["paths"])
    body = {"u": 1, "v": 2}
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic " + TOKEN}):
        r = client.post("/score", json=body, headers=headers)
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer", r.text
    assert client.get("/metrics").status_code == 401 and client.get("/users").status_code == 401
    assert client.post("/score", json=body, headers=AUTH).status_code == 200
    with pytest.raises(ValueError, match="needs a token"):
        create_app(ModelService.__new__(ModelService), "")  # the token is checked before the model is read


def test_answers_equal_the_python_api(client, bundle, hidden):
    p = Predictor.load(bundle, hidden=hidden)
    ids = [int(x) for x in p.graph.user_ids if int(x) not in hidden]
    r = client.post("/score", json={"u": ids[0], "v": ids[9]}, headers=AUTH).json()
    assert r["score"] == pytest.approx(p.score(ids[0], ids[9]), rel=1e-6)
    pairs = [[ids[i], ids[i + 3]] for i in range(40)]
    r = client.post("/score/batch", json={"pairs": pairs}, headers=AUTH).json()
    np.testing.assert_allclose(r["scores"], p.score_pairs(pairs), rtol=1e-6)
    for user in ids[:25]:
        got = client.post("/suggest", json={"user": user, "k": 8, "exclude": [ids[30]]}, headers=AUTH).json()
        want = p.suggest(user, 8, exclude=[ids[30]])
        assert [s["user_id"] for s in got["suggestions"]] == [s.user_id for s in want]
        assert [s["reasons"] for s in got["suggestions"]] == [s.reasons for s in want]
        assert [s["reason"] for s in got["suggestions"]] == [s.reason for s in want]
        np.testing.assert_allclose([s["score"] for s in got["suggestions"]], [s.score for s in want], rtol=1e-6)
        assert not {s["user_id"] for s in got["suggestions"]} & set(hidden)
    e = client.post("/explain", json={"u": ids[0], "v": ids[9]}, headers=AUTH).json()
    want = p.explain(ids[0], ids[9])
    assert e["mutual_friends"] == want.mutual_friends and e["score"] == pytest.approx(want.score, rel=1e-6)
    assert e["sides"]["u"]["modalities"] == pytest.approx(want.sides["u"].modalities)
    listed = client.get("/users", params={"limit": 10_000}, headers=AUTH).json()
    assert listed["total"] == len(ids) and listed["users"] == ids  # hidden users are not listed


def test_hidden_users_read_as_unknown_ones(client, hidden):
    missing = 10**9
    for field, body, path in (("u", {"u": hidden[0], "v": 1}, "/score"), ("user", {"user": hidden[1]}, "/suggest"),
                              ("v", {"u": 1, "v": hidden[2]}, "/explain")):
        a = client.post(path, json=body, headers=AUTH)
        b = client.post(path, json={**body, field: missing}, headers=AUTH)
        assert a.status_code == b.status_code == 404
        assert a.json()["detail"] == f"{field}: unknown user {hidden[hidden.index(body[field])]}"
        assert b.json()["detail"] == f"{field}: unknown user {missing}"
    # the asker's own hidden list: a pair with a user hidden from them cannot be explained, nor is it suggested
    r = client.post("/explain", json={"u": 1, "v": 2, "hidden": [2]}, headers=AUTH)
    assert r.status_code == 404 and r.json()["detail"] == "v: unknown user 2"
    top = client.post("/suggest", json={"user": 1, "k": 3}, headers=AUTH).json()["suggestions"][0]["user_id"]
    again = client.post("/suggest", json={"user": 1, "k": 3, "hidden": [top]}, headers=AUTH).json()
    assert top not in [s["user_id"] for s in again["suggestions"]]


@pytest.mark.parametrize("path, body, status, detail", [
    ("/suggest", {"user": 1, "k": 0}, 422, "body.k: Input should be greater than or equal to 1"),
    ("/suggest", {"k": 5}, 422, "body.user: Field required"),
    ("/suggest", {"user": 1, "kk": 5}, 422, "body.kk: Extra inputs are not permitted"),
    ("/suggest", {"user": 1, "exclude": [10**9]}, 404, "exclude[0]: unknown user 1000000000"),
    ("/score/batch", {"pairs": [[1, 2], [3, 10**9]]}, 404, "pairs[1][1]: unknown user 1000000000"),
    ("/score/batch", {"pairs": []}, 422, "body.pairs: List should have at least 1 item after validation, not 0"),
    ("/explain", {"u": 4, "v": 4}, 400, "explain takes two different users; got 4 twice"),
    ("/recommend", {"user": 4}, 400, "this model has no engagement head (its training graph had no engagements)"),
    ("/users", {"features": {"no_such_column": 1}}, 400, "unknown feature(s) ['no_such_column']"),
])
def test_bad_input_gets_one_line_naming_the_field(client, path, body, status, detail):
    r = client.post(path, json=body, headers=AUTH)
    assert r.status_code == status, r.text
    assert r.json()["detail"].startswith(detail) and "\n" not in r.json()["detail"]
    assert client.post("/suggest", content=b"{not json", headers={**AUTH, "Content-Type": "application/json"}
                       ).status_code == 422


def test_added_users_survive_a_restart(bundle, hidden):
    service = ModelService(bundle, hidden=hidden)
    c = TestClient(create_app(service, TOKEN))
    p = Predictor.load(bundle)
    features = p.graph.user_attrs.frame.iloc[40].to_dict()
    friends = [int(p.graph.user_ids[41]), int(p.graph.user_ids[42])]
    r = c.post("/users", json={"features": features, "friends": friends, "user_id": 5000, "k": 5}, headers=AUTH)
    assert r.status_code == 200, r.text
    added = r.json()
    assert added["user_id"] == 5000 and added["version"] == 1 and len(added["suggestions"]) == 5
    # A new process on the same folder (a restart) knows the user and gives it the same suggestions.
    again = TestClient(create_app(ModelService(bundle, hidden=hidden), TOKEN))
    got = again.post("/suggest", json={"user": 5000, "k": 5}, headers=AUTH).json()["suggestions"]
    assert [s["user_id"] for s in got] == [s["user_id"] for s in added["suggestions"]]
    assert again.post("/score", json={"u": 5000, "v": friends[0]}, headers=AUTH).status_code == 200
    # an id that exists already is refused, and nothing is saved
    r = c.post("/users", json={"features": features, "user_id": 5000}, headers=AUTH)
    assert r.status_code == 400 and "already exists" in r.json()["detail"]
    assert Predictor.load(bundle).num_users == 801


def test_reload_drops_no_request_and_metrics_count(bundle, hidden):
    service = ModelService(bundle, hidden=hidden)
    users = [int(x) for x in service.visible_users(service.predictor)[:50]]
    failures, done = [], []
    with Server(service, TOKEN) as url:
        def hammer():
            with httpx.Client(base_url=url, headers=AUTH, timeout=60) as h:
                for i in range(40):
                    r = h.post("/suggest", json={"user": users[i % 50], "k": 5})
                    (done if r.status_code == 200 else failures).append(r.status_code)
        threads = [threading.Thread(target=hammer) for _ in range(4)]
        for t in threads:
            t.start()
        with httpx.Client(base_url=url, headers=AUTH, timeout=120) as h:
            assert h.post("/admin/reload").json()["version"] == 1
            assert h.post("/admin/reload").json()["version"] == 2
            for t in threads:
                t.join()
            assert not failures and len(done) == 160
            h.post("/score", json={"u": 1, "v": 10**9})
            text = h.get("/metrics").text
    assert 'socialgraph_requests_total{method="POST",route="/suggest",status="200"} 160.0' in text
    assert 'socialgraph_errors_total{route="/score",status="404"} 1.0' in text
    assert 'socialgraph_request_seconds_bucket{le="0.05",route="/suggest"}' in text
    assert 'socialgraph_request_seconds_count{route="/suggest"} 160.0' in text


def test_cli_refuses_to_serve_without_a_token(bundle, tmp_path, monkeypatch):
    monkeypatch.delenv("SOCIALGRAPH_TOKEN", raising=False)
    result = CliRunner().invoke(cli, ["serve", "--model", str(bundle)])
    assert result.exit_code == 2 and "error: no token: set SOCIALGRAPH_TOKEN or pass --token-file" in result.output
    result = CliRunner().invoke(cli, ["serve", "--model", str(bundle), "--token-file", str(tmp_path / "none")])
    assert result.exit_code == 2 and "--token-file" in result.output and "no such file" in result.output


def test_recommend_equals_the_python_api(tmp_path):
    from shipped import graph
    from socialgraph.bundle.config import Config
    from socialgraph.bundle.format import save_bundle
    from socialgraph.train.trainer import Trainer

    cfg = Config()
    cfg.model.dim = 32
    cfg.train.epochs, cfg.train.eval_every, cfg.train.threads = 2, 2, 1
    cfg.encoders.text = "tfidf"
    bundle = save_bundle(Trainer(cfg, progress=False).fit(graph("synth-social")), tmp_path / "b")
    c = TestClient(create_app(ModelService(bundle), TOKEN))
    p = Predictor.load(bundle)
    for user in [int(x) for x in p.graph.user_ids[:10]]:
        got = c.post("/recommend", json={"user": user, "k": 7}, headers=AUTH).json()["items"]
        want = p.recommend(user, 7)
        assert [i["item_id"] for i in got] == want["item_id"].tolist()
        np.testing.assert_allclose([i["score"] for i in got], want["score"].to_numpy(), rtol=1e-6)
