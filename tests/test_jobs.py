"""The offline suggestion job: output contract, filters, kill -9 and resume, local vs Ray, bad input."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import socialgraph
from socialgraph.cli.main import app
from socialgraph.jobs import JobError, read_suggestions, run_suggest_job
from socialgraph.predictor import CandidateConfig
from socialgraph.bundle.format import BundleError
from shipped import small_bundle

CLI = [sys.executable, "-m", "socialgraph.cli.main"]
K = 10


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    return small_bundle(tmp_path_factory.mktemp("models") / "synth", seed=1)


@pytest.fixture(scope="module")
def reference(bundle, tmp_path_factory):
    """An uninterrupted local run (shards of 40 users)."""
    out = tmp_path_factory.mktemp("jobs") / "local"
    manifest = run_suggest_job(bundle, out, config=CandidateConfig(k=K), shard_size=40, progress=False)
    return out, manifest


def _manifest(out: Path) -> dict:
    m = json.loads((out / "manifest.json").read_text())
    return m


def test_output_contract_and_filters(bundle, reference):
    out, manifest = reference
    table = read_suggestions(out)
    assert list(table.columns) == ["user_id", "rank", "candidate_id", "score", "reason"]
    assert manifest["users"] == 800 and len(manifest["shards"]) == 20 and manifest["k"] == K
    assert manifest["rows"] == len(table) == sum(s["rows"] for s in manifest["shards"])
    assert manifest["bundle_sha256"] and manifest["seed"] == 0
    assert sorted(p.name for p in out.glob("part-*.parquet")) == [s["file"] for s in manifest["shards"]]
    assert not list(out.glob(".*tmp*"))
    p = socialgraph.Predictor.load(bundle)
    n = p.num_users
    u, c = p.rows(table["user_id"]), p.rows(table["candidate_id"])
    assert not (u == c).any()
    friends = p.friend_adjacency
    assert not np.asarray(friends[u, c]).any()
    blocked = {(min(a, b), max(a, b)) for a, b in p.graph.blocked.tolist()}
    assert blocked and not blocked & set(zip(np.minimum(u, c).tolist(), np.maximum(u, c).tolist()))
    per_user = table.groupby("user_id")
    assert per_user.size().max() == K and per_user.size().min() >= 1
    assert (per_user["rank"].apply(lambda r: list(r) == list(range(1, len(r) + 1)))).all()
    assert (per_user["score"].apply(lambda s: s.is_monotonic_decreasing)).all()
    # Scores are the Predictor's calibrated full-scorer probabilities.
    sample = table.sample(50, random_state=0)
    expected = p.score_pairs(sample[["user_id", "candidate_id"]].to_numpy())
    assert np.allclose(sample["score"].to_numpy(), expected, rtol=1e-6)
    mutual = sample["reason"].str.extract(r"^(\d+) mutual")[0].dropna().astype(int)
    for i, m in mutual.items():
        assert len(p.explain(sample.at[i, "user_id"], sample.at[i, "candidate_id"]).mutual_friends) == m
    assert set(table["reason"].str.replace(r"^\d+ mutual friends?$", "M", regex=True)) <= {"M", "similar interests"}
    assert n == 800


def test_kill_and_resume_equals_uninterrupted_run(bundle, reference, tmp_path):
    ref_out, _ = reference
    out = tmp_path / "killed"
    cmd = CLI + ["suggest", "--model", str(bundle), "--out", str(out), "--k", str(K), "--shard-size", "10", "-q"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and len(list(out.glob("part-*.parquet"))) < 3 and proc.poll() is None:
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done = len(list(out.glob("part-*.parquet")))
    assert 3 <= done < 80, f"{done} shards when killed"
    assert not (out / "manifest.json").exists()
    res = subprocess.run(cmd, capture_output=True, text=True)
    assert res.returncode == 2 and "--resume" in res.stderr   # refuses to start over in a used folder
    res = subprocess.run(cmd + ["--resume"], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["shards_run"] == 80 - done
    a, b = read_suggestions(out), read_suggestions(ref_out)
    pd.testing.assert_frame_equal(a, b)
    assert not list(out.glob(".*tmp*"))
    with pytest.raises(JobError, match="other settings"):
        run_suggest_job(bundle, out, config=CandidateConfig(k=K + 1), shard_size=10, resume=True, progress=False)


def test_ray_engine_equals_local(bundle, reference, tmp_path):
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        manifest = run_suggest_job(bundle, tmp_path / "ray", config=CandidateConfig(k=K), engine="ray",
                                   shard_size=40, progress=False)
    finally:
        ray.shutdown()
    ref_out, ref_manifest = reference
    pd.testing.assert_frame_equal(read_suggestions(tmp_path / "ray"), read_suggestions(ref_out))
    strip = lambda m: {k: v for k, v in m.items() if k != "_run"}  # noqa: E731
    assert strip(manifest) == strip(ref_manifest) == _manifest(ref_out)
    assert manifest["_run"]["engine"] == "ray"


def test_users_and_blocked_files(bundle, reference, tmp_path):
    users = tmp_path / "users.csv"
    users.write_text("user_id\n5\n17\n5\n")
    blocked = tmp_path / "blocked.csv"
    ref = read_suggestions(reference[0])
    top = ref[(ref.user_id == 5) & (ref["rank"] == 1)].candidate_id.item()
    blocked.write_text(f"src,dst\n{top},5\n")
    run_suggest_job(bundle, tmp_path / "some", config=CandidateConfig(k=K), users=users, blocked=blocked,
                    progress=False)
    got = read_suggestions(tmp_path / "some")
    assert set(got.user_id) == {5, 17}
    assert top not in got[got.user_id == 5].candidate_id.tolist()
    pd.testing.assert_frame_equal(got[got.user_id == 17].reset_index(drop=True),
                                  ref[ref.user_id == 17].reset_index(drop=True))


@pytest.mark.parametrize("content, message", [
    ("user_id\n5\n12345\n", r"users.csv: line 3: unknown user id '12345'"),
    ("id\n5\n", r"users.csv: missing column\(s\) \['user_id'\]"),
    ("user_id\n5\n\n\"unterminated\n", r"users.csv: "),
])
def test_bad_users_file_leaves_nothing(bundle, tmp_path, content, message):
    users = tmp_path / "users.csv"
    users.write_text(content)
    with pytest.raises(JobError, match=message):
        run_suggest_job(bundle, tmp_path / "out", users=users, progress=False)
    assert not (tmp_path / "out").exists()


def test_cli_errors_are_clear_and_leave_nothing(bundle, tmp_path):
    runner = CliRunner()
    blocked = tmp_path / "blocked.csv"
    blocked.write_text("src\n1\n")
    res = runner.invoke(app, ["suggest", "--model", str(bundle), "--out", str(tmp_path / "o1"),
                              "--blocked", str(blocked)])
    assert res.exit_code == 2 and "blocked.csv: missing column(s) ['dst']" in res.output
    broken = tmp_path / "broken"
    import shutil

    shutil.copytree(bundle, broken)
    (broken / "edges.safetensors").unlink()
    res = runner.invoke(app, ["suggest", "--model", str(broken), "--out", str(tmp_path / "o2")])
    assert res.exit_code == 2 and "edges.safetensors is missing" in res.output
    res = runner.invoke(app, ["suggest", "--model", str(bundle), "--out", str(tmp_path / "o3"), "--engine", "spark"])
    assert res.exit_code == 2 and "unknown engine 'spark'" in res.output
    assert not any((tmp_path / f"o{i}").exists() for i in (1, 2, 3))
    res = runner.invoke(app, ["explain", "--model", str(bundle), "1", "nobody"])
    assert res.exit_code == 2 and "unknown user id 'nobody'" in res.output
    res = runner.invoke(app, ["explain", "--model", str(bundle), "1", "2", "--json"])
    assert res.exit_code == 0 and json.loads(res.output)["u"] == 1
    with pytest.raises(BundleError):
        run_suggest_job(broken, tmp_path / "o4", progress=False)
    assert not (tmp_path / "o4").exists()
