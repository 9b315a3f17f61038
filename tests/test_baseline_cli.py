"""``socialgraph baseline`` end to end on real data, by dataset name and by folder."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from shipped import pick
from socialgraph.cli.main import app
from socialgraph.data import load
from socialgraph.eval.baselines import heuristic_baselines
from socialgraph.eval.heuristics import METHODS

runner = CliRunner()


def test_all_methods_as_json_match_the_library():
    name = pick("lastfm-hetrec-2k", "twitch-engb")
    res = runner.invoke(app, ["baseline", "--dataset", name, "--method", "all", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert list(out["results"]) == list(METHODS)
    assert out["test"] == int(0.10 * (out["train"] + out["val"] + out["test"]))
    assert out["negatives"] == max(10_000, out["test"])
    expected = heuristic_baselines(load(name), METHODS, seed=0)
    for m in METHODS:
        for key, value in expected[m].items():
            assert out["results"][m][key] == pytest.approx(value), (m, key)


def test_table_output_and_seed(shipped_root: Path, tmp_path: Path):
    # The minimal folder format: friends.csv with src,dst columns (the shipped Twitch ENGB follows).
    f = pd.read_csv(shipped_root / "musae" / "twitch" / "ENGB" / "ENGB_edges.csv")
    pd.DataFrame({"src": f["from"], "dst": f["to"]}).to_csv(tmp_path / "friends.csv", index=False)
    res = runner.invoke(app, ["baseline", "--data", str(tmp_path), "--method", "ra", "--seed", "1"])
    assert res.exit_code == 0, res.output
    lines = res.stdout.strip().splitlines()
    assert "seed 1" in lines[0] and lines[1].split()[:4] == ["method", "hits@20", "hits@50", "hits@100"]
    row = lines[-1].split()
    assert row[0] == "ra" and len(row) == 7
    values = np.array(row[1:], dtype=float)
    assert ((values >= 0) & (values <= 1)).all() and values[0] <= values[1] <= values[2]
    other = runner.invoke(app, ["baseline", "--data", str(tmp_path), "--method", "ra", "--seed", "2"])
    assert other.exit_code == 0 and other.stdout.splitlines()[-1] != lines[-1]


def test_bad_invocations_say_what_to_do(tmp_path: Path):
    res = runner.invoke(app, ["baseline", "--method", "aa"])
    assert res.exit_code != 0 and "--dataset" in res.output
    res = runner.invoke(app, ["baseline", "--dataset", "twitch-engb", "--method", "simrank"])
    assert res.exit_code != 0 and "unknown method" in res.output
    res = runner.invoke(app, ["baseline", "--dataset", "no-such-dataset"])
    assert res.exit_code == 2 and "no-such-dataset" in res.output
