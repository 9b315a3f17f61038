"""The command line meets bad input with one clear line (issue 22).

Everything runs in-process on a synthetic 300-user graph: output paths are checked before any work, nonsense
options are refused by the option parser, warnings and errors read ``warning: ...`` / ``error: ...``, ``--quiet``
draws no progress bar, a full disk ends in one line and leaves no temporary file, and the demo reruns.
"""
from __future__ import annotations

import errno
import json
import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from socialgraph.cli.main import app
from socialgraph.synth import SynthConfig, write_synthetic

# A model small enough to train in a few seconds; TF-IDF keeps the sentence model out of the tests that do not
# need it.
TINY = ["--epochs", "1", "--set", "model.dim=16", "--set", "encoders.text=tfidf", "--quiet"]
BARS = ("%|", "it/s", "s/it", "Loading weights")


def invoke(*args: str):
    return CliRunner().invoke(app, [str(a) for a in args])


def one_error(result, says: str = "") -> str:
    """Assert the command failed on its input: exit 2, exactly one ``error:`` line, no traceback."""
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output, result.output
    assert len(errors) == 1, result.output
    assert says in errors[0], result.output
    return errors[0]


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return write_synthetic(SynthConfig(users=300, mean_degree=8, seed=0), tmp_path_factory.mktemp("g") / "data")


@pytest.fixture(scope="module")
def bundle(data: Path, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("b") / "bundle"
    result = invoke("train", "--data", data, "--out", out, *TINY)
    assert result.exit_code == 0, result.output
    return out


# --------------------------------------------------------------------------------------------- output paths
def _job_folder(path: Path) -> Path:
    path.mkdir()
    (path / "_plan.json").write_text("{}")
    return path


def _bundle_folder(path: Path) -> Path:
    path.mkdir()
    (path / "manifest.json").write_text(json.dumps({"format": "socialgraph-bundle"}))
    return path


# (command, how --out is prepared, what the error says). The model never needs to exist: the check comes first.
OUTPUT_CASES = [
    ("train", "other_folder", "is not a bundle"),
    ("train", "own_output", "pass --overwrite"),
    ("train", "file", "is a file"),
    ("train", "parent_is_file", "is a file, not a folder"),
    ("train", "read_only_parent", "read-only"),
    ("score", "folder", "is a folder"),
    ("score", "parent_is_file", "is a file, not a folder"),
    ("score", "read_only_parent", "read-only"),
    ("suggest", "other_folder", "is not a suggestion job's output"),
    ("suggest", "own_output", "--resume"),
    ("suggest", "file", "is a file"),
    ("suggest", "parent_is_file", "is a file, not a folder"),
    ("suggest", "read_only_parent", "read-only"),
    ("suggest", "resume_nothing", "nothing to resume"),
    ("suggest", "resume_and_overwrite", "contradict"),
]


def _prepare(command: str, case: str, tmp: Path, monkeypatch) -> tuple[Path, list[str]]:
    """The --out of ``case`` and extra options."""
    name = "scores.csv" if command == "score" else "out"
    if case == "other_folder":
        (tmp / name).mkdir()
        (tmp / name / "notes.txt").write_text("mine")
    elif case == "own_output":
        (_bundle_folder if command == "train" else _job_folder)(tmp / name)
    elif case in ("file", "parent_is_file"):
        (tmp / "plain").write_text("x")
        return (tmp / "plain" if case == "file" else tmp / "plain" / "sub" / name), []
    elif case == "folder":
        (tmp / name).mkdir()
    elif case == "read_only_parent":
        locked = tmp / "locked"
        locked.mkdir()
        # Root may write anywhere, so a chmod proves nothing here: the check asks os.access, which is patched.
        real = os.access
        monkeypatch.setattr(os, "access", lambda p, mode, **kw: Path(p) != locked and real(p, mode, **kw))
        return locked / "new" / name, []
    elif case == "resume_nothing":
        return tmp / name, ["--resume"]
    elif case == "resume_and_overwrite":
        return _job_folder(tmp / name), ["--resume", "--overwrite"]
    return tmp / name, []


def _command(command: str, out: Path, tmp: Path, data: Path) -> list:
    pairs = tmp / "pairs.csv"
    pairs.write_text("src,dst\n1,2\n")
    return {"train": ["train", "--data", data, *TINY],
            "score": ["score", "--model", tmp / "no-bundle", "--pairs", pairs],
            "suggest": ["suggest", "--model", tmp / "no-bundle", "--quiet"]}[command] + ["--out", out]


@pytest.mark.parametrize("command, case, says", OUTPUT_CASES)
def test_output_path_is_checked_before_any_work(command, case, says, tmp_path, data, monkeypatch):
    out, extra = _prepare(command, case, tmp_path, monkeypatch)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    result = invoke(*_command(command, out, tmp_path, data), *extra)
    message = one_error(result, says)
    assert str(out) in message or "--resume" in message
    after = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.name != "pairs.csv")
    assert after == [p for p in before if p.name != "pairs.csv"]  # nothing written, nothing removed


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_parent_for_real(tmp_path, data):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        one_error(invoke("train", "--data", data, "--out", locked / "m", *TINY), "read-only")
    finally:
        locked.chmod(0o755)


