"""The offline friend-suggestion job: every user (or a given list) -> top-k suggestions in Parquet shards.

The job is :meth:`Predictor.suggest <socialgraph.predictor.Predictor.suggest>` for every user, run in blocks: load
the bundle through :class:`~socialgraph.predictor.Predictor`, take its suggestion pipeline
(:meth:`~socialgraph.predictor.Predictor.suggestion_pipeline`: user states computed and the ANN index built once),
then for each block of users (a shard) run :meth:`~socialgraph.predictor.suggestions.SuggestionPipeline.run` and
write the shard atomically. The job uses nothing but the predictor's public API, so a user's rows here are the
suggestions ``Predictor.suggest`` gives that user. ``engine="local"`` runs the shards in this process;
``engine="ray"`` runs them on Ray Data (``map_batches`` over shard numbers with actors that hold the pipeline,
shipped once through the object store). A shard's content depends only on its users, so both engines, and an
interrupted run finished with ``resume=True``, write identical shards.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterable, Optional, Union

import numpy as np
import pandas as pd

from socialgraph.jobs.output import FORMAT_VERSION, JobError, finish, prepare, write_shard
from socialgraph.predictor import CandidateConfig, Predictor, SuggestionPipeline

ENGINES = ("local", "ray")


def _digest(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a, dtype=np.int64).tobytes()).hexdigest()[:16]


def _bundle_identity(bundle: Path) -> str:
    """sha256 of what makes a (verified) bundle behave as it does, the job's identity of it.

    That is the checksums its ``manifest.json`` records for every file but ``meta.json`` and ``metrics.jsonl``
    (the training history), and ``meta.json`` without its training measurements: of its ``metrics`` only the
    ``calibration`` (which turns logits into the job's scores) counts. A retrain with the same data and seed then
    reads as the same bundle, though its ``train_seconds`` differ."""
    manifest = json.loads((bundle / "manifest.json").read_text())
    meta = json.loads((bundle / "meta.json").read_text())
    files = {f: d for f, d in manifest.get("files", {}).items() if f not in ("meta.json", "metrics.jsonl")}
    behaviour = {k: v for k, v in meta.items() if k != "metrics"}
    behaviour["calibration"] = (meta.get("metrics") or {}).get("calibration")
    key = {"format": manifest.get("format"), "format_version": manifest.get("format_version"), "files": files,
           "meta": behaviour}
    return hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()


def read_id_file(path: Union[str, os.PathLike], columns: tuple[str, ...]) -> pd.DataFrame:
    """A CSV of ids with the given header columns; :class:`JobError` naming the file otherwise."""
    from socialgraph.data.errors import DataError
    from socialgraph.data.folder import read_csv_table

    path = Path(path)
    try:
        frame = read_csv_table(path, id_columns=columns)
    except DataError as err:
        raise JobError(str(err)) from None
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise JobError(f"{path}: missing column(s) {missing}; expected a header line with {','.join(columns)} "
                       f"(got {list(frame.columns)})")
    for c in columns:
        empty = np.flatnonzero(frame[c].isna().to_numpy() | (frame[c].astype(str).str.strip() == "").to_numpy())
        if len(empty):
            raise JobError(f"{path}: line {frame.index[empty[0]]}: empty {c}")  # the index holds the lines
    return frame


@dataclass(frozen=True)
class _Ids:
    """A list of external ids and where it came from (a CSV column and each id's line, or a Python argument)."""

    values: list
    source: str
    column: Optional[str] = None
    lines: Optional[list] = None

    @classmethod
    def read(cls, given, columns: tuple[str, ...], name: str) -> list["_Ids"]:
        """``given`` (a CSV path, or for ``hidden`` an iterable of ids) as one :class:`_Ids` per column."""
        if isinstance(given, (str, os.PathLike)):
            frame = read_id_file(given, columns)
            return [cls(frame[c].tolist(), str(Path(given)), c, frame.index.tolist()) for c in columns]
        values = list(given)
        bad = [i for i, x in enumerate(values) if x is None or (isinstance(x, str) and not x.strip())]
        if bad:
            raise JobError(f"{name}: item {bad[0]} is empty; pass external user ids or a CSV file path")
        return [cls(values, name)]

    def rows(self, predictor) -> np.ndarray:
        """Rows of the ids; :class:`JobError` naming the first unknown one (its file line, or its position)."""
        try:
            return predictor.graph.user_index(self.values)
        except KeyError:
            pass
        for i, value in enumerate(self.values):
            try:
                predictor.graph.user_index([value])
            except KeyError:
                where = f"{self.source}: line {self.lines[i]}" if self.lines else f"{self.source}: item {i}"
                col = f" in column {self.column}" if self.column else ""
                raise JobError(f"{where}: unknown user id {value!r}{col}; the model knows the "
                               f"{predictor.num_users} users it was trained with") from None
        raise AssertionError("unreachable")


IdsLike = Union[str, os.PathLike, Iterable]


def run_suggest_job(bundle: Union[str, os.PathLike], out: Union[str, os.PathLike], *,
                    config: Optional[CandidateConfig] = None, engine: str = "local",
                    users: Optional[Union[str, os.PathLike]] = None,
                    blocked: Optional[Union[str, os.PathLike]] = None, hidden: Optional[IdsLike] = None,
                    resume: bool = False, overwrite: bool = False, shard_size: int = 50_000, workers: int = 2,
                    progress: bool = True, threads: Optional[int] = 1, device: Optional[str] = None) -> dict:
    """Run the job and return its manifest.

    Args:
        bundle: a trained bundle folder.
        out: output folder (new or empty; the same folder with ``resume=True`` after an interruption, or
            ``overwrite=True`` to replace the job it holds).
        config: candidate settings (``k``, caps, seed).
        engine: ``local`` or ``ray``.
        users: CSV with a ``user_id`` column: only these users (default: every user).
        blocked: CSV with ``src,dst`` columns: extra pairs never suggested to each other.
        hidden: CSV with a ``user_id`` column, or an iterable of external ids: users hidden from everyone else.
            They are never suggested to anyone, never counted as mutual friends in a reason, and no
            friend-of-friend is proposed through them. Hiding is one-way: a hidden user still gets suggestions
            (pass ``users`` to leave someone out), as :meth:`Predictor.suggest` gives them.
        resume: finish an interrupted job in ``out`` (same settings): shards that are missing, truncated or
            corrupt (checked against their sha256) are redone, finished ones kept.
        overwrite: replace the job ``out`` holds (any settings, finished or not). Its files are removed first,
            manifest first, so the folder never holds a mix of old and new shards. Only a job's folder is
            replaced; other files in it stay.
        shard_size: users per shard.
        workers: Ray actors (``ray`` engine; a local Ray is started with this many CPUs if none is running).
        progress: show progress bars.
        threads: torch and FAISS threads of this process while the job runs (embedding, index, local shards);
            ``None`` leaves them as they are. One is the default: the scorer's matrix products are small, and on
            a machine whose cores are shared a second thread mostly waits for the first (measured 2-3x slower
            here); use ``engine="ray"`` with more ``workers`` to use more cores.
        device: where the local engine computes user states and scores (``Predictor.load(..., device=)``:
            ``None``/``auto``, ``cpu``, ``cuda``, ``cuda:N``). The ``ray`` engine always runs on the CPU (its actors
            get a pickled pipeline, built on the CPU), whatever this says.

    The plan (``_plan.json``) records the settings: the bundle's identity (see :func:`_bundle_identity`), ``k``,
    candidates, seed, shard size and digests of the users, blocked pairs and hidden users. A resume with any of
    them changed is refused.

    Raises:
        JobError / BundleError: bad input, before anything is written; ``JobError`` too for a folder holding
        another job, and for a full disk (``disk full while writing FILE``: free space and rerun with
        ``resume=True``; what was written stays intact).
    """
    cfg = config or CandidateConfig()  # its k and caps are checked when it is made
    _check_settings(engine, shard_size, resume, overwrite)
    # Read and check every input before touching --out, so bad input leaves nothing behind.
    ids = _Inputs(_Ids.read(users, ("user_id",), "users")[0] if users is not None else None,
                  _Ids.read(blocked, ("src", "dst"), "blocked") if blocked is not None else None,
                  _Ids.read(hidden, ("user_id",), "hidden")[0] if hidden is not None else None)
    job = _Job(Path(bundle), Path(out), cfg, engine, ids, resume, overwrite, shard_size, workers, progress,
               "cpu" if engine == "ray" else device)
    start = time.time()
    with _threads(threads):
        return _run(job, start)


def _check_settings(engine: str, shard_size: int, resume: bool, overwrite: bool) -> None:
    if engine not in ENGINES:
        raise JobError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    if shard_size <= 0:
        raise JobError("shard size must be positive")
    if resume and overwrite:
        raise JobError("resume and overwrite cannot be combined: --resume finishes the job in --out, --overwrite "
                       "replaces it")


@dataclass(frozen=True)
class _Inputs:
    users: Optional[_Ids]
    blocked: Optional[list[_Ids]]
    hidden: Optional[_Ids]


@dataclass(frozen=True)
class _Job:
    bundle: Path
    out: Path
    cfg: CandidateConfig
    engine: str
    ids: _Inputs
    resume: bool
    overwrite: bool
    shard_size: int
    workers: int
    progress: bool
    device: Optional[str] = None


def _plan(job: _Job, predictor) -> tuple[dict, np.ndarray]:
    """The job's settings (what a resume must match) and the user rows to run; applies blocked / hidden ids to
    ``predictor``."""
    ids, cfg = job.ids, job.cfg
    rows = np.arange(predictor.num_users, dtype=np.int64) if ids.users is None else np.unique(ids.users.rows(predictor))
    extra_blocked = np.zeros((0, 2), np.int64)
    if ids.blocked is not None:
        extra_blocked = np.stack([c.rows(predictor) for c in ids.blocked], 1)
        predictor.block_rows(extra_blocked)
    hidden = np.zeros(0, np.int64)
    if ids.hidden is not None:
        hidden = np.unique(ids.hidden.rows(predictor))
        predictor.hide(ids.hidden.values)
    num_shards = max(1, -(-len(rows) // job.shard_size))
    plan = {"format_version": FORMAT_VERSION, "bundle_sha256": _bundle_identity(job.bundle), "k": cfg.k,
            "seed": cfg.seed,
            "candidates": {"fof": cfg.fof, "fof_method": cfg.fof_method, "ann": cfg.ann, "nprobe": cfg.nprobe},
            "users": int(len(rows)), "users_digest": _digest(rows), "blocked_digest": _digest(extra_blocked),
            "hidden": int(len(hidden)), "hidden_digest": _digest(hidden),
            "shard_size": job.shard_size, "num_shards": num_shards}
    return plan, rows


def _run(job: _Job, start: float) -> dict:
    predictor = Predictor.load(job.bundle, device=job.device)
    plan, rows = _plan(job, predictor)
    todo = prepare(job.out, plan, job.resume, job.overwrite)
    bounds = [(i * job.shard_size, min((i + 1) * job.shard_size, len(rows))) for i in range(plan["num_shards"])]
    embed_seconds = 0.0
    if todo:
        t = time.time()
        pipeline = _lean(predictor.suggestion_pipeline(job.cfg))
        embed_seconds = time.time() - t
        del predictor  # the pipeline holds what the shards need; free the encoded inputs and attributes
        if job.engine == "local":
            _run_local(pipeline, rows, bounds, todo, job.out, job.progress)
        else:
            _run_ray(pipeline, rows, bounds, todo, job.out, job.workers)
    manifest = finish(job.out, plan, [b - a for a, b in bounds])
    manifest["_run"] = {"engine": job.engine, "seconds": round(time.time() - start, 2),
                        "embed_and_index_seconds": round(embed_seconds, 2), "shards_run": len(todo)}
    return manifest


def _lean(pipeline: SuggestionPipeline) -> SuggestionPipeline:
    """The pipeline with its index built and its scorer holding only the inputs it reads (what Ray ships)."""
    pipeline.serialised_index()
    return replace(pipeline, scorer=pipeline.scorer.lean())


def _shard(pipeline: SuggestionPipeline, rows: np.ndarray) -> pd.DataFrame:
    return pipeline.run(rows).frame(pipeline.user_ids)


@contextlib.contextmanager
def _threads(n: Optional[int]):
    """torch and FAISS (OpenMP) threads set to ``n`` for the block, restored after."""
    if n is None:
        yield
        return
    import faiss
    import torch

    before_torch, before_faiss = torch.get_num_threads(), faiss.omp_get_max_threads()
    torch.set_num_threads(n)
    faiss.omp_set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before_torch)
        faiss.omp_set_num_threads(before_faiss)


def _run_local(pipeline: SuggestionPipeline, rows: np.ndarray, bounds: list, todo: list[int], out: Path,
               progress: bool) -> None:
    from tqdm.auto import tqdm

    for i in tqdm(todo, desc="suggest (local)", unit="shard", disable=not progress):
        a, b = bounds[i]
        write_shard(out, i, _shard(pipeline, rows[a:b]))


class _ShardWorker:
    """A Ray Data actor: holds the pipeline (fetched once from the object store) and writes the shards it gets."""

    def __init__(self, holder: list, rows_holder: list, bounds: list, out: str) -> None:
        import ray
        import torch

        torch.set_num_threads(1)  # one CPU per actor: threads would only fight over it
        self.pipeline = ray.get(holder[0])
        self.rows = ray.get(rows_holder[0])
        self.bounds, self.out = bounds, Path(out)

    def __call__(self, batch: dict) -> dict:
        written = []
        for i in batch["shard"].tolist():
            a, b = self.bounds[i]
            written.append(write_shard(self.out, i, _shard(self.pipeline, self.rows[a:b])))
        return {"shard": batch["shard"], "rows": np.asarray(written, dtype=np.int64)}


def _run_ray(pipeline: SuggestionPipeline, rows: np.ndarray, bounds: list, todo: list[int], out: Path,
             workers: int) -> None:
    import ray

    started = False
    if not ray.is_initialized():
        if os.environ.get("RAY_ADDRESS"):
            # A cluster to join (RAY_ADDRESS=auto or ray://...): its own resources decide, not --workers.
            ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False)
        else:
            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False, configure_logging=False)
        started = True
    try:
        holder, rows_holder = [ray.put(pipeline)], [ray.put(rows)]
        ds = ray.data.from_items([{"shard": i} for i in todo], override_num_blocks=len(todo))
        ds = ds.map_batches(_ShardWorker, batch_size=1, compute=ray.data.ActorPoolStrategy(size=workers), num_cpus=1,
                            fn_constructor_args=(holder, rows_holder, bounds, str(out.resolve())))
        try:
            done = ds.take_all()
        except Exception as err:
            cause = _job_error(err)
            if cause is None:
                raise
            raise JobError(str(cause)) from None  # the actor's own message, not Ray's traceback around it
        missing = set(todo) - {int(r["shard"]) for r in done}
        if missing:
            raise JobError(f"ray engine: shards {sorted(missing)} were not written; run again with --resume")
    finally:
        if started:
            ray.shutdown()


def _job_error(err: BaseException) -> Optional[JobError]:
    """The :class:`JobError` an actor raised, found inside the exception Ray wraps it in (``None`` if none)."""
    seen = set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        if type(err) is JobError:
            return err
        err = getattr(err, "cause", None) or err.__cause__ or err.__context__
    return None
