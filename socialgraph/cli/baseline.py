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

from socialgraph.cli.common import fail, load_graph, metrics_table
from socialgraph.eval.heuristics import METHODS


def baseline(
    dataset: Optional[str] = typer.Option(None, "--dataset", "-d", help="Dataset name (see `socialgraph datasets list`)."),
    data: Optional[Path] = typer.Option(None, "--data", help="A folder in the project's format (friends.csv, ...)."),
    method: str = typer.Option("aa", "--method", "-m", help=f"One of {', '.join(METHODS)}, or 'all'."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the split and of the negatives."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON object instead of a table."),
) -> None:
    """Score heuristic baselines (CN, AA, RA, ...) on a test split.

    The benchmark protocol: an 85/5/10 random split of the friend pairs and
    shared uniform negatives (seeded by --seed); heuristics see the training
    graph only (socialgraph benchmark and the demo add the validation pairs,
    as the model sees them at test time). Prints Hits@20/50/100, MRR, AUC
    and AP per method.

    Examples:

      socialgraph baseline --dataset seal-usair --method all

      socialgraph baseline --dataset ego-facebook --method aa --json

      socialgraph baseline --data my_folder --method ra --seed 1
    """
    from socialgraph.data.protocol import benchmark_split
    from socialgraph.eval.baselines import heuristic_baselines

    if (dataset is None) == (data is None):
        fail("give exactly one of --dataset NAME or --data DIR")
    methods = list(METHODS) if method.lower() == "all" else [method.lower()]
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        fail(f"unknown method {unknown[0]!r} for --method; choose one of {', '.join(METHODS)} or all")
    graph = load_graph(dataset, data)
    split = benchmark_split(graph, seed=seed)
    results = heuristic_baselines(split, methods)
    if as_json:
        typer.echo(json.dumps({
            "dataset": graph.name, "seed": seed, "users": graph.num_users, "train": len(split.train),
            "val": len(split.val), "test": len(split.test), "negatives": len(split.negatives),
            "observed": "train", "results": results}, indent=2))
        return
    # `socialgraph benchmark` and the demo score heuristics on training + validation pairs; say which graph this is.
    typer.echo(f"{graph.name}: {graph.num_users} users, train {len(split.train)} / val {len(split.val)} / "
               f"test {len(split.test)} pairs, {len(split.negatives)} shared negatives, seed {seed}; heuristics "
               f"scored on the training graph ({len(split.train)} pairs)")
    for line in metrics_table(results.items()):
        typer.echo(line)
