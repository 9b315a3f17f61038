"""``socialgraph suggest``: the offline friend-suggestion job."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from socialgraph.cli.common import check_output, fail, holds_suggestions, progress_bars


def suggest(
    model: Path = typer.Option(..., "--model", "-m", help="Bundle folder written by `socialgraph train`."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder: Parquet shards + manifest.json."),
    k: int = typer.Option(20, "--k", min=1, help="Suggestions per user."),
    # An unknown engine is refused by the job itself, first thing, before it reads or writes anything.
    engine: str = typer.Option("local", "--engine", help="local (this process) or ray (Ray Data actors)."),
    users: Optional[Path] = typer.Option(None, "--users", help="CSV with a user_id column: only these users."),
    blocked: Optional[Path] = typer.Option(None, "--blocked", help="CSV with src,dst: pairs never suggested."),
    hidden: Optional[Path] = typer.Option(None, "--hidden", help="CSV with a user_id column: users never "
                                          "suggested to anyone and never counted in reasons."),
    resume: bool = typer.Option(False, "--resume", help="Finish an interrupted job in --out (same settings)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace the suggestion job's output at --out."),
    fof: int = typer.Option(30, "--fof", min=0, help="Friends-of-friends candidates per user (best by "
                            "Adamic-Adar)."),
    ann: int = typer.Option(20, "--ann", min=0, help="Nearest-neighbour candidates per user (FAISS over "
                            "embeddings)."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seeds the ANN index."),
    shard_size: int = typer.Option(50_000, "--shard-size", min=1, help="Users per output shard."),
    workers: int = typer.Option(2, "--workers", min=1, help="Ray actors (--engine ray)."),
    threads: int = typer.Option(1, "--threads", min=0, help="torch / FAISS threads of this process (0: leave as "
                                "is)."),
    device: str = typer.Option("auto", "--device", help="Where user states and scores are computed: auto (cuda "
                               "when available), cpu, cuda or cuda:N. --engine ray always runs on cpu."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    """Suggest friends for every user and write them as Parquet shards.

    Candidates come from friends-of-friends and nearest neighbours of the
    embeddings; the full link scorer re-ranks them; the user, friends,
    blocked pairs and hidden users are filtered out. Output: part-*.parquet
    (user_id, rank, candidate_id, score, reason) plus manifest.json. After a
    crash, --resume finishes only the missing shards; --overwrite replaces
    a finished job. --engine ray runs the same job on Ray.

    Examples:

      socialgraph suggest --model models/lastfm --k 20 --out suggestions/

      socialgraph suggest --model models/lastfm --out suggestions/ --resume

      socialgraph suggest -m models/lastfm -o sugg/ --hidden private.csv --overwrite

      socialgraph suggest -m models/lastfm -o sugg/ --engine ray --workers 4
    """
    from socialgraph.jobs import run_suggest_job
    from socialgraph.predictor import CandidateConfig

    if fof == 0 and ann == 0:
        fail("--fof 0 and --ann 0 leave no candidates to suggest; give at least one of them a positive count")
    check_output(out, "folder", overwrite=overwrite, resume=resume, noun="a suggestion job's output",
                 is_ours=holds_suggestions)
    with progress_bars(not quiet):
        manifest = run_suggest_job(model, out, config=CandidateConfig(k=k, fof=fof, ann=ann, seed=seed),
                                   engine=engine, users=users, blocked=blocked, hidden=hidden, resume=resume,
                                   overwrite=overwrite, shard_size=shard_size, workers=workers,
                                   progress=not quiet, threads=threads or None, device=device)
    typer.echo(json.dumps({"out": str(out), "users": manifest["users"], "rows": manifest["rows"],
                           "shards": len(manifest["shards"]), **manifest["_run"]}))
