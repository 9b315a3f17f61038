"""Integrity of trained-model bundles (manifest, signature, atomic and durable writes) and of the OGB loader.

Bundles come from a tiny model trained on a synthetic graph with blocked pairs (runs on any checkout); the OGB tests
use a tiny dataset written here, and one test compares with the real ogbl-ddi where the data root has it.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.numpy import save_file as save_numpy

import socialgraph
import socialgraph.bundle.format as bundle_module
from socialgraph.data.errors import DataError
from socialgraph.synth import generate
from socialgraph.bundle.format import KEY_ENV, MANIFEST, SIGNATURE, BundleError, load_bundle, save_bundle, \
    verify_bundle
from socialgraph.bundle.config import Config
from socialgraph.train.trainer import Trainer

KEY = "test-signing-key"


# ------------------------------------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def fitted():
    cfg = Config()
    cfg.model.dim = 32
    cfg.train.epochs, cfg.train.eval_every, cfg.train.threads = 2, 2, 1
    cfg.encoders.text = "tfidf"
    return Trainer(cfg, progress=False).fit(generate(users=600, mean_degree=10, seed=0, blocked=0.02))


@pytest.fixture(scope="module")
def saved(fitted, tmp_path_factory):
    """An unsigned bundle; tests work on copies."""
    return save_bundle(fitted, tmp_path_factory.mktemp("models") / "synth")


@pytest.fixture()
def copy(saved, tmp_path) -> Path:
    out = tmp_path / "copy"
    shutil.copytree(saved, out)
    return out


@pytest.fixture(autouse=True)
def _no_key(monkeypatch):
    """Signing is opt-in: no test sees a key from the environment unless it sets one."""
    monkeypatch.delenv(KEY_ENV, raising=False)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _manifest(path: Path) -> dict:
    return json.loads((path / MANIFEST).read_text())


def _rehash(path: Path, *names: str) -> None:
    """What a tamperer without the key does after editing files: make the manifest agree with them again."""
    manifest = _manifest(path)
    for name in names:
        manifest["files"][name] = _sha(path / name)
    (path / MANIFEST).write_text(json.dumps(manifest, indent=1))


def _refused(path: Path, *, key=None) -> str:
    """The refusal message, checked to be one line with no chained traceback."""
    with pytest.raises(BundleError) as info:
        load_bundle(path, key=key)
    msg = str(info.value)
    assert "\n" not in msg, msg
    err = info.value
    assert err.__cause__ is None and (err.__context__ is None or err.__suppress_context__), "chains a deep traceback"
    return msg


# ------------------------------------------------------------------------------------------------ manifest
def test_manifest_and_meta_list_every_file(saved, fitted):
    manifest, meta = _manifest(saved), json.loads((saved / "meta.json").read_text())
    on_disk = {p.relative_to(saved).as_posix() for p in saved.rglob("*") if p.is_file()} - {MANIFEST}
    assert set(manifest["files"]) == on_disk == set(meta["files"]) | {"meta.json"}
    assert "graph/blocked.parquet" in meta["files"], "the blocked pairs change suggestions: they must be required"
    assert manifest["format_version"] == bundle_module.FORMAT_VERSION
    assert not (saved / SIGNATURE).exists()
    loaded = load_bundle(saved)
    rows = np.array([[0, 1], [2, 3], [10, 400]])
    np.testing.assert_array_equal(loaded.link_logits(rows), fitted.link_logits(rows))
    canon = lambda pairs: sorted(map(tuple, np.sort(np.asarray(pairs), axis=1).tolist()))  # noqa: E731
    assert canon(loaded.graph.blocked) == canon(fitted.graph.blocked) and len(fitted.graph.blocked)


@pytest.mark.parametrize("extra, named", [("graph/engagements.csv", "graph/engagements.csv"), ("notes.txt", None),
                                          (".hidden", None), ("graph/sub/friends.csv", "graph/sub")])
def test_unlisted_file_is_refused_and_not_read(copy, extra, named, monkeypatch):
    target = copy / extra
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("user_id,item_id\n1,1\n")

    def must_not_run(*args, **kwargs):
        raise AssertionError("a table was read from a bundle that holds an unlisted file")

    monkeypatch.setattr(bundle_module, "read_folder", must_not_run)
    msg = _refused(copy)
    assert f"{named or extra} is not listed in {MANIFEST}" in msg and "remove" in msg


def test_unlisted_file_is_refused_even_when_listed_only_in_the_manifest(copy):
    """Listing the dropped file in the manifest (re-hashed) is caught too: meta.json's file list disagrees."""
    (copy / "graph" / "engagements.csv").write_text("user_id,item_id\n1,1\n")
    _rehash(copy, "graph/engagements.csv")
    msg = _refused(copy)
    assert "graph/engagements.csv is listed in manifest.json but not in meta.json" in msg


