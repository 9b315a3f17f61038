"""Test metrics of every head of the default model under the benchmark protocol, one dataset per run.

Trains ``Trainer(Config())`` (optionally with overrides) on ``benchmark_split(graph, seed)`` and saves the trainer's
test metrics, training time and the heuristics on the same split to ``benchmarks/results/model_quality.json`` (one
entry per dataset, replaced on re-run).

With ``--log FILE`` (and a ``--tag``) the run is an experiment: one JSON line with the overrides, the test link
metrics, the best validation criterion and the time is appended to FILE, and ``model_quality.json`` is left alone
(``benchmarks/results/experiments.jsonl`` is the log behind ``docs/experiments.md``).

Usage: .venv/bin/python benchmarks/model_quality.py DATASET [DATASET ...] [--seed 0] [--threads 1] [--set JSON]
       [--log FILE --tag NAME]
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import torch

from socialgraph.bench.buckets import by_bucket, pair_buckets
from socialgraph.config import from_dict, to_dict
from socialgraph.data import load
from socialgraph.data.adjacency import adjacency_from_edges
from socialgraph.data.protocol import benchmark_split
from socialgraph.eval.baselines import heuristic_baselines
from socialgraph.eval.metrics import hits_at_k
from socialgraph.bundle.config import Config
from socialgraph.train.links import LinkData
from socialgraph.train.trainer import Trainer

OUT = Path(__file__).parent / "results" / "model_quality.json"


def bucket_hits50(fitted, split) -> dict[str, float]:
    """Test Hits@50 of the fitted model by degree bucket (:mod:`socialgraph.bench.buckets`)."""
    degree = np.diff(adjacency_from_edges(split.train, fitted.graph.num_users).indptr)
    pos, neg = fitted.link_logits(split.test), fitted.link_logits(split.negatives)
    buckets = by_bucket(pos, neg, pair_buckets(split.test, degree), lambda p, n: {"hits@50": hits_at_k(p, n, 50)})
    return {b: round(m["hits@50"], 4) for b, m in buckets.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("datasets", nargs="+")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest on a shared 2-core box)")
    ap.add_argument("--set", default="{}", help="JSON overrides of the configuration, e.g. '{\"train\":{\"epochs\":5}}'")
    ap.add_argument("--log", type=Path, help="append one JSON line per run to this file instead of model_quality.json")
    ap.add_argument("--tag", default="", help="name of the experiment in --log")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    results = json.loads(OUT.read_text()) if OUT.exists() else {}
    for name in args.datasets:
        graph = load(name)
        split = benchmark_split(graph, seed=args.seed)
        config = from_dict(Config, json.loads(args.set))
        start = time.time()
        fitted = Trainer(config, progress=True).fit(graph, LinkData(split.train, split.val, split.test,
                                                                     split.negatives))
        link = fitted.metrics["test"].get("link", {})
        if args.log:
            record = {"dataset": name, "tag": args.tag, "split_seed": args.seed, "overrides": json.loads(args.set),
                      "test": link, "test_buckets_hits@50": bucket_hits50(fitted, split),
                      "best_val_hits@20_50_100": fitted.metrics["best_val_hits@20_50_100"],
                      "epochs": fitted.metrics["epochs"], "train_seconds": round(time.time() - start, 1),
                      "command": shlex.join(["benchmarks/model_quality.py", *sys.argv[1:]])}
            with open(args.log, "a") as f:
                f.write(json.dumps(record, default=float) + "\n")
            print(f"{name} [{args.tag}]: test Hits@50 {link.get('hits@50', float('nan')):.3f}")
            continue
        heur = heuristic_baselines(split, ["cn", "aa", "ra"])
        results[name] = {"test": fitted.metrics["test"], "train_seconds": round(time.time() - start, 1),
                         "epochs": fitted.metrics["epochs"], "heuristics": heur, "seed": args.seed,
                         "overrides": json.loads(args.set), "config": to_dict(config),
                         "command": shlex.join(["benchmarks/model_quality.py", *sys.argv[1:]])}
        print(f"{name}: test Hits@50 {link.get('hits@50', float('nan')):.3f} (best heuristic "
              f"{max(h['hits@50'] for h in heur.values()):.3f}), {results[name]['train_seconds']}s")
        OUT.parent.mkdir(parents=True, exist_ok=True)
        OUT.write_text(json.dumps(results, indent=1, default=float))


if __name__ == "__main__":
    main()
