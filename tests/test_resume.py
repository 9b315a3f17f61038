"""``socialgraph train --resume``: a run killed with kill -9 continues from its state and ends where an
uninterrupted run with the same seed ends (issue 25), in full and in sampled mode; other settings, a missing state
and contradicting flags are refused with one line."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from socialgraph.bundle.config import Config
from socialgraph.bundle.format import load_bundle
from socialgraph.data import load
from socialgraph.synth import SynthConfig, write_synthetic
from socialgraph.train import trainer as trainer_module
from socialgraph.train.resume import has_state, read_progress
from socialgraph.train.trainer import Trainer

CLI = [sys.executable, "-m", "socialgraph.cli.main"]
ARGS = ["--epochs", "6", "--set", "model.dim=16", "--set", "encoders.text=tfidf", "--set", "train.eval_every=1",
        "--set", "train.threads=1", "--set", "train.checkpoint_seconds=0", "-q"]


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return write_synthetic(SynthConfig(users=600, mean_degree=10, seed=3), tmp_path_factory.mktemp("g") / "data")


def _train(data: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(CLI + ["train", "--data", str(data), "--out", str(out), *ARGS, *extra],
                          capture_output=True, text=True)


def _same_bundles(a: Path, b: Path) -> None:
    fa, fb = load_bundle(a), load_bundle(b)
    sa, sb = fa.model.state_dict(), fb.model.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k
    strip = lambda m: {k: v for k, v in m.items() if k != "train_seconds"}  # noqa: E731
    assert strip(fa.metrics) == strip(fb.metrics)
    history = [[{k: v for k, v in json.loads(line).items() if not k.endswith("seconds")} for line in
                (p / "metrics.jsonl").read_text().splitlines()] for p in (a, b)]
    assert history[0] == history[1] and len(history[0]) == 6


def test_kill_9_then_resume_ends_where_the_uninterrupted_run_ends(data, tmp_path):
    ref = tmp_path / "ref"
    res = _train(data, ref)
    assert res.returncode == 0, res.stderr
    assert not (tmp_path / "ref.partial").exists()  # the state goes once the bundle is written

    out, state = tmp_path / "killed", tmp_path / "killed.partial"
    proc = subprocess.Popen(CLI + ["train", "--data", str(data), "--out", str(out), *ARGS],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        p = read_progress(state)
        if p and (p["epoch"], p["step"]) >= (2, 2):  # inside the third epoch
            break
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL
    p = read_progress(state)
    assert has_state(state) and not out.exists() and (p["epoch"], p["step"]) >= (2, 2), p
    assert p["epoch"] < 5

    res = _train(data, out)  # an interrupted run is not silently thrown away
    assert res.returncode == 2 and "--resume" in res.stderr and "interrupted" in res.stderr, res.stderr
    res = _train(data, out, "--resume", "--set", "train.lr=0.01")
    assert res.returncode == 2 and "train.lr (0.005 then, 0.01 now)" in res.stderr, res.stderr
    res = _train(data, out, "--resume")
    assert res.returncode == 0, res.stderr
    assert not state.exists() and not list(tmp_path.glob(".*tmp*"))
    _same_bundles(out, ref)


def test_resume_without_a_state_and_with_overwrite_is_refused(data, tmp_path):
    res = _train(data, tmp_path / "new", "--resume")
    assert res.returncode == 2 and "no interrupted run" in res.stderr, res.stderr
    res = _train(data, tmp_path / "new", "--resume", "--overwrite")
    assert res.returncode == 2 and "contradict" in res.stderr, res.stderr
    assert not (tmp_path / "new").exists() and not (tmp_path / "new.partial").exists()


class _Killed(BaseException):
    """Stands for the kill: not an Exception, so nothing in the run catches it."""


@pytest.mark.parametrize("mode", ["full", "sampled"])
def test_a_run_stopped_mid_epoch_resumes_to_the_same_weights(mode, data, tmp_path, monkeypatch):
    graph = load(data)
    cfg = Config()
    cfg.model.dim, cfg.encoders.text = 16, "tfidf"
    cfg.train.epochs, cfg.train.eval_every, cfg.train.threads, cfg.train.mode = 3, 1, 1, mode
    cfg.train.checkpoint_seconds, cfg.train.batch_size = 0.0, 512
    first = Trainer(cfg, progress=False)
    reference = first.fit(graph)

    step, calls = trainer_module.training_step, []

    def dies_at_the_fourteenth_step(*args, **kwargs):
        calls.append(1)
        if len(calls) == 14:
            raise _Killed
        return step(*args, **kwargs)

    monkeypatch.setattr(trainer_module, "training_step", dies_at_the_fourteenth_step)
    with pytest.raises(_Killed):
        Trainer(cfg, progress=False, state_dir=tmp_path / "state").fit(graph)
    monkeypatch.setattr(trainer_module, "training_step", step)
    p = read_progress(tmp_path / "state")
    assert p["epoch"] * p["steps"] + p["step"] == 13, p
    assert 0 < p["step"], p  # mid-epoch

    second = Trainer(cfg, progress=False, state_dir=tmp_path / "state")
    resumed = second.fit(graph, resume=True)
    # The history holds every epoch's loss and validation metrics: the weights after the kill, not only the best.
    strip = lambda h: [{k: v for k, v in r.items() if not k.endswith("seconds")} for r in h]  # noqa: E731
    assert strip(second.history) == strip(first.history) and len(first.history) == 3
    for k, v in reference.model.state_dict().items():
        assert torch.equal(v, resumed.model.state_dict()[k]), k
    assert resumed.metrics["best_val_hits@20_50_100"] == reference.metrics["best_val_hits@20_50_100"]
