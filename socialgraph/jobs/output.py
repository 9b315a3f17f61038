"""The job's output folder: a plan, shards written atomically and checksummed, and a manifest written last.

Layout::

    _plan.json            the job's settings (bundle identity, k, candidates, seed, shard size, users digest, ...)
    part-00000.parquet    user_id, rank, candidate_id, score, reason   (one file per block of users)
    ...
    _shards/part-00000.parquet.json   the shard's receipt: rows, bytes, sha256
    manifest.json         format, settings, shards with users, row counts and sha256, totals

Every file is written to a hidden temporary sibling, flushed to disk (``fsync``) and renamed into place, and the
folder is flushed after the rename, so a file that exists is complete and survives a power cut. A shard's
receipt is published just before the shard, and a shard counts as finished only when the file matches its receipt
(size and sha256): ``--resume`` checks every shard that way, redoes the ones that are missing, truncated or
corrupt (or have no receipt), and removes stray temporary files. ``manifest.json`` exists only when every shard
is finished; resuming a job that has to redo a shard removes it first. Readers take the shard list from
``manifest.json`` (:func:`read_suggestions`); the receipts' ``_shards`` folder, like every ``_`` / ``.`` name, is
one that Parquet dataset readers (pyarrow, Spark) skip.

A full disk (``ENOSPC``, ``EDQUOT``) raises one :class:`JobError` naming the file, after removing the temporary
file: what is already published is intact and ``--resume`` finishes the job once there is space.
"""
from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import shutil
from pathlib import Path
from typing import Optional

import pandas as pd

from socialgraph import storage

PLAN = "_plan.json"
MANIFEST = "manifest.json"
RECEIPTS = "_shards"
FORMAT = "socialgraph-suggestions"
FORMAT_VERSION = 2  # 2: shard receipts (sha256) and sha256 per shard in the manifest

_DISK_FULL = (errno.ENOSPC, errno.EDQUOT)


class JobError(RuntimeError):
    """A job that cannot run as asked (bad input, a folder holding another job, a full disk, ...)."""


def shard_name(i: int) -> str:
    return f"part-{i:05d}.parquet"


def receipt_path(out: Path, i: int) -> Path:
    return Path(out) / RECEIPTS / f"{shard_name(i)}.json"


# ---------------------------------------------------------------------- durable files
def publish(final: Path, data: bytes, hint: str = "free space and rerun with --resume") -> None:
    """Make ``final`` hold ``data`` atomically and durably: temporary sibling, fsync, rename, fsync of the folder.

    On any failure the temporary file is removed and ``final`` is as it was; a full disk raises
    :class:`JobError` ``disk full while writing FINAL: HINT``."""
    final = Path(final)
    tmp = final.parent / f".{final.name}.tmp-{os.getpid()}"
    try:
        tmp.unlink(missing_ok=True)  # left by a killed process that had this pid
        storage.write_file(tmp, data)
        os.replace(tmp, final)
        storage.fsync_dir(final.parent)
    except BaseException as err:
        tmp.unlink(missing_ok=True)
        if isinstance(err, OSError) and err.errno in _DISK_FULL:
            raise JobError(f"disk full while writing {final}: {hint}") from None
        raise


def _json_bytes(obj: dict) -> bytes:
    return json.dumps(obj, indent=1).encode()


# ---------------------------------------------------------------------- shards
def write_shard(out: Path, i: int, frame: pd.DataFrame) -> int:
    """Write shard ``i``'s receipt and then the shard (Parquet), each atomically; return its row count."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = Path(out)
    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), buf)
    data = buf.getvalue()
    receipt = {"file": shard_name(i), "rows": len(frame), "bytes": len(data),
               "sha256": hashlib.sha256(data).hexdigest()}
    (out / RECEIPTS).mkdir(exist_ok=True)
    # The receipt comes first, so a shard file that exists has one (a receipt without its shard, after a crash
    # in between, matches nothing and the shard is redone).
    publish(receipt_path(out, i), _json_bytes(receipt))
    publish(out / shard_name(i), data)
    return len(frame)


def read_receipt(out: Path, i: int) -> Optional[dict]:
    """Shard ``i``'s receipt when it exists and the shard file matches it (size and sha256), else ``None``."""
    f, r = Path(out) / shard_name(i), receipt_path(out, i)
    try:
        receipt = json.loads(r.read_text())
        if f.stat().st_size != receipt["bytes"] or storage.sha256(f) != receipt["sha256"]:
            return None
        return receipt
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _clean_temporaries(out: Path) -> None:
    for folder in (out, out / RECEIPTS):
        for stray in folder.glob(".*.tmp-*"):
            stray.unlink(missing_ok=True)


def _unfinished_shards(out: Path, num_shards: int) -> list[int]:
    """Shards to (re)do: missing, without a receipt, or not matching it."""
    return [i for i in range(num_shards) if read_receipt(out, i) is None]


