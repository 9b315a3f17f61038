"""``socialgraph synth``: write a synthetic social graph in the folder format."""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Optional

import typer

from socialgraph.cli.common import fail


def synth(
    users: int = typer.Option(..., "--users", "-n", help="Number of users."),
    mean_degree: float = typer.Option(20.0, "--mean-degree", "-d", help="Target mean number of friends."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder to write (must not exist or be empty)."),
    seed: int = typer.Option(0, "--seed", help="Random seed (same seed, same graph)."),
    communities: Optional[int] = typer.Option(None, "--communities", help="Planted communities "
                                              "(default max(4, sqrt(users)/2))."),
    format: Optional[str] = typer.Option(None, "--format", help="csv or parquet (default: parquet from 100,000 "
                                         "users on)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing folder at --out."),
    items: int = typer.Option(0, "--items", help="Content items users engage with (0: none)."),
    engagements_per_user: float = typer.Option(20.0, "--engagements-per-user", help="Mean distinct items a user "
                                               "engages with (with --items)."),
    engagement: str = typer.Option("counts", "--engagement", help="counts (play counts, implicit) or ratings "
                                   "(1-5 stars, explicit)."),
    timestamps: bool = typer.Option(False, "--timestamps", help="Give friendships and engagements unix-second "
                                    "times (2015-2020)."),
) -> None:
    """Write a synthetic social graph in the data folder format.

    Planted communities, homophilous multimodal attributes (text,
    categorical, numeric, multi-hot), triadic closure and heavy-tailed
    degrees; with --items, content items and homophilous engagements
    (play counts or ratings). The same seed gives the same graph.
    Train on it with `socialgraph train --data OUT`.

    Examples:

      socialgraph synth --users 500 --mean-degree 10 --out data/tiny

      socialgraph synth --users 100000 --out data/synth100k --seed 1

      socialgraph synth --users 2000 --items 1000 --engagement ratings --timestamps --out data/ratings
    """
    from socialgraph.synth import SynthConfig, write_synthetic

    if format not in (None, "csv", "parquet"):
        fail(f"--format must be csv or parquet, not {format!r}")
    if out.exists() and not (out.is_dir() and not any(out.iterdir())) and not overwrite:
        fail(f"{out} exists and is not empty; choose another --out or pass --overwrite")
    try:
        cfg = SynthConfig(users=users, mean_degree=mean_degree, communities=communities, seed=seed, items=items,
                          engagements_per_user=engagements_per_user, engagement=engagement, timestamps=timestamps)
    except ValueError as err:
        fail(str(err))
    start = time.time()
    typer.echo(f"generating {users:,} users (mean degree {mean_degree:g}, seed {seed}) ...", err=True)
    write_synthetic(cfg, out, format=format, overwrite=overwrite)
    typer.echo(json.dumps({"out": str(out), "users": users, "communities": cfg.num_communities, "items": items,
                           "seconds": round(time.time() - start, 1)}))
