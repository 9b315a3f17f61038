"""``socialgraph train``, ``socialgraph evaluate`` and ``socialgraph score``."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Optional

import typer

from socialgraph.cli.common import check_output, fail, load_graph, progress_bars, write_atomically, writing

TRAIN_HELP = """Train the model and write a bundle folder.

With --dataset NAME the benchmark protocol applies (85/5/10 random split
of the friend pairs, seed 0) and the bundle records test metrics of every
head. With --data DIR all friend pairs train except a small validation
slice used for early stopping. The bundle is what evaluate, score,
suggest and explain read. --out is checked before training starts.

While it trains, the run keeps its state in OUT.partial (every epoch,
and every train.checkpoint_seconds within one); the folder goes once the
bundle is written. A run that was killed continues from there with
--resume and the same settings, to the result it would have reached.

Data-parallel training: start the command with torchrun (each process
scores its shard of every step, DDP averages the gradients, rank 0
writes the bundle), or pass --engine ray --workers N to run N Ray Train
workers (on the cluster RAY_ADDRESS names, if set).

Examples:

  socialgraph train --dataset lastfm-hetrec-2k --out models/lastfm

  socialgraph train --data my_folder --out models/mine --epochs 30 --seed 1

  socialgraph train --data my_folder --out models/small --set model.dim=32

  socialgraph train --data my_folder --out models/mine --device cuda:0

  socialgraph train --data my_folder --out models/mine --resume

  torchrun --nproc_per_node 2 -m socialgraph.cli.main train --data my_folder --out models/mine

  socialgraph train --data my_folder --out models/mine --engine ray --workers 4

  socialgraph train --print-config > my.yaml

  socialgraph train --data my_folder --config my.yaml --out models/mine
