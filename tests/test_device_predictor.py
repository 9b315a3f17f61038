"""The predictor's ``device`` setting (issue 24): on the CPU every move is a no-op and results are unchanged; a CUDA
request on a machine without CUDA fails at once, naming the argument; the job and the CLI pass the setting on."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from shipped import small_bundle
from socialgraph.cli.main import app
from socialgraph.jobs import read_suggestions, run_suggest_job
from socialgraph.predictor import Predictor
from socialgraph.model.device import resolve_device


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    from socialgraph.synth import generate

    return small_bundle(tmp_path_factory.mktemp("device") / "bundle", epochs=2, dim=16,
                        graph=generate(users=300, mean_degree=8, seed=0))


def _outputs(p: Predictor) -> dict:
    ids = p.graph.user_ids
    pairs = np.stack([ids[:40], ids[40:80]], 1)
    return {"scores": p.score_pairs(pairs),
            "suggest": [(s.user_id, s.score, s.mutual_friends, s.reasons) for s in p.suggest(ids[3], 10)],
            "explain": p.explain(ids[1], ids[2]).to_json(),
            "similar": p.similar_users(ids[5], 5),
            "embeddings": p.user_embeddings()}


def _assert_on(p: Predictor, device: torch.device) -> None:
    for name, t in [*p.fitted.model.named_parameters(), *p.fitted.model.named_buffers()]:
        assert t.device == device, name
    users = p.fitted.encoded.users
    tensors = [*users.x.values(), *users.mask.values(), users.known, users.positions]
    assert all(t is None or t.device == device for t in tensors)
    assert p.embeddings()["user"].device == device


@pytest.mark.parametrize("device", [torch.device("cpu"), "cpu", "auto"], ids=["torch.device", "str", "auto"])
def test_cpu_device_changes_nothing(bundle, device, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # "auto" means the CPU here, on any machine
    ref, got = _outputs(Predictor.load(bundle)), _outputs(Predictor.load(bundle, device=device))
    np.testing.assert_array_equal(got["scores"], ref["scores"])
    assert got["suggest"] == ref["suggest"] and got["explain"] == ref["explain"]
    pd.testing.assert_frame_equal(got["similar"], ref["similar"])
    np.testing.assert_array_equal(got["embeddings"], ref["embeddings"])


def test_everything_stays_on_the_device(bundle, tmp_path):
    cpu = torch.device("cpu")
    p = Predictor.load(bundle, device=cpu)
    assert p.device == cpu
    ids = p.graph.user_ids
    p.suggest(ids[0], 5)
    _assert_on(p, cpu)
    new = p.add_user({}, friends=[ids[0], ids[1]])
    assert p.suggest(new, 5) and isinstance(p.score(new, ids[2]), float)
    _assert_on(p, cpu)
    assert p.fitted.encoded.users.num == p.num_users == len(ids) + 1
    p.explain(ids[1], ids[2], hidden=[ids[0]])
    _assert_on(p, cpu)
    saved = Predictor.load(p.save(tmp_path / "saved"), device="cpu")
    assert saved.score(new, ids[2]) == p.score(new, ids[2])


def test_cpu_moves_are_no_ops(bundle):
    from socialgraph.bundle.format import load_bundle

    fitted = load_bundle(bundle)
    users, params = fitted.encoded.users, [t.data_ptr() for t in fitted.model.parameters()]
    p = Predictor(fitted, device="cpu")
    assert p.fitted is fitted and fitted.encoded.users is users
    assert [t.data_ptr() for t in fitted.model.parameters()] == params


@pytest.mark.parametrize("setting", ["cuda", "cuda:0", torch.device("cuda")])
def test_cuda_without_cuda_fails_before_loading(bundle, setting, monkeypatch):
    import socialgraph.bundle.format as fmt

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)

    def no_load(*args, **kwargs):
        raise AssertionError("the bundle was read before the device was checked")

    monkeypatch.setattr(fmt, "load_bundle", no_load)
    with pytest.raises(ValueError, match="device"):
        Predictor.load(bundle, device=setting)


def test_resolve_device():
    assert resolve_device("cpu") == torch.device("cpu") == resolve_device(" CPU ")
    assert resolve_device(None) == resolve_device("auto") == torch.device("cuda" if torch.cuda.is_available()
                                                                          else "cpu")
    for bad in ("tpu", "gpu", "mps", 3):
        with pytest.raises(ValueError, match="device"):
            resolve_device(bad)


def test_cli_device(bundle, tmp_path):
    runner = CliRunner()
    base = ["suggest", "--model", str(bundle), "--k", "5", "--shard-size", "100", "--quiet"]
    res = runner.invoke(app, [*base, "--out", str(tmp_path / "plain")])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, [*base, "--out", str(tmp_path / "cpu"), "--device", "cpu"])
    assert res.exit_code == 0, res.output
    pd.testing.assert_frame_equal(read_suggestions(tmp_path / "cpu"), read_suggestions(tmp_path / "plain"))
    # The job's rows are the predictor's, on the device asked for.
    job = run_suggest_job(bundle, tmp_path / "job", config=None, progress=False, device="cpu")
    assert job["users"] == 300
    ids = Predictor.load(bundle).graph.user_ids
    res = runner.invoke(app, ["explain", "--model", str(bundle), str(ids[1]), str(ids[2]), "--json",
                              "--device", "cpu"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output) == json.loads(Predictor.load(bundle).explain(ids[1], ids[2]).to_json())
    if not torch.cuda.is_available():
        res = runner.invoke(app, [*base, "--out", str(tmp_path / "cuda"), "--device", "cuda"])
        assert res.exit_code == 2 and "device" in res.output and not (tmp_path / "cuda").exists()


def test_cli_score_device(bundle, tmp_path):
    """``socialgraph score --device cpu`` writes the scores the Python API gives; a CUDA device that is not there
    is refused in one line, and no file is written."""
    runner = CliRunner()
    ids = Predictor.load(bundle).graph.user_ids
    pairs = pd.DataFrame({"src": ids[:40], "dst": ids[40:80]})
    pairs.to_csv(tmp_path / "pairs.csv", index=False)
    res = runner.invoke(app, ["score", "--model", str(bundle), "--pairs", str(tmp_path / "pairs.csv"),
                              "--out", str(tmp_path / "scores.csv"), "--device", "cpu"])
    assert res.exit_code == 0, res.output
    written = pd.read_csv(tmp_path / "scores.csv")
    expected = Predictor.load(bundle).score_pairs(list(zip(pairs.src, pairs.dst)))
    np.testing.assert_allclose(written.score.to_numpy(), expected, rtol=1e-6)
    if not torch.cuda.is_available():
        res = runner.invoke(app, ["score", "--model", str(bundle), "--pairs", str(tmp_path / "pairs.csv"),
                                  "--out", str(tmp_path / "cuda.csv"), "--device", "cuda"])
        assert res.exit_code == 2 and "device" in res.output and not (tmp_path / "cuda.csv").exists()