def test_overwrite_replaces_a_bundle_and_a_job_but_nothing_else(bundle, data, tmp_path):
    out = tmp_path / "m"
    assert invoke("train", "--data", data, "--out", out, *TINY).exit_code == 0
    result = invoke("train", "--data", data, "--out", out, "--overwrite", *TINY)
    assert result.exit_code == 0, result.output
    other = tmp_path / "other"
    other.mkdir()
    (other / "thesis.tex").write_text("precious")
    one_error(invoke("train", "--data", data, "--out", other, "--overwrite", *TINY), "never other files")
    one_error(invoke("suggest", "--model", bundle, "--out", other, "--overwrite"), "never other files")
    assert (other / "thesis.tex").read_text() == "precious"


# --------------------------------------------------------------------------------------------- nonsense options
NONSENSE = [
    (["train", "--epochs", "0"], "--epochs"),
    (["train", "--epochs", "-1"], "--epochs"),
    (["train", "--seed", "-1"], "--seed"),
    (["suggest", "--k", "0"], "--k"),
    (["suggest", "--fof", "-1"], "--fof"),
    (["suggest", "--ann", "-3"], "--ann"),
    (["suggest", "--fof", "0", "--ann", "0"], "no candidates"),
    (["suggest", "--shard-size", "0"], "--shard-size"),
    (["suggest", "--shard-size", "-5"], "--shard-size"),
    (["suggest", "--workers", "0"], "--workers"),
    (["suggest", "--workers", "-2"], "--workers"),
    (["suggest", "--threads", "-1"], "--threads"),
    (["suggest", "--seed", "-1"], "--seed"),
    (["suggest", "--engine", "spark"], "unknown engine 'spark'"),
    (["demo", "--epochs", "0"], "--epochs"),
    (["demo", "--k", "0"], "--k"),
    (["baseline", "--seed", "-1"], "--seed"),
]


@pytest.mark.parametrize("args, says", NONSENSE, ids=[" ".join(a) for a, _ in NONSENSE])
def test_nonsense_options_are_refused_before_work(args, says, tmp_path, data):
    out = tmp_path / "out"
    where = {"train": ["--data", data, "--out", out], "suggest": ["--model", tmp_path / "none", "--out", out],
             "demo": ["--out", out], "baseline": ["--data", data]}[args[0]]
    one_error(invoke(*args, *where), says)
    assert not out.exists()


def test_the_bundle_format_spelled_out_by_the_cli_is_the_bundles(tmp_path):
    from socialgraph.cli.common import holds_bundle
    from socialgraph.bundle.format import FORMAT

    assert holds_bundle(_bundle_folder(tmp_path / "b")) and FORMAT == "socialgraph-bundle"


# --------------------------------------------------------------------------------------------- warnings
def test_warnings_read_like_errors(data, tmp_path):
    folder = tmp_path / "loops"
    folder.mkdir()
    friends = (data / "friends.csv").read_text()
    (folder / "friends.csv").write_text(friends + "7,7\n")
    line = len(friends.splitlines()) + 1
    before = warnings.showwarning
    result = invoke("baseline", "--data", folder, "--method", "cn")
    assert result.exit_code == 0, result.output
    ours = [w for w in result.stderr.splitlines() if w.startswith("warning:")]
    assert ours == [f"warning: friends.csv: line {line}: dropped 1 self-loops (first: self-loop 7 -> 7)"], \
        result.stderr
    assert "Warning:" not in result.stderr and "warnings.warn" not in result.stderr  # no Python source format
    assert warnings.showwarning is before  # only the command's process was changed, and only while it ran


