"""``socialgraph demo``: the main job end to end on the embedded MUSAE Facebook page-page graph (MIT licensed).

Train the model on the benchmark split, compare it on every link metric with the classic heuristics and a plain
PyG GCN autoencoder on the same split, write the bundle and the friend-suggestion files, and show suggestions with
reasons for a few named pages. Needs no network: the data ships in ``datasets/musae/``.

A rerun with the same options gives the same output: it replaces the bundle and the suggestion job that an earlier
run left in ``--out`` (and only those; other folders there are refused, never deleted).
"""
from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Mapping

import numpy as np
import typer

from socialgraph.cli.common import (check_output, fail, holds_suggestions, metrics_table, progress_bars,
                                    write_atomically, writing)

DEMO_DATASET = "musae-facebook"
DEMO_PAGES = ("Facebook", "NASA's Marshall Space Flight Center", "Manchester United", "The White House",
              "UNICEF")
HEURISTICS = ("cn", "aa", "ra")
SHOWN = 5  # suggestions printed per named page (the files hold --k)


def demo(
    out: Path = typer.Option(Path("out/demo"), "--out", "-o", help="Folder for the bundle, suggestions and report "
                             "(a rerun replaces them)."),
    epochs: int = typer.Option(4, "--epochs", min=1, help="Training epochs (the demo keeps this small)."),
    k: int = typer.Option(10, "--k", min=1, help=f"Suggestions per page in the files (the first {SHOWN} are "
                          "printed)."),
    text: str = typer.Option("tfidf", "--text", help="Encoder of the page names: tfidf (seconds) or auto (the "
                             "training default: the sentence model when installed; about 1.5 points more Hits@50 "
                             "here, several minutes more CPU)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    """End-to-end demo on the embedded Facebook page graph.

    Trains the model on the MUSAE Facebook page graph that ships with the
    package (no download), compares it on Hits@K, MRR, AUC and AP with the
    heuristics and a GCN autoencoder on the same split, writes the bundle,
    suggestion files and report.json under --out, and prints suggestions
    for a few pages. Takes a few minutes on a laptop CPU; a rerun replaces
    what the last one wrote.

    Examples:

      socialgraph demo

      socialgraph demo --out /tmp/demo --epochs 10

      socialgraph demo --text auto
    """
    from socialgraph.data import load
    from socialgraph.data.protocol import benchmark_split
    from socialgraph.bundle.format import save_bundle

    cfg = demo_config(text, epochs)
    check_demo_output(out)
    start = time.time()
    graph = load(DEMO_DATASET)
    typer.echo(f"{graph.name}: {graph.num_users:,} pages, {graph.num_friend_pairs:,} mutual-like pairs, "
               f"modalities {graph.modalities()['user']}")
    split = benchmark_split(graph, seed=0)
    with progress_bars(not quiet):
        fitted, history, results = compare(graph, split, cfg, progress=not quiet)
        for line in comparison_lines(results, observed_pairs=len(split.train) + len(split.val)):
            typer.echo(line)
        with writing(out / "bundle"):
            bundle = save_bundle(fitted, out / "bundle", overwrite=True, history=history)
        manifest = write_suggestions(bundle, out / "suggestions", k, progress=not quiet)
    typer.echo(f"\nSuggestions for every page written to {out / 'suggestions'} ({manifest['rows']:,} rows, "
               f"{k} per page)")
    show_pages(bundle, graph, k)
    report = {"dataset": graph.name, "k": k, "observed": "train+val", "test_link": results,
              "seconds": round(time.time() - start, 1)}
    write_atomically(out / "report.json", lambda tmp: tmp.write_text(json.dumps(report, indent=1, default=float)))
    typer.echo(f"\nDone in {time.time() - start:.0f}s; report in {out / 'report.json'}")


def demo_config(text: str, epochs: int):
    """The training configuration of the demo: the defaults, ``text`` names, a larger step for few epochs."""
    from socialgraph.bundle.config import Config

    cfg = Config()
    try:  # ModalityConfig validates the backend name
        cfg.encoders = dataclasses.replace(cfg.encoders, text=text)
    except ValueError as err:
        fail(f"--text {text!r}: {err}")
    cfg.train.epochs = epochs
    cfg.train.lr = 0.005  # a run of a few epochs needs a larger step than the default's 0.002 over 100
    return cfg


def check_demo_output(out: Path) -> None:
    """Before any work: ``--out`` may hold what an earlier demo wrote (replaced), nothing else of those names."""
    check_output(out / "bundle", "folder", overwrite=True)
    check_output(out / "suggestions", "folder", overwrite=True, noun="a suggestion job's output",
                 is_ours=holds_suggestions)
    check_output(out / "report.json", "file", overwrite=True)


def compare(graph, split, cfg, *, progress: bool) -> tuple[object, list, dict[str, Mapping[str, float]]]:
    """Train the model on ``split`` and score it, the heuristics and a GCN autoencoder on the test pairs.

    Every method sees the pairs observed at test time, training and validation (as the model's message passing
    does, and as ``socialgraph benchmark`` scores them). Returns the fitted model, its history and
    ``{"socialgraph": metrics, "cn": ..., "aa": ..., "ra": ..., "gcn_autoencoder": ...}``.
    """
    from socialgraph.bench.gae import fit_gae
    from socialgraph.eval.link import evaluate_link_scores
    from socialgraph.eval.baselines import heuristic_baselines
    from socialgraph.train.links import LinkData
    from socialgraph.train.trainer import Trainer

    trainer = Trainer(cfg, progress=progress)
    fitted = trainer.fit(graph, LinkData(split.train, split.val, split.test, split.negatives))
    observed = np.r_[split.train, split.val]
    # heuristic_baselines reads the split's training pairs: hand it the observed ones in their place.
    heur = heuristic_baselines(dataclasses.replace(split, train=observed), HEURISTICS)
    gae = fit_gae(graph.num_users, split.train, split.val, split.negatives[:2000], epochs=60, eval_every=10,
                  progress=progress)
    gae_scores = evaluate_link_scores(gae(split.test, observed), gae(split.negatives, observed))
    return fitted, trainer.history, {"socialgraph": fitted.metrics["test"]["link"], **heur,
                                     "gcn_autoencoder": gae_scores}


_LABELS = {"socialgraph": "socialgraph (this model)", "cn": "common neighbours (CN)", "aa": "Adamic-Adar (AA)",
           "ra": "resource allocation (RA)", "gcn_autoencoder": "plain PyG GCN autoencoder"}


def comparison_lines(results: Mapping[str, Mapping[str, float]], *, observed_pairs: int) -> list[str]:
    """The comparison table as printed: every link metric of every method, and which graph they saw."""
    lines = ["", "Test split, 10,000+ shared random page pairs without a mutual like as negatives; heuristics",
             f"and message passing see the training + validation graph ({observed_pairs:,} pairs), as in "
             "`socialgraph benchmark`:"]
    rows = [(_LABELS.get(name, name), metrics) for name, metrics in results.items()]
    return lines + ["  " + line for line in metrics_table(rows, width=28)]


def write_suggestions(bundle: Path, out: Path, k: int, *, progress: bool) -> dict:
    """Run the suggestion job for every user, ``k`` each, replacing an earlier run's output; its manifest."""
    from socialgraph.jobs import run_suggest_job
    from socialgraph.predictor import CandidateConfig

    return run_suggest_job(bundle, out, config=CandidateConfig(k=k), engine="local", overwrite=True,
                           progress=progress)


def show_pages(bundle: Path, graph, k: int) -> None:
    """Print the first suggestions (of ``k``) with their reasons for each of :data:`DEMO_PAGES` in the graph."""
    from socialgraph.predictor import Predictor

    if graph.user_attrs is None or "page_name" not in graph.user_attrs.frame:
        return
    predictor = Predictor.load(bundle)
    names = graph.user_attrs.frame["page_name"].astype(str)
    for page in DEMO_PAGES:
        hits = np.flatnonzero(names.to_numpy() == page)
        if not len(hits):
            continue
        typer.echo(f"\nPages suggested for {page!r}:")
        for rank, s in enumerate(predictor.suggest(graph.user_ids[hits[0]], k=k)[:SHOWN], 1):
            cand = names.iloc[int(graph.user_index([s.user_id])[0])]
            # Hub pages' best candidates are near-certain: three decimals would print a column of 1.000.
            p = ">0.999" if s.score > 0.999 else f"{s.score:.3f}"
            typer.echo(f"  {rank}. {cand}  (p {p}; {'; '.join(s.reasons)})")