"""


def train(
    dataset: Optional[str] = typer.Option(None, "--dataset", "-d", help="Dataset name (socialgraph datasets list)."),
    data: Optional[Path] = typer.Option(None, "--data", help="A folder in the project's format (docs/data-format.md)."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Bundle folder to write (new, empty, or a bundle "
                                       "with --overwrite)."),
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="YAML configuration (see --print-config)."),
    overrides: list[str] = typer.Option([], "--set", help="KEY=VALUE: one setting of the configuration, e.g. "
                                        "model.dim=32 (repeatable; applied after --config)."),
    epochs: Optional[int] = typer.Option(None, "--epochs", min=1, help="Override train.epochs."),
    seed: Optional[int] = typer.Option(None, "--seed", min=0, help="Override train.seed (split seed stays 0)."),
    device: Optional[str] = typer.Option(None, "--device", help="Override train.device: auto, cpu, cuda or "
                                         "cuda:N (bundles load on any device)."),
    print_config: bool = typer.Option(False, "--print-config", help="Print the configuration and exit."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing bundle at --out (and start "
                                   "again over an interrupted run's OUT.partial)."),
    resume: bool = typer.Option(False, "--resume", help="Continue the interrupted run kept in OUT.partial (same "
                                "data and settings)."),
    engine: str = typer.Option("local", "--engine", help="local (this process, or the torchrun group it is in) "
                               "or ray (Ray Train workers)."),
    workers: int = typer.Option(2, "--workers", min=1, help="Ray Train workers with --engine ray."),
    ray_storage: Optional[str] = typer.Option(None, "--ray-storage", help="Ray Train's checkpoint storage with "
                                              "--engine ray: a folder all nodes see, or a URI (default: a "
                                              "temporary folder, enough on one machine)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    import yaml

    from socialgraph.config import to_dict

    cfg = _config(config, overrides, epochs, seed, device)
    if print_config:
        typer.echo(yaml.safe_dump(to_dict(cfg), sort_keys=False), nl=False)
        return
    if out is None:
        fail("--out BUNDLE is required (the folder the trained model is written to)")
    if resume and overwrite:
        fail("--resume and --overwrite contradict each other: --resume continues the run kept in OUT.partial, "
             "--overwrite starts again; pass one of them")
    if engine not in ("local", "ray"):
        fail(f"--engine must be local or ray, got {engine!r}")
    from socialgraph.train.distributed import launched_by_torchrun

    parallel = engine == "ray" or launched_by_torchrun()
    if resume and parallel:
        fail("--resume continues a single-process run; a data-parallel run (torchrun or --engine ray) starts again")
    main_rank = int(os.environ.get("RANK", "0")) == 0 or engine == "ray"
    if main_rank:
        check_output(out, "folder", overwrite=overwrite)
    state = None if parallel else _state_folder(out, resume, overwrite)
    from socialgraph.train.runtime import resolve_device

    resolve_device(cfg.train.device)  # a CUDA device that is not there fails before the data are read
    graph = load_graph(dataset, data)
    with progress_bars(not quiet and main_rank):
        if engine == "ray":
            from socialgraph.train.ray_engine import fit_on_ray

            fitted, history = fit_on_ray(cfg, graph, _benchmark_links(graph) if dataset else None, workers,
                                         storage=ray_storage, use_gpu=cfg.train.device.startswith("cuda"))
        else:
            fitted, history = _fit(cfg, graph, benchmark=dataset is not None, progress=not quiet, state=state,
                                   resume=resume)
    if not main_rank:
        return  # rank 0 writes the bundle

    from socialgraph.bundle.format import save_bundle

    with writing(out):
        save_bundle(fitted, out, overwrite=overwrite, history=history)
    if state is not None:
        shutil.rmtree(state, ignore_errors=True)
    typer.echo(json.dumps({"bundle": str(out), **fitted.metrics}, default=float))


def _config(path: Optional[Path], overrides: list[str], epochs: Optional[int], seed: Optional[int],
            device: Optional[str] = None):
    """The run's configuration: defaults, then the file, then ``--set``, then ``--epochs`` / ``--seed`` /
    ``--device`` (each value checked by the configuration itself; a bad one raises ConfigError, one line)."""
    from socialgraph.config import apply_overrides, load_yaml, update
    from socialgraph.bundle.config import Config, check_device

    cfg = load_yaml(Config, path) if path else Config()
    apply_overrides(cfg, overrides)
    if epochs is not None:
        update(cfg, "train.epochs", epochs, source="--epochs")
    if seed is not None:
        update(cfg, "train.seed", seed, source="--seed")
    if device is not None:
        update(cfg, "train.device", device, source="--device")
    check_device(cfg.train.device, source="--device" if device is not None else None)  # --set is not pattern-checked
    return cfg


def _state_folder(out: Path, resume: bool, overwrite: bool) -> Path:
    """``OUT.partial``, where the run keeps its resumable state; exits when ``--resume`` has nothing to continue,
    or when an interrupted run is there and neither ``--resume`` nor ``--overwrite`` says what to do with it."""
    from socialgraph.train.resume import has_state, read_progress

    state = out.with_name(out.name + ".partial")
    if state.exists() and not state.is_dir():
        fail(f"{state} is a file; training keeps its resumable state in a folder of that name: move the file away")
    if resume and not has_state(state):
        fail(f"--resume: no interrupted run to continue for --out {out} ({state} holds no training state); run "
             f"without --resume")
    if has_state(state) and not resume:
        if not overwrite:
            p = read_progress(state)
            where = f" (at epoch {p['epoch'] + 1} of {p['epochs']}, step {p['step']})" if p else ""
            fail(f"{state} holds an interrupted training run{where}; pass --resume to continue it with the same "
                 f"settings, or --overwrite to start again")
        shutil.rmtree(state)
    return state


def _fit(cfg, graph, *, benchmark: bool, progress: bool, state: Optional[Path] = None, resume: bool = False):
    """Train on ``graph`` (the benchmark split when ``benchmark``), keeping the run's state in ``state``; the
    fitted model and its history."""
    from socialgraph.train.trainer import Trainer

    trainer = Trainer(cfg, progress=progress, state_dir=state)
    fitted = trainer.fit(graph, _benchmark_links(graph) if benchmark else None, resume=resume)
    return fitted, trainer.history


def _benchmark_links(graph):
    """The benchmark protocol's split of ``graph``'s friendships (``None`` without any)."""
    from socialgraph.data.protocol import benchmark_split
    from socialgraph.train.links import LinkData

    if not graph.num_friend_pairs:
        return None
    s = benchmark_split(graph, seed=0)
    return LinkData(s.train, s.val, s.test, s.negatives)


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
    from socialgraph.bundle.format import verify_bundle

    verify_bundle(model)
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
    out: Path = typer.Option(..., "--out", "-o", help="CSV to write: src,dst,score (an existing file is replaced)."),
    device: str = typer.Option("auto", "--device", help="Where user states and scores are computed: auto (cuda "
                               "when available), cpu, cuda or cuda:N."),
) -> None:
    """Score user pairs from a CSV (calibrated probabilities).

    --pairs is a CSV with a header and columns src,dst holding external user
    ids the model was trained with. Writes src,dst,score to --out, where
    score is the calibrated probability. --out is written whole or not at
    all: an existing file is replaced only once every score is computed.

    Examples:

      socialgraph score --model models/lastfm --pairs pairs.csv --out scores.csv
    """
    import numpy as np
    import pandas as pd

    from socialgraph.predictor import Predictor

    check_output(out, "file", overwrite=True)
    table = _read_pairs(pairs)
    predictor = Predictor.load(model, device=device)
    rows = np.stack([_rows(predictor.graph, table[col], pairs, col) for col in ("src", "dst")], axis=1)
    # Calibrated at training time (Platt scaling on validation pairs); a plain sigmoid for older bundles.
    result = pd.DataFrame({"src": table["src"], "dst": table["dst"],
                           "score": predictor.calibration(predictor.link_logits(rows))})
    write_atomically(out, lambda tmp: result.to_csv(tmp, index=False))
    typer.echo(f"wrote {len(result)} scores to {out}", err=True)


def _read_pairs(path: Path):
    """The pairs CSV with its src,dst columns, or a clean exit naming the file (and the line of a bad row)."""
    from socialgraph.data.errors import DataError
    from socialgraph.data.folder import read_csv_table

    try:
        table = read_csv_table(path)
    except DataError as err:
        fail(f"cannot read the pairs file: {err}")
    missing = [c for c in ("src", "dst") if c not in table.columns]
    if missing:
        fail(f"{path}: missing column(s) {missing}; expected a header with src,dst (got {list(table.columns)})")
    return table


def _rows(graph, ids, path: Path, column: str):
    """User rows of an id column, or a clean exit naming the file line of the first unknown id."""
    index = graph.user_index  # raises KeyError naming the id
    try:
        return index(ids.tolist())
    except KeyError:
        for line, value in zip(ids.index.tolist(), ids.tolist()):  # the index holds each row's line
            try:
                index([value])
            except KeyError:
                fail(f"{path}: line {line}: unknown user id {value!r} in column {column}; the model knows the "
                     f"{graph.num_users} users it was trained with")
        raise