def test_other_libraries_deprecation_notices_are_not_shown(tmp_path):
    """PyG importing torch.jit.script warns of a deprecation each run: noise for the user of a command, who can do
    nothing about it. The notice is dropped; a warning the project gives still shows."""
    from socialgraph.cli.main import _show_warning

    def shown(category, filename) -> str:
        import contextlib
        import io

        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            _show_warning(category("a notice"), category, filename, 1)
        return err.getvalue()

    elsewhere = str(Path(np.__file__))
    assert shown(DeprecationWarning, elsewhere) == shown(FutureWarning, elsewhere) == ""
    assert shown(UserWarning, elsewhere) == "warning: a notice\n"  # a library telling the user something
    import socialgraph.data.folder as ours

    assert shown(DeprecationWarning, ours.__file__) == "warning: a notice\n"


# --------------------------------------------------------------------------------------------- progress bars
def test_quiet_draws_no_bar_not_even_the_sentence_models(data, tmp_path):
    """The default text encoder on 300 users is the sentence model, whose loading draws "Loading weights"."""
    import transformers.utils.logging as tf

    result = invoke("train", "--data", data, "--out", tmp_path / "m", "--epochs", "1", "--set", "model.dim=16",
                    "--quiet")
    assert result.exit_code == 0, result.output
    assert not [b for b in BARS if b in result.stderr], result.stderr
    assert tf.is_progress_bar_enabled()  # restored once the command ended


def test_suggest_quiet_or_not(bundle, tmp_path):
    loud = invoke("suggest", "--model", bundle, "--out", tmp_path / "a", "--k", "3")
    assert loud.exit_code == 0 and "shard" in loud.stderr and "%|" in loud.stderr  # the control: bars are seen
    quiet = invoke("suggest", "--model", bundle, "--out", tmp_path / "b", "--k", "3", "--quiet")
    assert quiet.exit_code == 0, quiet.output
    assert not [b for b in BARS if b in quiet.stderr], quiet.stderr


# --------------------------------------------------------------------------------------------- no traceback
def test_bad_input_errors_are_one_line(bundle, data, tmp_path):
    (tmp_path / "bad.yaml").write_text("train:\n  epochs: [1\n")
    one_error(invoke("train", "--data", data, "--out", tmp_path / "m", "--config", tmp_path / "bad.yaml"),
              "bad.yaml")
    one_error(invoke("train", "--data", data, "--out", tmp_path / "m", "--set", "model.dim=big"), "model.dim")
    (tmp_path / "nofriends").mkdir()
    (tmp_path / "nofriends" / "friends.csv").write_text("a,b\n1,2\n")
    one_error(invoke("train", "--data", tmp_path / "nofriends", "--out", tmp_path / "m", *TINY), "friends.csv")
    one_error(invoke("explain", "--model", bundle, "1", "999999"), "999999")
    (tmp_path / "users.csv").write_text("id\n1\n")
    one_error(invoke("suggest", "--model", bundle, "--out", tmp_path / "s", "--users", tmp_path / "users.csv"),
              "user_id")
    one_error(invoke("suggest", "--model", bundle, "--out", tmp_path / "s", "--hidden", tmp_path / "nope.csv"),
              "nope.csv")
    assert not (tmp_path / "m").exists() and not (tmp_path / "s").exists()


def test_a_bug_keeps_its_traceback(data, monkeypatch):
    import socialgraph.eval.baselines as baselines

    def broken(*args, **kwargs):
        return {}["no such key"]

    monkeypatch.setattr(baselines, "heuristic_baselines", broken)
    result = invoke("baseline", "--data", data)
    assert result.exit_code == 1
    assert "Traceback" in result.output and "KeyError" in result.output and "a bug in socialgraph" in result.output


def test_validation_errors_of_the_library_are_input_errors_and_others_are_bugs():
    from socialgraph.cli.main import _input_error_message
    from socialgraph.encoders.text import TfidfSvdText

    with pytest.raises(ValueError) as ours:  # a `raise ValueError(...)` of the project: argument validation
        TfidfSvdText(tokens="letters")
    assert "tokens must be one of" in _input_error_message(ours.value)
    with pytest.raises(ValueError) as deep:  # numpy's own complaint: a bug of whoever called it, traceback kept
        np.stack([])
    assert _input_error_message(deep.value) is None


