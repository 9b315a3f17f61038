"""``socialgraph train``, ``socialgraph evaluate`` and ``socialgraph score``."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer

from socialgraph.cli.common import fail, load_graph

TRAIN_HELP = """Train the model and write a bundle folder.

With --dataset NAME the benchmark protocol applies (85/5/10 random split
of the friend pairs, seed 0) and the bundle records test metrics of every
head. With --data DIR all friend pairs train except a small validation
slice used for early stopping. The bundle is what evaluate, score,
suggest and explain read.

Examples:

  socialgraph train --dataset lastfm-hetrec-2k --out models/lastfm

  socialgraph train --data my_folder --out models/mine --epochs 30 --seed 1

  socialgraph train --print-config > my.yaml

  socialgraph train --data my_folder --config my.yaml --out models/mine
"""


def train(
    dataset: Optional[str] = typer.Option(None, "--dataset", "-d", help="Dataset name (socialgraph datasets list)."),
    data: Optional[Path] = typer.Option(None, "--data", help="A folder in the project's format (docs/data-format.md)."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Bundle folder to write (must not exist or be empty)."),
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="YAML configuration (see --print-config)."),
    epochs: Optional[int] = typer.Option(None, "--epochs", help="Override train.epochs."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Override train.seed (split seed stays 0)."),
    print_config: bool = typer.Option(False, "--print-config", help="Print the default configuration and exit."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing bundle at --out."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    from socialgraph.config import load_yaml, to_dict
    from socialgraph.train.config import Config

    if print_config:
        import yaml

        cfg = load_yaml(Config, config) if config else Config()
        typer.echo(yaml.safe_dump(to_dict(cfg), sort_keys=False), nl=False)
        return
    if out is None:
        fail("--out BUNDLE is required (the folder the trained model is written to)")
    if out.exists() and any(out.iterdir()) and not overwrite:
        fail(f"{out} exists and is not empty; choose another --out or pass --overwrite")
    try:
        cfg = load_yaml(Config, config) if config else Config()
    except ValueError as err:
        fail(str(err))
    if epochs is not None:
        cfg.train.epochs = epochs
    if seed is not None:
        cfg.train.seed = seed
    graph = load_graph(dataset, data)

    from socialgraph.data.protocol import benchmark_split
    from socialgraph.train.bundle import save_bundle
    from socialgraph.train.trainer import LinkData, Trainer

    links = None
    if dataset is not None and graph.num_friend_pairs:
        s = benchmark_split(graph, seed=0)
        links = LinkData(s.train, s.val, s.test, s.negatives)
    out.parent.mkdir(parents=True, exist_ok=True)
    trainer = Trainer(cfg, progress=not quiet)
    try:
        fitted = trainer.fit(graph, links)
    except ValueError as err:
        fail(f"{graph.name}: {err}")
    save_bundle(fitted, out, overwrite=overwrite, history=trainer.history)
    typer.echo(json.dumps({"bundle": str(out), **fitted.metrics}, default=float))


def evaluate(
    model: Path = typer.Option(..., "--model", "-m", help="Bundle folder written by `socialgraph train`."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Print the metrics recorded in a bundle when it was trained.

    Test metrics of every head when the bundle was trained with --dataset;
    training time, epochs, best validation Hits@50 and calibration always.

    Examples:

      socialgraph evaluate --model models/lastfm

      socialgraph evaluate --model models/lastfm --json
    """
    from socialgraph.train.bundle import BundleError, verify_bundle

    try:
        verify_bundle(model)
    except BundleError as err:
        fail(str(err))
    meta = json.loads((model / "meta.json").read_text())
    metrics = meta.get("metrics", {})
    if as_json:
        typer.echo(json.dumps(metrics, indent=1, default=float))
        return
    for head, values in metrics.get("test", {}).items():
        typer.echo(f"{head:12s} " + "  ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}"
                                              for k, v in values.items()))
    rest = {k: v for k, v in metrics.items() if k != "test"}
    typer.echo(" ".join(f"{k}={v}" for k, v in rest.items()))


def score(
    model: Path = typer.Option(..., "--model", "-m", help="Bundle folder written by `socialgraph train`."),
    pairs: Path = typer.Option(..., "--pairs", "-p", help="CSV with columns src,dst (external user ids)."),
    out: Path = typer.Option(..., "--out", "-o", help="CSV to write: src,dst,score."),
) -> None:
    """Score user pairs from a CSV (calibrated probabilities).

    --pairs is a CSV with a header and columns src,dst holding external user
    ids the model was trained with. Writes src,dst,score to --out, where
    score is the calibrated probability.

    Examples:

      socialgraph score --model models/lastfm --pairs pairs.csv --out scores.csv
    """
    import numpy as np
    import pandas as pd

    from socialgraph.train.bundle import BundleError, load_bundle

    try:
        table = pd.read_csv(pairs)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        fail(f"{pairs}: cannot read the pairs file: {err}")
    missing = [c for c in ("src", "dst") if c not in table.columns]
    if missing:
        fail(f"{pairs}: missing column(s) {missing}; expected a header with src,dst (got {list(table.columns)})")
    try:
        fitted = load_bundle(model)
    except BundleError as err:
        fail(str(err))
    rows = []
    for col in ("src", "dst"):
        try:
            rows.append(_rows(fitted.graph, table[col], pairs, col))
        except KeyError as err:
            fail(str(err).strip("'\""))
    logits = fitted.link_logits(np.stack(rows, axis=1))
    from socialgraph.predictor.calibration import Calibration

    # Calibrated at training time (Platt scaling on validation pairs); a plain sigmoid for older bundles.
    result = pd.DataFrame({"src": table["src"], "dst": table["dst"],
                           "score": Calibration.from_metrics(fitted.metrics)(logits)})
    tmp = out.with_name(f".{out.name}.tmp")
    result.to_csv(tmp, index=False)
    tmp.replace(out)
    typer.echo(f"wrote {len(result)} scores to {out}", err=True)


def _rows(graph, ids, path: Path, column: str):
    """User rows of an id column, with the file line of the first unknown id in the error."""
    import numpy as np

    index = graph.user_index  # raises KeyError naming the id
    try:
        return index(ids.tolist())
    except KeyError:
        for line, value in enumerate(ids.tolist(), start=2):
            try:
                index([value])
            except KeyError:
                raise KeyError(f"{path}: line {line}: unknown user id {value!r} in column {column}; the model "
                               f"knows the {graph.num_users} users it was trained with") from None
        return np.zeros(0, np.int64)
