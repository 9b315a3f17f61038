"""How one training epoch's cost grows with the number of friendships, on dense campus-like synthetic graphs.

A university friendship network has about 85 friends a user; ``socialgraph synth --users N --mean-degree 85`` draws
graphs of that shape. For each size the default configuration trains ``--epochs`` epochs (validation every epoch,
so that every epoch is timed the same way) and the median seconds an epoch (``Trainer.history``) are kept beside
the graph's friendships; the slope of log(seconds) against log(friendships) is the growth exponent (1: linear).
With ``--full N`` the largest graph of N users then trains with the whole defaults (early stopping included), and
its wall time, epochs and validation Hits@50 are recorded too.

Writes ``OUT/dense_scaling.json``, ``.md`` and ``.png``; the plot and table also show ``OUT/dense_scaling_before.json``
when it is there (the same script run on older code, e.g. from a worktree with ``PYTHONPATH``). ``--replot`` only
redraws them from the saved JSON.

Usage: .venv/bin/python benchmarks/dense_scaling.py [--users 2250 4500 9000 18000] [--mean-degree 85] [--epochs 3]
       [--full 18000] [--out benchmarks/results/speed]
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path
from typing import Optional

import numpy as np

from socialgraph.bench.runinfo import code_state, peak_rss_mib
from socialgraph.bundle.config import Config
from socialgraph.synth import SynthConfig, generate
from socialgraph.train.trainer import Trainer

OUT = Path(__file__).parent / "results" / "speed"


def epoch_seconds(users: int, mean_degree: float, epochs: int, seed: int) -> dict:
    """Median seconds a training epoch (validation included) on a ``users``-user synthetic graph."""
    graph = generate(SynthConfig(users=users, mean_degree=mean_degree, seed=seed))
    config = Config()
    config.update("train", {"epochs": epochs, "eval_every": 1, "patience": epochs + 1, "seed": seed})
    start = time.time()
    trainer = Trainer(config, progress=True)
    trainer.fit(graph)
    wall = time.time() - start
    stamps = np.array([0.0] + [r["seconds"] for r in trainer.history])
    return {"users": users, "friendships": int(len(graph.undirected_pairs())), "epochs": epochs,
            "seconds_per_epoch": float(np.median(np.diff(stamps))), "wall_seconds": round(wall, 1),
            "setup_seconds": round(wall - float(stamps[-1]), 1)}


def full_run(users: int, mean_degree: float, seed: int) -> dict:
    """The whole default training on a ``users``-user graph: wall seconds, epochs, best validation Hits@50."""
    graph = generate(SynthConfig(users=users, mean_degree=mean_degree, seed=seed))
    config = Config()
    config.update("train.seed", seed)
    start = time.time()
    trainer = Trainer(config, progress=True)
    fitted = trainer.fit(graph)
    return {"users": users, "friendships": int(len(graph.undirected_pairs())), "wall_seconds": round(time.time() -
                                                                                                     start, 1),
            "epochs": fitted.metrics["epochs"], "train_seconds": fitted.metrics["train_seconds"],
            "best_val_hits@50": max(r.get("val_hits@50", float("nan")) for r in trainer.history),
            "peak_rss_mib": round(peak_rss_mib(), 1)}


def growth_exponent(rows: list[dict]) -> float:
    """Least-squares slope of log(seconds an epoch) against log(friendships)."""
    x = np.log([r["friendships"] for r in rows])
    y = np.log([r["seconds_per_epoch"] for r in rows])
    return float(np.polyfit(x, y, 1)[0])


def report(result: dict, before: Optional[dict] = None) -> str:
    lines = [f"## Epoch cost on dense graphs (mean degree {result['mean_degree']})", "",
             f"Command: `{result['command']}`; code `{result['code'].get('commit', '?')[:10]}`.", "",
             "| users | friendships | seconds an epoch | setup seconds |", "|---|---|---|---|"]
    lines += [f"| {r['users']:,} | {r['friendships']:,} | {r['seconds_per_epoch']:.1f} | {r['setup_seconds']:.1f} |"
              for r in result["sizes"]]
    lines += ["", f"Growth exponent of an epoch's seconds in the friendships: **{result['growth_exponent']:.2f}** "
                  "(1 is linear)."]
    if before:
        lines += ["", f"Before (code `{before['code'].get('commit', '?')}`; `{before['command']}`): " +
                  ", ".join(f"{r['seconds_per_epoch']:.1f} s an epoch at {r['users']:,} users"
                            for r in before["sizes"]) + f"; growth exponent {before['growth_exponent']:.2f}."]
    if result.get("full"):
        f = result["full"]
        lines += ["", f"Whole default training on {f['users']:,} users ({f['friendships']:,} friendships): "
                      f"**{f['wall_seconds'] / 60:.1f} min** wall, {f['epochs']} epochs, best validation Hits@50 "
                      f"{f['best_val_hits@50']:.3f}, peak RSS {f['peak_rss_mib']:,.0f} MiB."]
    return "\n".join(lines) + "\n"


def plot(result: dict, path: Path, before: Optional[dict] = None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = result["sizes"]
    x = np.array([r["friendships"] for r in rows], dtype=float)
    y = np.array([r["seconds_per_epoch"] for r in rows])
    fig, ax = plt.subplots(figsize=(5, 3.6))
    ax.loglog(x, y, "o-", label=f"model (slope {result['growth_exponent']:.2f})")
    ax.loglog(x, y[0] * x / x[0], "k--", lw=0.8, label="linear from the smallest")
    if before:
        bx = np.array([r["friendships"] for r in before["sizes"]], dtype=float)
        ax.loglog(bx, [r["seconds_per_epoch"] for r in before["sizes"]], "s-", color="tab:red",
                  label=f"before (slope {before['growth_exponent']:.2f})")
    ax.set_xlabel("friendships")
    ax.set_ylabel("seconds an epoch")
    ax.set_title(f"synthetic graphs, mean degree {result['mean_degree']}")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str]) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--users", type=int, nargs="+", default=[2250, 4500, 9000, 18000])
    ap.add_argument("--mean-degree", type=float, default=85.0)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--full", type=int, default=0, help="also train this many users with the whole defaults")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--replot", action="store_true", help="only redraw the table and plot from the saved JSON")
    args = ap.parse_args(argv)
    old = args.out / "dense_scaling_before.json"
    before = json.loads(old.read_text()) if old.is_file() else None
    if args.replot:
        result = json.loads((args.out / "dense_scaling.json").read_text())
        (args.out / "dense_scaling.md").write_text(report(result, before))
        plot(result, args.out / "dense_scaling.png", before)
        return
    sizes = [epoch_seconds(n, args.mean_degree, args.epochs, args.seed) for n in args.users]
    for r in sizes:
        print(json.dumps(r))
    result = {"mean_degree": args.mean_degree, "sizes": sizes, "growth_exponent": growth_exponent(sizes),
              "command": shlex.join([".venv/bin/python", "benchmarks/dense_scaling.py", *argv]), "code": code_state()}
    if args.full:
        result["full"] = full_run(args.full, args.mean_degree, args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "dense_scaling.json").write_text(json.dumps(result, indent=1) + "\n")
    (args.out / "dense_scaling.md").write_text(report(result, before))
    plot(result, args.out / "dense_scaling.png", before)
    print(report(result, before))


if __name__ == "__main__":
    main(sys.argv[1:])