# --------------------------------------------------------------------------------------------- full disk
def _disk_full(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_disk_full_while_scoring_leaves_the_old_file_and_no_tmp(bundle, tmp_path, monkeypatch):
    out = tmp_path / "scores.csv"
    out.write_text("old\n")
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("src,dst\n1,2\n1,3\n")

    def half_then_full(self, path, **kwargs):
        Path(path).write_text("src,dst,sc")  # a partial file, as a full disk leaves it
        _disk_full()

    monkeypatch.setattr(pd.DataFrame, "to_csv", half_then_full)
    one_error(invoke("score", "--model", bundle, "--pairs", pairs, "--out", out), f"disk full while writing {out}")
    assert out.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pairs.csv", "scores.csv"]


def test_score_replaces_its_file_atomically(bundle, tmp_path):
    out, pairs = tmp_path / "new" / "scores.csv", tmp_path / "pairs.csv"
    pairs.write_text("src,dst\n1,2\n1,3\n")
    for _ in range(2):  # a second run replaces the first's file
        result = invoke("score", "--model", bundle, "--pairs", pairs, "--out", out)
        assert result.exit_code == 0, result.output
    assert len(pd.read_csv(out)) == 2 and sorted(p.name for p in out.parent.iterdir()) == ["scores.csv"]


def test_disk_full_while_training_or_suggesting(bundle, data, tmp_path, monkeypatch):
    import pyarrow.parquet as pq

    import socialgraph.bundle.format as bundles

    monkeypatch.setattr(bundles, "save_bundle", _disk_full)
    one_error(invoke("train", "--data", data, "--out", tmp_path / "m", *TINY), "disk full")
    monkeypatch.setattr(pq, "write_table", _disk_full)
    one_error(invoke("suggest", "--model", bundle, "--out", tmp_path / "s", "--quiet"), "disk full")
    assert not list(tmp_path.rglob(".*tmp*"))


def test_permission_denied_is_one_line(bundle, tmp_path, monkeypatch):
    def denied(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(tmp_path / "scores.csv"))

    monkeypatch.setattr(pd.DataFrame, "to_csv", denied)
    (tmp_path / "pairs.csv").write_text("src,dst\n1,2\n")
    one_error(invoke("score", "--model", bundle, "--pairs", tmp_path / "pairs.csv", "--out", tmp_path / "scores.csv"),
              "permission denied")


# --------------------------------------------------------------------------------------------- suggest options
def test_suggest_hidden_and_overwrite(bundle, data, tmp_path):
    from socialgraph.data import load
    from socialgraph.jobs import read_suggestions

    out = tmp_path / "s"
    assert invoke("suggest", "--model", bundle, "--out", out, "--k", "5", "--quiet").exit_code == 0
    before = read_suggestions(out)
    hidden = before["candidate_id"].value_counts().index[:10].tolist()  # the most suggested users
    pd.DataFrame({"user_id": hidden}).to_csv(tmp_path / "hidden.csv", index=False)
    one_error(invoke("suggest", "--model", bundle, "--out", out, "--hidden", tmp_path / "hidden.csv"), "--overwrite")
    result = invoke("suggest", "--model", bundle, "--out", out, "--k", "5", "--hidden", tmp_path / "hidden.csv",
                    "--overwrite", "--quiet")
    assert result.exit_code == 0, result.output
    after = read_suggestions(out)
    assert not after["candidate_id"].isin(hidden).any()
    # Reasons count mutual friends on the graph without the hidden users.
    graph = load(data)
    n = graph.num_users
    adj = np.zeros((n, n), np.int64)
    pairs = graph.undirected_pairs()
    adj[pairs[:, 0], pairs[:, 1]] = adj[pairs[:, 1], pairs[:, 0]] = 1
    adj[:, graph.user_index(hidden)] = 0
    u, c = graph.user_index(after["user_id"].tolist()), graph.user_index(after["candidate_id"].tolist())
    mutual = (adj[u] * adj[c]).sum(1)
    said = pd.to_numeric(after["reason"].str.extract(r"^(\d+) mutual")[0]).fillna(0).astype(int).to_numpy()
    assert (said == mutual).all()


# --------------------------------------------------------------------------------------------- the demo
def test_demo_reruns_honours_k_and_shows_every_metric(data, tmp_path, monkeypatch):
    """The demo's whole path on the 300-user graph instead of the Facebook pages: run twice into one folder."""
    import socialgraph.data as data_api
    from socialgraph.cli.common import LINK_COLUMNS
    from socialgraph.jobs import read_suggestions

    graph = data_api.load(data)
    monkeypatch.setattr(data_api, "load", lambda name: graph)
    out = tmp_path / "demo"
    runs = []
    for _ in range(2):
        result = invoke("demo", "--out", out, "--epochs", "1", "--k", "3", "--quiet")
        assert result.exit_code == 0, result.output
        assert not [b for b in BARS if b in result.stderr], result.stderr
        runs.append(read_suggestions(out / "suggestions"))
    assert runs[0]["rank"].max() == 3 and json.loads((out / "suggestions" / "manifest.json").read_text())["k"] == 3
    pd.testing.assert_frame_equal(runs[0], runs[1])  # same seed, same output
    header = next(line for line in result.stdout.splitlines() if line.strip().startswith("method"))
    assert header.split()[1:] == list(LINK_COLUMNS)
    assert "training + validation graph" in result.stdout
    report = json.loads((out / "report.json").read_text())
    assert set(report["test_link"]) == {"socialgraph", "cn", "aa", "ra", "gcn_autoencoder"}
    assert all(set(LINK_COLUMNS) <= set(m) for m in report["test_link"].values())


def test_demo_heuristics_see_training_and_validation_pairs(data):
    """An independent oracle: common neighbours counted with a dense matrix product over train + val."""
    from socialgraph.cli.demo import compare, demo_config
    from socialgraph.data import load
    from socialgraph.data.protocol import benchmark_split
    from socialgraph.eval.link import evaluate_link_scores

    graph = load(data)
    split = benchmark_split(graph, seed=0)
    cfg = demo_config("tfidf", 1)
    cfg.model.dim = 16
    _, _, results = compare(graph, split, cfg, progress=False)
    observed = np.r_[split.train, split.val]
    a = np.zeros((graph.num_users,) * 2)
    a[observed[:, 0], observed[:, 1]] = a[observed[:, 1], observed[:, 0]] = 1
    cn = a @ a
    expected = evaluate_link_scores(cn[tuple(split.test.T)], cn[tuple(split.negatives.T)])
    assert results["cn"] == pytest.approx(expected)


def test_demo_refuses_folders_it_did_not_write(tmp_path):
    (tmp_path / "demo" / "suggestions").mkdir(parents=True)
    (tmp_path / "demo" / "suggestions" / "keep.txt").write_text("mine")
    one_error(invoke("demo", "--out", tmp_path / "demo"), "is not a suggestion job's output")


# --------------------------------------------------------------------------------------------- side files
@pytest.mark.parametrize("command", ["score", "suggest --users", "suggest --hidden"])
def test_side_file_rows_with_too_many_fields_are_one_line_with_their_line(command, bundle, tmp_path):
    """A --pairs / --users / --hidden row with a field more than its header: pandas would take the first field as
    the index and shift the others silently (src 2, dst 3 for `1,2,3`); it is refused, naming the line."""
    columns = "src,dst" if command == "score" else "user_id"
    good = "1,2" if command == "score" else "1"
    path = tmp_path / "side.csv"
    path.write_text(f"{columns}\n{good}\n\n{good},3\n")
    if command == "score":
        result = invoke("score", "--model", bundle, "--pairs", path, "--out", tmp_path / "s.csv")
    else:
        result = invoke("suggest", "--model", bundle, "--out", tmp_path / "sugg", command.split()[1], path,
                        "--quiet")
    line = one_error(result, "line 4")
    assert "fields" in line and "side.csv" in line
    assert not (tmp_path / "s.csv").exists() and not (tmp_path / "sugg").exists()


def test_unknown_id_in_pairs_names_its_physical_line(bundle, tmp_path):
    (tmp_path / "pairs.csv").write_text("src,dst\n1,2\n\n3,999999\n")  # a blank line before the bad row
    result = invoke("score", "--model", bundle, "--pairs", tmp_path / "pairs.csv", "--out", tmp_path / "s.csv")
    assert "line 4" in one_error(result, "unknown user id 999999")
