"""The offline friend-suggestion job: every user (or a given list) -> top-k suggestions in Parquet shards.

Pipeline (the same for both engines): load the bundle through :class:`~socialgraph.predictor.Predictor`, embed
every user once, build the ANN index once, then for each block of users (a shard) run
:meth:`~socialgraph.jobs.scorer.ShardScorer.run` and write the shard atomically. ``engine="local"`` runs the shards
in this process; ``engine="ray"`` runs them on Ray Data (``map_batches`` over shard numbers with actors that hold
the scorer, shipped once through the object store). A shard's content depends only on its users, so both engines,
and an interrupted run finished with ``resume=True``, write identical shards.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from pathlib import Path
from typing import Optional, Union

import numpy as np
import pandas as pd

from socialgraph.jobs.output import JobError, finish, prepare, write_shard
from socialgraph.jobs.scorer import CandidateConfig, ShardScorer

ENGINES = ("local", "ray")


def _digest(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a, dtype=np.int64).tobytes()).hexdigest()[:16]


def _bundle_sha(bundle: Path) -> str:
    return hashlib.sha256((Path(bundle) / "manifest.json").read_bytes()).hexdigest()


def read_id_file(path: Union[str, os.PathLike], columns: tuple[str, ...]) -> pd.DataFrame:
    """A CSV of ids with the given header columns; :class:`JobError` naming the file otherwise."""
    path = Path(path)
    try:
        frame = pd.read_csv(path, dtype=object, keep_default_na=False)
    except FileNotFoundError:
        raise JobError(f"{path}: no such file") from None
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise JobError(f"{path}: cannot read it as CSV ({str(err).strip()})") from None
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise JobError(f"{path}: missing column(s) {missing}; expected a header line with {','.join(columns)} "
                       f"(got {list(frame.columns)})")
    for c in columns:
        empty = np.flatnonzero(frame[c].astype(str).str.strip() == "")
        if len(empty):
            raise JobError(f"{path}: line {empty[0] + 2}: empty {c}")
    return frame


def _rows_of(predictor, values: list, path: Path, column: str) -> np.ndarray:
    try:
        return predictor.graph.user_index(values)
    except KeyError:
        for line, value in enumerate(values, start=2):
            try:
                predictor.graph.user_index([value])
            except KeyError:
                raise JobError(f"{path}: line {line}: unknown user id {value!r} in column {column}; the model "
                               f"knows the {predictor.num_users} users it was trained with") from None
    raise AssertionError("unreachable")


def run_suggest_job(bundle: Union[str, os.PathLike], out: Union[str, os.PathLike], *,
                    config: Optional[CandidateConfig] = None, engine: str = "local",
                    users: Optional[Union[str, os.PathLike]] = None,
                    blocked: Optional[Union[str, os.PathLike]] = None, resume: bool = False,
                    shard_size: int = 50_000, workers: int = 2, progress: bool = True,
                    threads: Optional[int] = 1) -> dict:
    """Run the job and return its manifest.

    Args:
        bundle: a trained bundle folder.
        out: output folder (new or empty; the same folder with ``resume=True`` after an interruption).
        config: candidate settings (``k``, caps, seed).
        engine: ``local`` or ``ray``.
        users: CSV with a ``user_id`` column: only these users (default: every user).
        blocked: CSV with ``src,dst`` columns: extra pairs never suggested to each other.
        resume: finish an interrupted job in ``out`` (same settings), running only missing shards.
        shard_size: users per shard.
        workers: Ray actors (``ray`` engine; a local Ray is started with this many CPUs if none is running).
        progress: show progress bars.
        threads: torch and FAISS threads of this process while the job runs (embedding, index, local shards);
            ``None`` leaves them as they are. One is the default: the scorer's matrix products are small, and on
            a machine whose cores are shared a second thread mostly waits for the first (measured 2-3x slower
            here); use ``engine="ray"`` with more ``workers`` to use more cores.

    Raises:
        JobError / BundleError: bad input, before anything is written.
    """
    cfg = config or CandidateConfig()
    if engine not in ENGINES:
        raise JobError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    if cfg.k <= 0 or shard_size <= 0:
        raise JobError("k and shard size must be positive")
    bundle, out = Path(bundle), Path(out)
    # Read and check every input before touching --out, so bad input leaves nothing behind.
    user_frame = read_id_file(users, ("user_id",)) if users is not None else None
    blocked_frame = read_id_file(blocked, ("src", "dst")) if blocked is not None else None
    start = time.time()
    with _threads(threads):
        return _run(bundle, out, cfg, engine, user_frame, users, blocked_frame, blocked, resume, shard_size,
                    workers, progress, start)


def _run(bundle, out, cfg, engine, user_frame, users, blocked_frame, blocked, resume, shard_size, workers,
         progress, start) -> dict:
    from socialgraph.predictor import Predictor

    predictor = Predictor.load(bundle)
    rows = np.arange(predictor.num_users, dtype=np.int64) if user_frame is None else \
        np.unique(_rows_of(predictor, user_frame["user_id"].tolist(), Path(users), "user_id"))
    extra_blocked = np.zeros((0, 2), np.int64)
    if blocked_frame is not None:
        extra_blocked = np.stack([_rows_of(predictor, blocked_frame[c].tolist(), Path(blocked), c)
                                  for c in ("src", "dst")], 1)
        predictor.block_rows(extra_blocked)
    num_shards = max(1, -(-len(rows) // shard_size))
    plan = {"bundle_sha256": _bundle_sha(bundle), "k": cfg.k, "seed": cfg.seed,
            "candidates": {"fof": cfg.fof, "fof_method": cfg.fof_method, "ann": cfg.ann, "nprobe": cfg.nprobe},
            "users": int(len(rows)), "users_digest": _digest(rows), "blocked_digest": _digest(extra_blocked),
            "shard_size": shard_size, "num_shards": num_shards}
    todo = prepare(out, plan, resume)
    bounds = [(i * shard_size, min((i + 1) * shard_size, len(rows))) for i in range(num_shards)]
    if todo:
        t = time.time()
        scorer = ShardScorer.from_predictor(predictor, cfg)
        embed_seconds = time.time() - t
        del predictor  # the scorer holds what the shards need; free the encoded inputs and attributes
        if engine == "local":
            _run_local(scorer, rows, bounds, todo, out, progress)
        else:
            _run_ray(scorer, rows, bounds, todo, out, workers)
    else:
        embed_seconds = 0.0
    manifest = finish(out, plan, [b - a for a, b in bounds])
    manifest["_run"] = {"engine": engine, "seconds": round(time.time() - start, 2),
                        "embed_and_index_seconds": round(embed_seconds, 2), "shards_run": len(todo)}
    return manifest


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


def _run_local(scorer: ShardScorer, rows: np.ndarray, bounds: list, todo: list[int], out: Path,
               progress: bool) -> None:
    from tqdm.auto import tqdm

    for i in tqdm(todo, desc="suggest (local)", unit="shard", disable=not progress):
        a, b = bounds[i]
        write_shard(out, i, scorer.run(rows[a:b]))


class _ShardWorker:
    """A Ray Data actor: holds the scorer (fetched once from the object store) and writes the shards it gets."""

    def __init__(self, holder: list, rows_holder: list, bounds: list, out: str) -> None:
        import ray
        import torch

        torch.set_num_threads(1)  # one CPU per actor: threads would only fight over it
        self.scorer = ray.get(holder[0])
        self.rows = ray.get(rows_holder[0])
        self.bounds, self.out = bounds, Path(out)

    def __call__(self, batch: dict) -> dict:
        written = []
        for i in batch["shard"].tolist():
            a, b = self.bounds[i]
            written.append(write_shard(self.out, i, self.scorer.run(self.rows[a:b])))
        return {"shard": batch["shard"], "rows": np.asarray(written, dtype=np.int64)}


def _run_ray(scorer: ShardScorer, rows: np.ndarray, bounds: list, todo: list[int], out: Path,
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
        holder, rows_holder = [ray.put(scorer)], [ray.put(rows)]
        ds = ray.data.from_items([{"shard": i} for i in todo], override_num_blocks=len(todo))
        ds = ds.map_batches(_ShardWorker, batch_size=1, compute=ray.data.ActorPoolStrategy(size=workers), num_cpus=1,
                            fn_constructor_args=(holder, rows_holder, bounds, str(out.resolve())))
        done = ds.take_all()
        missing = set(todo) - {int(r["shard"]) for r in done}
        if missing:
            raise JobError(f"ray engine: shards {sorted(missing)} were not written; run again with --resume")
    finally:
        if started:
            ray.shutdown()
