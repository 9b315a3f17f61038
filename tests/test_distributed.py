"""Data-parallel training on two CPU processes (issue 25): ``torchrun`` and Ray Train.

All ranks end with identical weights; the run follows the one-process run with the same global batch within 1e-4
(with dropout off: with it, each rank draws masks for its own shard, so the runs agree in distribution only); the
torchrun CLI writes one bundle, from rank 0; ``--engine ray --workers 2`` runs the same group under Ray Train and
ends with the same weights as torchrun, bit for bit.
"""
from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from socialgraph.bundle.format import load_bundle
from socialgraph.synth import SynthConfig, write_synthetic
from socialgraph.train.distributed import Ranks

WORKER = Path(__file__).parent / "workers" / "ddp_fit.py"
TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
SMALL = ["--epochs", "3", "--set", "model.dim=16", "--set", "encoders.text=tfidf", "--set", "train.eval_every=1",
         "--set", "train.threads=1", "--set", "train.device=cpu", "--set", "model.dropout=0",
         "--set", "model.modality_dropout=0", "-q"]


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return write_synthetic(SynthConfig(users=600, mean_degree=10, seed=3), tmp_path_factory.mktemp("g") / "data")


@pytest.fixture(scope="module")
def two_ranks(data, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ddp")
    res = subprocess.run(TORCHRUN + [str(WORKER), str(data), str(out / "two"), "3", "nodropout"],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-3000:]
    res = subprocess.run([sys.executable, str(WORKER), str(data), str(out / "one"), "3", "nodropout"],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-3000:]
    return out


def _weights(path: Path) -> dict:
    return torch.load(path, weights_only=True)


def test_all_ranks_end_with_identical_weights(two_ranks):
    a, b = _weights(two_ranks / "two" / "rank0.pt"), _weights(two_ranks / "two" / "rank1.pt")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    ha, hb = (json.loads((two_ranks / "two" / f"rank{r}.json").read_text())["history"] for r in (0, 1))
    assert [r["loss"] for r in ha] == [r["loss"] for r in hb]  # the loss is averaged over the ranks


def test_two_ranks_follow_the_one_process_run(two_ranks):
    two, one = _weights(two_ranks / "two" / "rank0.pt"), _weights(two_ranks / "one" / "rank0.pt")
    moved = max((two[k].float() - one[k].float()).abs().max().item() for k in one if one[k].numel())
    assert moved < 1e-4, moved
    h2, h1 = (json.loads((two_ranks / s / "rank0.json").read_text())["history"] for s in ("two", "one"))
    assert len(h1) == len(h2) == 3
    for r2, r1 in zip(h2, h1):
        assert r2["loss"] == pytest.approx(r1["loss"], rel=1e-5)
        assert r2["val_hits@50"] == pytest.approx(r1["val_hits@50"], abs=0.01)


def test_each_rank_scores_its_own_shard_of_a_step(data):
    from socialgraph.bundle.config import Config
    from socialgraph.data import load
    from socialgraph.train.setup import prepare
    from socialgraph.train.step import _link_pairs

    cfg = Config()
    cfg.model.dim, cfg.encoders.text = 16, "tfidf"
    setup = prepare(cfg, load(data))
    idx = np.arange(setup.batch)
    whole = _link_pairs(setup.step, idx, np.random.default_rng(0))
    shards = [_link_pairs(replace(setup.step, ranks=Ranks(r, 2)), idx, np.random.default_rng(0)) for r in (0, 1)]
    as_set = lambda a: sorted(map(tuple, a.tolist()))  # noqa: E731
    assert as_set(np.r_[shards[0].pairs, shards[1].pairs]) == as_set(whole.pairs)
    assert shards[0].num_targets + shards[1].num_targets == whole.num_targets
    assert abs(len(shards[0].pairs) - len(shards[1].pairs)) <= 2 and len(shards[0].pairs) < len(whole.pairs)
    # each rank's link loss is weighted by its share, so the ranks' average is the whole step's mean
    assert shards[0].weight + shards[1].weight == pytest.approx(2.0) and whole.weight == 1.0


def test_torchrun_cli_and_ray_train_write_the_same_bundle(data, two_ranks, tmp_path):
    res = subprocess.run(TORCHRUN + ["-m", "socialgraph.cli.main", "train", "--data", str(data),
                                     "--out", str(tmp_path / "torchrun"), *SMALL], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stdout.count('"bundle"') == 1  # rank 0 alone writes and reports
    ref = _weights(two_ranks / "two" / "rank0.pt")
    got = load_bundle(tmp_path / "torchrun").model.state_dict()
    assert all(torch.equal(ref[k], got[k]) for k in ref)

    res = subprocess.run([sys.executable, "-m", "socialgraph.cli.main", "train", "--data", str(data),
                          "--out", str(tmp_path / "ray"), "--engine", "ray", "--workers", "2", *SMALL],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-3000:]
    got = load_bundle(tmp_path / "ray").model.state_dict()
    assert all(torch.equal(ref[k], got[k]) for k in ref)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ray", "torchrun"]


def test_data_parallel_runs_refuse_resume(data, tmp_path):
    res = subprocess.run([sys.executable, "-m", "socialgraph.cli.main", "train", "--data", str(data), "--out",
                          str(tmp_path / "b"), "--engine", "ray", "--resume", *SMALL], capture_output=True, text=True)
    assert res.returncode == 2 and "single-process" in res.stderr, res.stderr
