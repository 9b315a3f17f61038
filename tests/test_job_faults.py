"""The suggestion job under faults: damaged shards, a full disk, durable writes, replacing a job, bundle identity."""
from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from socialgraph import storage
from socialgraph.jobs import JobError, output, read_suggestions, run_suggest_job
from socialgraph.predictor import CandidateConfig
from shipped import small_bundle

K, SHARD = 10, 100  # 800 users: 8 shards


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    return small_bundle(tmp_path_factory.mktemp("models") / "synth", seed=2)


@pytest.fixture(scope="module")
def reference(bundle, tmp_path_factory):
    """An uninterrupted run: its folder and manifest."""
    out = tmp_path_factory.mktemp("jobs") / "ref"
    return out, _run(bundle, out)


def _run(bundle, out, **kwargs) -> dict:
    kwargs.setdefault("config", CandidateConfig(k=K))
    kwargs.setdefault("shard_size", SHARD)
    return run_suggest_job(bundle, out, progress=False, **kwargs)


def _strip(manifest: dict) -> dict:
    return {k: v for k, v in manifest.items() if k != "_run"}


def _temporaries(out: Path) -> list[Path]:
    return [p for p in out.rglob(".*") if ".tmp" in p.name]


def _same_as_reference(out: Path, reference) -> None:
    ref_out, ref_manifest = reference
    pd.testing.assert_frame_equal(read_suggestions(out), read_suggestions(ref_out))
    assert json.loads((out / output.MANIFEST).read_text()) == _strip(ref_manifest)
    assert sorted(p.name for p in out.glob("part-*")) == [s["file"] for s in ref_manifest["shards"]]
    assert not _temporaries(out)