def test_removed_file_and_its_manifest_entry_are_detected(copy):
    (copy / "graph" / "blocked.parquet").unlink()
    manifest = _manifest(copy)
    del manifest["files"]["graph/blocked.parquet"]
    (copy / MANIFEST).write_text(json.dumps(manifest, indent=1))
    msg = _refused(copy)
    assert "graph/blocked.parquet is listed in meta.json but not in manifest.json" in msg


def test_manifest_cannot_point_outside_the_bundle(copy, tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("x")
    manifest = _manifest(copy)
    manifest["files"]["../outside.txt"] = _sha(outside)
    (copy / MANIFEST).write_text(json.dumps(manifest))
    assert "'../outside.txt'" in _refused(copy)


def _bad_safetensors(path: Path) -> None:
    save_numpy({"unexpected": np.zeros((2, 3), np.float32)}, str(path))


# file, how it is spoiled (text / bytes / a function of the path), a word the message must hold besides the file
TAMPERED = {
    "config-syntax": ("config.yaml", "model: [dim: 32\n", "config.yaml"),
    "config-python-tag": ("config.yaml", "!!python/object/apply:os.system ['touch {marker}']\n", "config.yaml"),
    "config-value": ("config.yaml", "model:\n  dim: many\n", "dim"),
    "meta-syntax": ("meta.json", '{"files": [', "meta.json"),
    "meta-shape": ("meta.json", None, "meta.json"),  # valid JSON, shape of the wrong kind (built below)
    "model-garbage": ("model.safetensors", b"\x00" * 64, "model.safetensors"),
    "model-wrong-tensors": ("model.safetensors", _bad_safetensors, "model.safetensors"),
    "encoders-json": ("encoders.json", "[1, 2]", "encoders.json"),
    "encoders-arrays": ("encoders.safetensors", b"not safetensors", "encoders.safetensors"),
    "inputs-garbage": ("inputs.safetensors", b"\xff" * 32, "inputs.safetensors"),
    "inputs-rows": ("inputs.safetensors", lambda p: save_numpy({"users/x/bio": np.zeros((3, 4), np.float32)},
                                                                str(p)), "inputs.safetensors"),
    "edges-missing": ("edges.safetensors", lambda p: save_numpy({"other": np.zeros((1, 2), np.int64)}, str(p)),
                      "edges.safetensors"),
    "graph-parquet": ("graph/friends.parquet", b"PAR1 truncated", "friends.parquet"),
    "graph-schema": ("graph/schema.yaml", "users: [\n", "schema.yaml"),
}


@pytest.mark.parametrize("case", list(TAMPERED))
def test_rehashed_malformed_file_is_a_one_line_refusal(copy, case, tmp_path):
    name, spoil, word = TAMPERED[case]
    marker = tmp_path / "code-ran"
    target = copy / name
    if case == "meta-shape":
        meta = json.loads(target.read_text())
        meta["shape"] = {"not_a_field": 1}
        spoil = json.dumps(meta)
    if callable(spoil):
        spoil(target)
    elif isinstance(spoil, bytes):
        target.write_bytes(spoil)
    else:
        target.write_text(spoil.replace("{marker}", str(marker)))
    _rehash(copy, name)
    msg = _refused(copy)
    assert name.split("/")[0] in msg and word in msg, msg
    assert not marker.exists(), "loading ran code from the bundle"


def test_damaged_manifest_is_a_one_line_refusal(copy):
    (copy / MANIFEST).write_text('{"format": "socialgraph-bundle", ')
    assert MANIFEST in _refused(copy)


# ------------------------------------------------------------------------------------------------ signing
@pytest.fixture()
def signed(fitted, tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv(KEY_ENV, KEY)
    path = save_bundle(fitted, tmp_path / "signed")
    monkeypatch.delenv(KEY_ENV)
    return path


def test_signed_bundle_loads_with_its_key(signed, monkeypatch):
    assert (signed / SIGNATURE).read_text().startswith("hmac-sha256 ")
    load_bundle(signed, key=KEY)
    assert f"{SIGNATURE} does not verify" in _refused(signed, key="another key")
    monkeypatch.setenv(KEY_ENV, KEY)
    assert socialgraph.Predictor.load(signed).num_users == 600


def test_tampered_and_rehashed_signed_bundle_is_refused_with_the_key(signed, monkeypatch):
    config = signed / "config.yaml"
    config.write_text(config.read_text().replace("dim: 32", "dim: 33"))
    _rehash(signed, "config.yaml")
    monkeypatch.setenv(KEY_ENV, KEY)
    assert f"{SIGNATURE} does not verify" in _refused(signed)


def test_unsigned_bundle_is_refused_when_a_key_is_set(saved, monkeypatch):
    monkeypatch.setenv(KEY_ENV, KEY)
    msg = _refused(saved)
    assert f"{SIGNATURE} is missing" in msg and "unsigned" in msg
    with pytest.raises(BundleError, match="unsigned"):
        verify_bundle(saved)


def test_signed_bundle_loads_without_a_key(signed):
    """Without a key there is nothing to check the signature with: the bundle loads on its checksums alone."""
    load_bundle(signed)
    (signed / SIGNATURE).write_text("hmac-sha256 " + "0" * 64 + "\n")
    load_bundle(signed)  # not checked without a key ...
    assert f"{SIGNATURE} does not verify" in _refused(signed, key=KEY)  # ... and refused with one
    (signed / SIGNATURE).write_text("garbage\n")
    assert "signature is damaged" in _refused(signed, key=KEY)


# ------------------------------------------------------------------------------------------------ writing
def _dead_pid() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    return int(proc.stdout)


def test_stale_temp_folder_is_cleaned_by_the_next_save(fitted, tmp_path):
    target = tmp_path / "model"
    dead = _dead_pid()
    stale = [tmp_path / f".model.tmp-{dead}-0123abcd", tmp_path / f".model.old-{dead}-89abcdef"]
    for folder in stale:
        (folder / "graph").mkdir(parents=True)
        (folder / "model.safetensors").write_bytes(b"half written")
    live = tmp_path / f".model.tmp-{os.getppid()}-00000000"  # a save still running elsewhere: left alone
    other = tmp_path / f".other.tmp-{dead}-00000000"  # another bundle's: not this save's business
    live.mkdir()
    other.mkdir()
    save_bundle(fitted, target)
    assert not any(p.exists() for p in stale)
    assert live.exists() and other.exists()
    load_bundle(target)


def test_a_full_disk_inside_safetensors_is_an_os_error_and_leaves_nothing(fitted, tmp_path, monkeypatch):
    """safetensors' Rust core reports a failed write with its own exception type; the save turns a full disk into
    the OSError(ENOSPC) that the command line prints as one line, and removes its scratch folder."""
    import errno

    class SafetensorError(Exception):  # what safetensors_rust raises: no Python base but Exception
        pass

    def full(tensors, path):
        raise SafetensorError('Error while serializing: IoError(Os { code: 28, kind: StorageFull, message: "No '
                              'space left on device" })')

    monkeypatch.setattr(bundle_module, "save_numpy", full)
    with pytest.raises(OSError) as err:
        save_bundle(fitted, tmp_path / "bundle")
    assert err.value.errno == errno.ENOSPC and err.value.filename.endswith(".safetensors")
    assert list(tmp_path.iterdir()) == []


_KILLED_SAVE = """
import sys, time
import socialgraph.bundle.format as b
fitted = b.load_bundle(sys.argv[1])
b.storage.fsync_tree = lambda root: (print("writing", flush=True), time.sleep(600))
b.save_bundle(fitted, sys.argv[2], overwrite=True)
"""


def test_killed_save_leaves_a_folder_the_next_save_removes(saved, fitted, tmp_path):
    target = tmp_path / "model"
    save_bundle(fitted, target)
    before = _manifest(target)
    proc = subprocess.Popen([sys.executable, "-c", _KILLED_SAVE, str(saved), str(target)], stdout=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout.readline().strip() == "writing"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
    left = [p for p in tmp_path.iterdir() if p.name.startswith(".model.tmp-")]
    assert len(left) == 1 and (left[0] / MANIFEST).exists()  # as kill -9 leaves it
    assert _manifest(target) == before  # the old bundle was never touched
    save_bundle(fitted, target, overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]
    load_bundle(target)


def test_overwrite_replaces_a_bundle_and_nothing_else(fitted, tmp_path):
    target = tmp_path / "demo" / "bundle"
    save_bundle(fitted, target, overwrite=True, history=[{"epoch": 1}])
    save_bundle(fitted, target, overwrite=True, history=[{"epoch": 2}])  # the demo's second run
    assert (target / "metrics.jsonl").read_text() == '{"epoch": 2}\n'
    assert [p.name for p in target.parent.iterdir()] == ["bundle"]
    load_bundle(target)
    with pytest.raises(FileExistsError, match="not empty"):
        save_bundle(fitted, target)
    precious = tmp_path / "home"
    precious.mkdir()
    (precious / "thesis.tex").write_text("years of work")
    with pytest.raises(FileExistsError, match="not a socialgraph bundle"):
        save_bundle(fitted, precious, overwrite=True)
    assert (precious / "thesis.tex").read_text() == "years of work"


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="maps fsynced descriptors to paths through /proc")
def test_files_are_fsynced_before_the_rename_that_publishes_them(fitted, tmp_path, monkeypatch):
    events: list[tuple] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        return real_fsync(fd)

    def replace(src, dst, *args, **kwargs):
        events.append(("replace", str(src), str(dst)))
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    target = tmp_path / "model"
    save_bundle(fitted, target)
    publish = next(i for i, e in enumerate(events) if e[0] == "replace" and e[2] == str(target))
    tmp = events[publish][1]
    synced_before = {e[1] for e in events[:publish] if e[0] == "fsync"}
    files = [p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file()]
    assert len(files) >= 10
    for rel in files + ["graph", ""]:
        assert os.path.normpath(os.path.join(tmp, rel)) in synced_before, f"{rel or 'the folder'} not fsynced"
    assert ("fsync", str(tmp_path)) in events[publish + 1:], "the parent folder is not fsynced after the rename"


# ------------------------------------------------------------------------------------------------ OGB loader
def _gz_csv(path: Path, rows) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt") as f:
        f.write("".join(",".join(str(v) for v in r) + "\n" for r in rows))


class _Payload:
    """Pickles to a call that creates ``marker``: what a replaced file would do when unpickled fully."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return open, (self.marker, "w")


def _tiny_ogb(root: Path):
    """A 6-node OGB-style dataset under ``root``: its card and the ``key -> path`` map the registry would give."""
    from socialgraph.data.registry import DatasetCard, FileSpec

    folder = root / "ogb" / "ogbl_tiny"
    edges = [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (1, 0)]
    _gz_csv(folder / "raw" / "edge.csv.gz", edges)
    _gz_csv(folder / "raw" / "num-node-list.csv.gz", [(6,)])
    _gz_csv(folder / "raw" / "num-edge-list.csv.gz", [(len(edges),)])
    split = folder / "split" / "target"
    split.mkdir(parents=True)
    torch.save({"edge": np.array(edges, np.int64)}, split / "train.pt")
    torch.save({"edge": np.array([[0, 5]]), "edge_neg": torch.tensor([[0, 3], [1, 4]])}, split / "valid.pt")
    torch.save({"edge": np.array([[2, 5]], np.int32), "weight": np.array([0.5])}, split / "test.pt")
    rel = {"raw_edge": "raw/edge.csv.gz", "raw_num-node-list": "raw/num-node-list.csv.gz",
           "raw_num-edge-list": "raw/num-edge-list.csv.gz", "split_target_train": "split/target/train.pt",
           "split_target_valid": "split/target/valid.pt", "split_target_test": "split/target/test.pt"}
    card = DatasetCard(name="ogbl-tiny", family="ogb", title="tiny", homepage="-", license="-", citation="",
                       folder="ogb/ogbl_tiny", files=tuple(FileSpec(k, f"ogb/ogbl_tiny/{v}") for k, v in rel.items()),
                       params={"ogb_name": "ogbl-tiny"})
    return card, {k: folder / v for k, v in rel.items()}


def test_ogb_loader_reads_graph_and_split_without_the_cache(tmp_path):
    from socialgraph.data.loaders import ogb
    from socialgraph.paths import cache_root

    card, paths = _tiny_ogb(tmp_path / "data")
    graph = ogb.load(card, paths)
    assert graph.num_users == 6
    assert graph.friends.tolist() == [[0, 1], [1, 2], [2, 3], [3, 4], [4, 5]]
    split = ogb.edge_split(card, paths)
    assert split["valid"]["edge_neg"].dtype == np.int64 and split["valid"]["edge_neg"].tolist() == [[0, 3], [1, 4]]
    assert split["test"]["edge"].dtype == np.int64 and split["test"]["weight"].tolist() == [0.5]
    assert not (cache_root() / "ogb").exists(), "the loader copied files into the cache"


def test_ogb_split_file_that_would_run_code_is_refused(tmp_path):
    from socialgraph.data.loaders import ogb

    card, paths = _tiny_ogb(tmp_path / "data")
    marker = tmp_path / "code-ran"
    evil = paths["split_target_valid"]
    torch.save({"edge": _Payload(marker)}, evil)
    torch.load(evil, weights_only=False)["edge"].close()  # the payload is real: a full unpickle runs it ...
    assert marker.exists()
    marker.unlink()
    with pytest.raises(DataError) as info:  # ... the loader does not
        ogb.edge_split(card, paths)
    assert not marker.exists()
    assert "\n" not in str(info.value) and str(evil) in str(info.value)
    evil.write_bytes(pickle.dumps({"edge": _Payload(marker)}, protocol=2))  # a plain pickle, not torch.save's format
    with pytest.raises(DataError, match="refusing to unpickle"):
        ogb.edge_split(card, paths)
    assert not marker.exists()


def test_ogb_files_planted_in_the_cache_are_never_unpickled(tmp_path):
    """What the old loader read back from the cache (a processed pickle with its digest beside it, copies of the
    split files) is now never opened, so whoever can write the cache cannot run code."""
    from socialgraph.data.loaders import ogb
    from socialgraph.paths import cache_root

    card, paths = _tiny_ogb(tmp_path / "data")
    marker = tmp_path / "code-ran"
    planted = cache_root() / card.folder
    (planted / "processed").mkdir(parents=True)
    (planted / "split" / "target").mkdir(parents=True)
    for f in (planted / "processed" / "data_processed.pt", *(planted / "split" / "target" / f"{p}.pt"
                                                            for p in ("train", "valid", "test"))):
        torch.save({"edge": _Payload(marker)}, f)
    (planted / "processed.sha256").write_text(f"{_sha(planted / 'processed' / 'data_processed.pt')} "
                                              f"data_processed.pt\n")
    assert ogb.load(card, paths).num_users == 6
    assert ogb.edge_split(card, paths)["train"]["edge"].shape == (6, 2)
    assert not marker.exists()


def test_damaged_graph_cache_entry_is_rebuilt(tmp_path):
    from socialgraph.data.loaders import ogb
    from socialgraph.data.loaders._cache import cached_graph
    from socialgraph.paths import cache_root

    card, paths = _tiny_ogb(tmp_path / "data")
    cached_graph(card, paths, lambda: ogb.load(card, paths))
    (entry,) = (cache_root() / "graphs").iterdir()
    (entry / "arrays.npz").write_bytes(b"damaged")
    with pytest.warns(UserWarning, match="rebuilding"):
        again = cached_graph(card, paths, lambda: ogb.load(card, paths))
    assert again.num_users == 6
    assert cached_graph(card, paths, lambda: pytest.fail("rebuilt twice")).num_friend_pairs == 5


def test_ogbl_ddi_matches_ogb_readers():
    from socialgraph.data.loaders import ogb
    from socialgraph.data.registry import fetch_files, get_card, is_present

    card = get_card("ogbl-ddi")
    if not is_present(card):
        pytest.skip("needs dataset ogbl-ddi: not shipped; set SOCIALGRAPH_DATA to a folder holding ogb/ogbl_ddi")
    from ogb.io.read_graph_raw import read_csv_graph_raw

    paths = fetch_files(card)
    graph = ogb.load(card, paths)
    oracle = read_csv_graph_raw(str(paths["raw_edge"].parent), add_inverse_edge=True)[0]  # ogb's own CSV reader
    assert graph.num_users == oracle["num_nodes"] == 4267
    ei = oracle["edge_index"]
    np.testing.assert_array_equal(graph.friends, np.unique(np.sort(ei.T, axis=1), axis=0))
    split = ogb.edge_split(card, paths)
    assert split["train"]["edge"].shape == (1067911, 2)
    assert split["valid"]["edge"].shape == (133489, 2) and split["valid"]["edge_neg"].shape == (101882, 2)
    assert split["test"]["edge"].shape == (133489, 2) and split["test"]["edge_neg"].shape == (95599, 2)
    np.testing.assert_array_equal(np.unique(np.sort(split["train"]["edge"], axis=1), axis=0), graph.friends)