# ---------------------------------------------------------------------- the folder
def prepare(out: Path, plan: dict, resume: bool, overwrite: bool = False) -> list[int]:
    """Create or check the output folder for the job ``plan``; return the shards still to run.

    Without ``resume`` the folder must be missing or empty, or hold a job and ``overwrite`` be set: that job's
    files are then removed first (see :func:`_clear`). With ``resume`` it must hold a job with the same plan: its
    unfinished shards are returned (see the module docstring).
    """
    out = Path(out)
    if resume and overwrite:
        raise JobError("resume and overwrite cannot be combined: --resume finishes the job in --out, --overwrite "
                       "replaces it")
    if out.exists() and not out.is_dir():
        raise JobError(f"{out} is a file; --out must be a folder")
    if resume:
        return _resume(out, plan)
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            raise JobError(_occupied(out, plan))
        if not (out / PLAN).exists() and not _finished(out):
            raise JobError(f"{out} is not empty and holds no suggestion job; --overwrite only replaces a job's "
                           f"folder: choose another --out")
        _clear(out)
    out.mkdir(parents=True, exist_ok=True)
    publish(out / PLAN, _json_bytes(plan), hint="free space and run the job again")
    return list(range(plan["num_shards"]))


def _old_plan(out: Path) -> Optional[dict]:
    try:
        return json.loads((out / PLAN).read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as err:
        raise JobError(f"{out / PLAN}: unreadable ({err}); pass --overwrite (overwrite=True) to replace the job in "
                       f"{out}, or choose another --out") from None


def _finished(out: Path) -> bool:
    """Whether ``out`` holds this library's manifest of a finished job (not, say, a bundle's manifest.json)."""
    try:
        return json.loads((out / MANIFEST).read_text()).get("format") == FORMAT
    except (OSError, ValueError, AttributeError):
        return False


def _differences(old: dict, plan: dict) -> str:
    return ", ".join(f"{k}: {old.get(k)!r} then, {v!r} now" for k, v in plan.items() if old.get(k) != v)


def _occupied(out: Path, plan: dict) -> str:
    """Why a fresh job cannot start in the non-empty folder ``out``, and what to do."""
    old = _old_plan(out)
    if old is None:
        hint = "; pass --overwrite (overwrite=True) to replace the job in it" if _finished(out) else ""
        return f"{out} exists and is not empty{hint}; choose another --out"
    finished = _finished(out)
    state = "a finished job" if finished else "an unfinished (interrupted) job"
    diff = _differences(old, plan)
    if not diff:
        todo = "pass --overwrite (overwrite=True) to run it again" if finished else \
            "add --resume to finish it, or pass --overwrite (overwrite=True) to start it over"
        return f"{out} holds {state} with these settings; {todo}, or choose another --out"
    resume = "" if finished else ", --resume with that job's settings to finish it"
    return f"{out} holds {state} with other settings ({diff}); pass --overwrite (overwrite=True) to replace it" \
           f"{resume}, or choose another --out"


def _resume(out: Path, plan: dict) -> list[int]:
    old = _old_plan(out)
    if old is None:
        raise JobError(f"{out}: nothing to resume (no {PLAN}); run without --resume")
    diff = _differences(old, plan)
    if diff:
        if _finished(out):
            raise JobError(f"{out} holds a finished job with other settings ({diff}); there is nothing to resume: "
                           f"pass --overwrite (overwrite=True) to replace it, or write to a new --out")
        raise JobError(f"{out} holds an unfinished job with other settings ({diff}); resume with the same bundle "
                       f"and options, pass --overwrite (overwrite=True) to replace it, or write to a new --out")
    _clean_temporaries(out)
    todo = _unfinished_shards(out, plan["num_shards"])
    if todo:
        # Unfinished from here on: the manifest goes before any shard is redone.
        (out / MANIFEST).unlink(missing_ok=True)
        for i in todo:
            receipt_path(out, i).unlink(missing_ok=True)
            (out / shard_name(i)).unlink(missing_ok=True)
        storage.fsync_dir(out)
    return todo


def _clear(out: Path) -> None:
    """Remove the job in ``out`` (files of other programs stay). The manifest goes first and the plan last, so
    that at every step the folder holds the old job, finished or resumable, and never reads as finished with a
    mix of old and new shards."""
    if _finished(out):
        (out / MANIFEST).unlink()
        storage.fsync_dir(out)
    _clean_temporaries(out)
    shutil.rmtree(out / RECEIPTS, ignore_errors=True)
    for f in out.glob("part-*.parquet"):
        f.unlink()
    (out / PLAN).unlink(missing_ok=True)
    storage.fsync_dir(out)


def finish(out: Path, plan: dict, users_per_shard: list[int], extra: Optional[dict] = None) -> dict:
    """Write ``manifest.json`` (atomically) once every shard is finished; return it."""
    out = Path(out)
    shards = []
    for i, users in enumerate(users_per_shard):
        f = out / shard_name(i)
        try:
            receipt = json.loads(receipt_path(out, i).read_text())
            complete = f.stat().st_size == receipt["bytes"]
        except (OSError, ValueError, KeyError, TypeError):
            complete = False
        if not complete:
            raise JobError(f"{f} is missing or incomplete; run again with --resume")
        shards.append({"file": f.name, "users": users, "rows": receipt["rows"], "sha256": receipt["sha256"]})
    manifest = {"format": FORMAT, "format_version": FORMAT_VERSION, **plan, **(extra or {}),
                "rows": sum(s["rows"] for s in shards), "shards": shards}
    publish(out / MANIFEST, _json_bytes(manifest))
    return manifest


def read_suggestions(out: Path) -> pd.DataFrame:
    """All shards of a finished job as one table, in shard order."""
    out = Path(out)
    if not _finished(out):
        raise JobError(f"{out}: no {MANIFEST} of a finished job; run the job again with --resume")
    manifest = json.loads((out / MANIFEST).read_text())
    return pd.concat([pd.read_parquet(out / s["file"]) for s in manifest["shards"]], ignore_index=True)
