"""``socialgraph demo``: the main job end to end on the embedded MUSAE Facebook page-page graph (MIT licensed).

Train the model on the benchmark split, compare its Hits@50 with the best heuristic and a plain PyG GCN
autoencoder on the same split, write the bundle and the friend-suggestion files, and show suggestions with reasons
for a few named pages. Needs no network: the data ships in ``datasets/musae/``.
"""
from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import typer

from socialgraph.cli.common import fail

DEMO_DATASET = "musae-facebook"
DEMO_PAGES = ("Facebook", "NASA's Marshall Space Flight Center", "Manchester United", "The White House",
              "UNICEF")


def demo(
    out: Path = typer.Option(Path("out/demo"), "--out", "-o", help="Folder for the bundle, suggestions and report."),
    epochs: int = typer.Option(4, "--epochs", help="Training epochs (the demo keeps this small)."),
    k: int = typer.Option(10, "--k", help="Suggestions per page."),
    text: str = typer.Option("tfidf", "--text", help="Encoder of the page names: tfidf (seconds) or auto (the "
                             "training default: the sentence model when installed; about 1.5 points more Hits@50 "
                             "here, several minutes more CPU)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    """End-to-end demo on the embedded Facebook page graph.

    Trains the model on the MUSAE Facebook page graph that ships with the
    package (no download), compares its Hits@K with the best heuristic and a
    GCN autoencoder on the same split, writes the bundle, suggestion files
    and report.json under --out, and prints suggestions for a few pages.
    Takes a few minutes on a laptop CPU.

    Examples:

      socialgraph demo

      socialgraph demo --out /tmp/demo --epochs 10

      socialgraph demo --text auto
    """
    import numpy as np

    from socialgraph.bench.gae import fit_gae
    from socialgraph.data import DataError, load
    from socialgraph.data.protocol import benchmark_split, evaluate_link_scores
    from socialgraph.eval.baselines import heuristic_baselines
    from socialgraph.jobs.suggest import run_suggest_job
    from socialgraph.predictor import Predictor
    from socialgraph.train.bundle import save_bundle
    from socialgraph.train.config import Config
    from socialgraph.train.trainer import LinkData, Trainer

    cfg = Config()
    try:  # ModalityConfig validates the backend name
        cfg.encoders = dataclasses.replace(cfg.encoders, text=text)
    except ValueError as err:
        fail(f"--text {text!r}: {err}")
    cfg.train.epochs = epochs
    cfg.train.lr = 0.005  # a run of a few epochs needs a larger step than the default's 0.002 over 100
    start = time.time()
    try:
        graph = load(DEMO_DATASET)
    except DataError as err:
        fail(str(err))
    typer.echo(f"{graph.name}: {graph.num_users:,} pages, {graph.num_friend_pairs:,} mutual-like pairs, "
               f"modalities {graph.modalities()['user']}")
    split = benchmark_split(graph, seed=0)
    trainer = Trainer(cfg, progress=not quiet)
    fitted = trainer.fit(graph, LinkData(split.train, split.val, split.test, split.negatives))
    ours = fitted.metrics["test"]["link"]

    heur = heuristic_baselines(split, ["cn", "aa", "ra"])
    best_name = max(heur, key=lambda m: heur[m]["hits@50"])
    gae = fit_gae(graph.num_users, split.train, split.val, split.negatives[:2000], epochs=60, eval_every=10,
                  progress=not quiet)
    observed = np.r_[split.train, split.val]
    gae_scores = evaluate_link_scores(gae(split.test, observed), gae(split.negatives, observed))

    out.mkdir(parents=True, exist_ok=True)
    bundle = save_bundle(fitted, out / "bundle", overwrite=True, history=trainer.history)
    rows = [("socialgraph (this model)", ours), (f"best heuristic ({best_name.upper()})", heur[best_name]),
            ("plain PyG GCN autoencoder", gae_scores)]
    typer.echo("\nTest split, 10,000+ shared random page pairs without a mutual like as negatives:")
    typer.echo(f"  {'method':30s} {'Hits@20':>8s} {'Hits@50':>8s} {'Hits@100':>8s} {'AUC':>7s}")
    for name, m in rows:
        typer.echo(f"  {name:30s} {m['hits@20']:8.3f} {m['hits@50']:8.3f} {m['hits@100']:8.3f} {m['auc']:7.3f}")

    manifest = run_suggest_job(bundle, out / "suggestions", engine="local", progress=not quiet,
                               resume=(out / "suggestions").exists())
    typer.echo(f"\nSuggestions for every page written to {out / 'suggestions'} "
               f"({manifest['rows']:,} rows)")

    predictor = Predictor.load(bundle)
    names = graph.user_attrs.frame["page_name"].astype(str) if graph.user_attrs is not None else None
    for page in DEMO_PAGES:
        if names is None:
            break
        hits = np.flatnonzero(names.to_numpy() == page)
        if not len(hits):
            continue
        uid = graph.user_ids[hits[0]]
        typer.echo(f"\nPages suggested for {page!r}:")
        for rank, s in enumerate(predictor.suggest(uid, k=k)[:5], 1):
            cand = names.iloc[int(graph.user_index([s.user_id])[0])]
            # Hub pages' best candidates are near-certain: three decimals would print a column of 1.000.
            p = ">0.999" if s.score > 0.999 else f"{s.score:.3f}"
            typer.echo(f"  {rank}. {cand}  (p {p}; {'; '.join(s.reasons)})")
    report = {"dataset": graph.name, "model": ours, "best_heuristic": {best_name: heur[best_name]},
              "gcn_autoencoder": gae_scores, "seconds": round(time.time() - start, 1)}
    (out / "report.json").write_text(json.dumps(report, indent=1, default=float))
    typer.echo(f"\nDone in {time.time() - start:.0f}s; report in {out / 'report.json'}")