def _truncate(f: Path) -> None:
    f.write_bytes(f.read_bytes()[: f.stat().st_size // 2])


def _flip_a_byte(f: Path) -> None:
    data = bytearray(f.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, same footer: only the checksum can tell
    f.write_bytes(bytes(data))


def _lose_receipt(f: Path) -> None:  # a shard that cannot be checked is not trusted
    (f.parent / output.RECEIPTS / f"{f.name}.json").unlink()


@pytest.mark.parametrize("damage", [_truncate, _flip_a_byte, _lose_receipt], ids=["truncated", "flipped", "receipt"])
def test_resume_redoes_a_damaged_shard(bundle, reference, tmp_path, damage):
    out = tmp_path / "job"
    shutil.copytree(reference[0], out)
    damage(out / output.shard_name(3))
    manifest = _run(bundle, out, resume=True)
    assert manifest["_run"]["shards_run"] == 1
    _same_as_reference(out, reference)


def _fail_writing(monkeypatch, name: str) -> list[str]:
    """Make the durable writer run out of space on the first temporary file of ``name``, after writing half of
    it (as a real full disk does); returns the names written so far."""
    written, real = [], storage.write_file

    def writer(path: Path, data: bytes) -> None:
        written.append(path.name)
        if path.name.startswith(f".{name}.tmp"):
            with open(path, "xb") as f:
                f.write(data[: len(data) // 2])
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        real(path, data)

    monkeypatch.setattr(storage, "write_file", writer)
    return written


@pytest.mark.parametrize("name, redo", [("part-00001.parquet", 7), ("part-00001.parquet.json", 7),
                                        ("manifest.json", 0)])
def test_disk_full_is_one_clear_error_and_resume_finishes(bundle, reference, tmp_path, monkeypatch, name, redo):
    out = tmp_path / "job"
    _fail_writing(monkeypatch, name)
    where = re.escape(str(out / output.RECEIPTS / name if name.endswith(".json") and name != output.MANIFEST
                          else out / name))
    with pytest.raises(JobError, match=rf"^disk full while writing {where}: free space and rerun with --resume$"):
        _run(bundle, out)
    monkeypatch.undo()
    assert not _temporaries(out)
    assert not (out / output.MANIFEST).exists()
    assert (out / output.shard_name(0)).is_file() and (out / output.shard_name(2)).exists() == (redo == 0)
    manifest = _run(bundle, out, resume=True)
    assert manifest["_run"]["shards_run"] == redo
    _same_as_reference(out, reference)


def test_files_are_flushed_before_the_rename_that_publishes_them(bundle, tmp_path, monkeypatch):
    events, real_fsync, real_replace = [], os.fsync, os.replace

    def fsync(fd):
        events.append(("fsync", os.fstat(fd).st_ino))
        return real_fsync(fd)

    def replace(src, dst):
        events.append(("replace", os.stat(src).st_ino, Path(dst)))
        return real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    users = tmp_path / "users.csv"
    users.write_text("user_id\n1\n2\n3\n")
    out = tmp_path / "job"
    _run(bundle, out, users=users)
    monkeypatch.undo()
    published = [(i, e) for i, e in enumerate(events) if e[0] == "replace"]
    assert {e[2].name for _, e in published} == {output.PLAN, "part-00000.parquet", "part-00000.parquet.json",
                                                 output.MANIFEST}
    for i, (_, inode, dst) in published:
        assert ("fsync", inode) in events[:i], f"{dst.name} renamed before its data was flushed"
        assert events[i + 1] == ("fsync", os.stat(dst.parent).st_ino), f"{dst.parent} not flushed after the rename"


def test_overwrite_replaces_a_job_and_leaves_no_old_shard(bundle, reference, tmp_path, monkeypatch):
    out = tmp_path / "job"
    shutil.copytree(reference[0], out)
    other = {"config": CandidateConfig(k=5), "shard_size": 400}  # 2 shards where the old job has 8
    with pytest.raises(JobError, match="finished job with other settings") as err:
        _run(bundle, out, **other)
    assert "--overwrite (overwrite=True)" in str(err.value) and "--resume" not in str(err.value)
    # Interrupted while replacing: the folder holds the new job's plan and shards only, never an old one.
    _fail_writing(monkeypatch, "part-00001.parquet")
    with pytest.raises(JobError, match="disk full"):
        _run(bundle, out, overwrite=True, **other)
    monkeypatch.undo()
    assert sorted(p.name for p in out.glob("part-*")) == ["part-00000.parquet"]
    assert not (out / output.MANIFEST).exists() and output.read_receipt(out, 0) is not None
    manifest = _run(bundle, out, resume=True, **other)
    assert manifest["_run"]["shards_run"] == 1 and manifest["k"] == 5
    fresh = tmp_path / "fresh"
    _run(bundle, fresh, **other)
    pd.testing.assert_frame_equal(read_suggestions(out), read_suggestions(fresh))
    assert sorted(p.name for p in out.rglob("*")) == sorted(p.name for p in fresh.rglob("*"))


def test_messages_say_resume_only_for_an_unfinished_job(bundle, reference, tmp_path):
    out = tmp_path / "job"
    shutil.copytree(reference[0], out)
    with pytest.raises(JobError, match="holds a finished job with these settings") as err:
        _run(bundle, out)
    assert "--overwrite (overwrite=True)" in str(err.value) and "--resume" not in str(err.value)
    (out / output.MANIFEST).unlink()
    with pytest.raises(JobError, match="unfinished .*job with these settings; add --resume"):
        _run(bundle, out)
    with pytest.raises(JobError, match=r"unfinished .*job with other settings \(k: 10 then, 5 now\).*--overwrite "
                                       r"\(overwrite=True\).*--resume"):
        _run(bundle, out, config=CandidateConfig(k=5))
    with pytest.raises(JobError, match="resume and overwrite cannot be combined"):
        _run(bundle, out, resume=True, overwrite=True)
    assert _run(bundle, out, resume=True)["_run"]["shards_run"] == 0
    _same_as_reference(out, reference)


def test_overwrite_only_replaces_a_job_folder(bundle, tmp_path):
    out = tmp_path / "notes"
    out.mkdir()
    (out / "manifest.json").write_text('{"format": "something-else"}')
    with pytest.raises(JobError, match="holds no suggestion job; --overwrite only replaces a job's folder"):
        _run(bundle, out, overwrite=True)
    assert [p.name for p in out.iterdir()] == ["manifest.json"]


def _edit_meta(src: Path, dst: Path, edit) -> Path:
    """A copy of the bundle ``src`` with ``meta.json`` edited and its checksum in ``manifest.json`` updated."""
    shutil.copytree(src, dst)
    meta = json.loads((dst / "meta.json").read_text())
    edit(meta)
    (dst / "meta.json").write_text(json.dumps(meta, indent=1))
    manifest = json.loads((dst / "manifest.json").read_text())
    manifest["files"]["meta.json"] = hashlib.sha256((dst / "meta.json").read_bytes()).hexdigest()
    (dst / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return dst


def test_bundle_identity_ignores_training_time_not_calibration(bundle, reference, tmp_path):
    """A retrain with the same data and seed differs from the first run in meta.json's timings only (checked by
    hand: two such bundles differ in the meta.json checksum alone); the job must see the same bundle."""
    out = tmp_path / "job"
    shutil.copytree(reference[0], out)
    slower = _edit_meta(bundle, tmp_path / "slower", lambda m: m["metrics"].update(train_seconds=1e6))
    manifest = _run(slower, out, resume=True)
    assert manifest["_run"]["shards_run"] == 0 and manifest["bundle_sha256"] == reference[1]["bundle_sha256"]
    recalibrated = _edit_meta(bundle, tmp_path / "recal", lambda m: m["metrics"]["calibration"].update(a=2.0))
    with pytest.raises(JobError, match="other settings \\(bundle_sha256"):
        _run(recalibrated, out, resume=True)
