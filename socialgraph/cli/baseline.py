"""``socialgraph baseline``: heuristic link-prediction baselines under the benchmark protocol.

Splits the graph with :func:`socialgraph.data.protocol.benchmark_split` (85/5/10 random split of the undirected
friend pairs, shared uniform negatives), scores the test pairs and negatives on the training graph with one or
all heuristics, and prints Hits@20/50/100, MRR, AUC and AP.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from socialgraph.cli.common import fail
from socialgraph.eval.heuristics import METHODS

_COLUMNS = ("hits@20", "hits@50", "hits@100", "mrr", "auc", "ap")


def baseline(
    dataset: Optional[str] = typer.Option(None, "--dataset", "-d", help="Dataset name (see `socialgraph datasets list`)."),
    data: Optional[str] = typer.Option(None, "--data", help="A folder in the project's format (friends.csv, ...)."),
    method: str = typer.Option("aa", "--method", "-m", help=f"One of {', '.join(METHODS)}, or 'all'."),
    seed: int = typer.Option(0, "--seed", help="Seed of the split and of the negatives."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON object instead of a table."),
) -> None:
    """Score heuristic baselines (CN, AA, RA, ...) on a test split.

    The benchmark protocol: an 85/5/10 random split of the friend pairs and
    shared uniform negatives (seeded by --seed); heuristics see the training
    graph only. Prints Hits@20/50/100, MRR, AUC and AP per method.

    Examples:

      socialgraph baseline --dataset seal-usair --method all

      socialgraph baseline --dataset ego-facebook --method aa --json

      socialgraph baseline --data my_folder --method ra --seed 1
    """
    from socialgraph.data import DataError, load
    from socialgraph.data.protocol import benchmark_split
    from socialgraph.eval.baselines import heuristic_baselines

    if (dataset is None) == (data is None):
        fail("give exactly one of --dataset NAME or --data DIR")
    methods = list(METHODS) if method.lower() == "all" else [method.lower()]
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        fail(f"unknown method {unknown[0]!r} for --method; choose one of {', '.join(METHODS)} or all")
    if data is not None and not Path(data).is_dir():
        fail(f"{data}: not a folder; --data expects a folder holding friends.csv (see docs/data-format.md)")
    source = data if data is not None else dataset
    try:
        graph = load(source)
    except (DataError, KeyError, FileNotFoundError) as err:
        fail(str(err).strip("'\""))
    split = benchmark_split(graph, seed=seed)
    results = heuristic_baselines(split, methods)
    if as_json:
        typer.echo(json.dumps({
            "dataset": graph.name, "seed": seed, "users": graph.num_users, "train": len(split.train),
            "val": len(split.val), "test": len(split.test), "negatives": len(split.negatives),
            "results": results}, indent=2))
        return
    typer.echo(f"{graph.name}: {graph.num_users} users, train {len(split.train)} / val {len(split.val)} / "
               f"test {len(split.test)} pairs, {len(split.negatives)} shared negatives, seed {seed}")
    typer.echo(f"{'method':10s}" + "".join(f"{c:>10s}" for c in _COLUMNS))
    for m, r in results.items():
        typer.echo(f"{m:10s}" + "".join(f"{r[c]:10.4f}" for c in _COLUMNS))
