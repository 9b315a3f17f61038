"""The job's output folder: a plan, shards written atomically, and a manifest written last.

Layout::

    _plan.json            the job's settings (bundle checksum, k, candidates, seed, shard size, users digest)
    part-00000.parquet    user_id, rank, candidate_id, score, reason   (one file per block of users)
    ...
    manifest.json         format, bundle checksum, k, seed, candidate settings, shards with row counts, totals

A shard is written to a hidden temporary file and renamed into place, so a shard file that exists is complete;
``manifest.json`` exists only when every shard does. ``--resume`` checks that the plan matches, removes stray
temporary files and runs only the missing shards.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Optional

import pandas as pd

PLAN = "_plan.json"
MANIFEST = "manifest.json"
FORMAT = "socialgraph-suggestions"
FORMAT_VERSION = 1


class JobError(RuntimeError):
    """A job that cannot run as asked (bad input, a folder holding another job, ...)."""


def shard_name(i: int) -> str:
    return f"part-{i:05d}.parquet"


def write_shard(out: Path, i: int, frame: pd.DataFrame) -> int:
    """Write shard ``i`` atomically (temporary file + rename); return its row count."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    final = out / shard_name(i)
    tmp = out / f".{final.name}.tmp-{os.getpid()}"
    try:
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp)
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return len(frame)


def shard_rows(path: Path) -> int:
    import pyarrow.parquet as pq

    return pq.ParquetFile(path).metadata.num_rows


def prepare(out: Path, plan: dict, resume: bool) -> list[int]:
    """Create or check the output folder; return the shards still to run."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise JobError(f"{out} is a file; --out must be a folder")
    existing = out / PLAN
    if resume:
        if not existing.is_file():
            raise JobError(f"{out}: nothing to resume (no {PLAN}); run without --resume")
        old = json.loads(existing.read_text())
        diff = {k: (old.get(k), v) for k, v in plan.items() if old.get(k) != v}
        if diff:
            detail = ", ".join(f"{k}: {a!r} then, {b!r} now" for k, (a, b) in diff.items())
            raise JobError(f"{out} holds a job with other settings ({detail}); resume with the same bundle and "
                           f"options, or write to a new --out")
        for stray in out.glob(".part-*.tmp-*"):
            stray.unlink(missing_ok=True)
        return [i for i in range(plan["num_shards"]) if not (out / shard_name(i)).is_file()]
    if out.exists() and any(out.iterdir()):
        hint = " (an interrupted job: add --resume)" if existing.is_file() else ""
        raise JobError(f"{out} exists and is not empty{hint}; choose another --out")
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / f".{PLAN}.tmp"
    tmp.write_text(json.dumps(plan, indent=1))
    os.replace(tmp, existing)
    return list(range(plan["num_shards"]))


def finish(out: Path, plan: dict, users_per_shard: list[int], extra: Optional[dict] = None) -> dict:
    """Write ``manifest.json`` (atomically) once every shard exists; return it."""
    shards = []
    for i, users in enumerate(users_per_shard):
        f = out / shard_name(i)
        if not f.is_file():
            raise JobError(f"{f} is missing; run again with --resume")
        shards.append({"file": f.name, "users": users, "rows": shard_rows(f)})
    manifest = {"format": FORMAT, "format_version": FORMAT_VERSION, **plan, **(extra or {}),
                "rows": sum(s["rows"] for s in shards), "shards": shards}
    tmp = out / f".{MANIFEST}.tmp"
    tmp.write_text(json.dumps(manifest, indent=1))
    os.replace(tmp, out / MANIFEST)
    return manifest


def read_suggestions(out: Path) -> pd.DataFrame:
    """All shards of a finished job as one table, in shard order."""
    out = Path(out)
    if not (out / MANIFEST).is_file():
        raise JobError(f"{out}: no {MANIFEST}; the job has not finished (run it again with --resume)")
    manifest = json.loads((out / MANIFEST).read_text())
    return pd.concat([pd.read_parquet(out / s["file"]) for s in manifest["shards"]], ignore_index=True)
