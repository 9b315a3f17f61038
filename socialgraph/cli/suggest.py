"""``socialgraph suggest``: the offline friend-suggestion job."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from socialgraph.cli.common import fail


def suggest(
    model: Path = typer.Option(..., "--model", "-m", help="Bundle folder written by `socialgraph train`."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder: Parquet shards + manifest.json."),
    k: int = typer.Option(20, "--k", help="Suggestions per user."),
    engine: str = typer.Option("local", "--engine", help="local (this process) or ray (Ray Data actors)."),
    users: Optional[Path] = typer.Option(None, "--users", help="CSV with a user_id column: only these users."),
    blocked: Optional[Path] = typer.Option(None, "--blocked", help="CSV with src,dst: pairs never suggested."),
    resume: bool = typer.Option(False, "--resume", help="Finish an interrupted job in --out (same settings)."),
    fof: int = typer.Option(30, "--fof", help="Friends-of-friends candidates per user (best by Adamic-Adar)."),
    ann: int = typer.Option(20, "--ann", help="Nearest-neighbour candidates per user (FAISS over embeddings)."),
    seed: int = typer.Option(0, "--seed", help="Seeds the ANN index."),
    shard_size: int = typer.Option(50_000, "--shard-size", help="Users per output shard."),
    workers: int = typer.Option(2, "--workers", help="Ray actors (--engine ray)."),
    threads: int = typer.Option(1, "--threads", help="torch / FAISS threads of this process (0: leave as is)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    """Suggest friends for every user and write them as Parquet shards.

    Candidates come from friends-of-friends and nearest neighbours of the
    embeddings; the full link scorer re-ranks them; the user, friends and
    blocked pairs are filtered out. Output: part-*.parquet (user_id, rank,
    candidate_id, score, reason) plus manifest.json. After a crash, --resume
    finishes only the missing shards. --engine ray runs the same job on Ray.

    Examples:

      socialgraph suggest --model models/lastfm --k 20 --out suggestions/

      socialgraph suggest --model models/lastfm --out suggestions/ --resume

      socialgraph suggest -m models/lastfm -o sugg/ --engine ray --workers 4
    """
    from socialgraph.jobs import CandidateConfig, JobError, run_suggest_job
    from socialgraph.train.bundle import BundleError

    cfg = CandidateConfig(k=k, fof=fof, ann=ann, seed=seed)
    try:
        manifest = run_suggest_job(model, out, config=cfg, engine=engine, users=users, blocked=blocked,
                                   resume=resume, shard_size=shard_size, workers=workers, progress=not quiet,
                                   threads=threads or None)
    except (JobError, BundleError) as err:
        fail(str(err))
    typer.echo(json.dumps({"out": str(out), "users": manifest["users"], "rows": manifest["rows"],
                           "shards": len(manifest["shards"]), **manifest["_run"]}))
