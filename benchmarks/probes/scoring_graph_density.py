"""Probe: does the density of the graph the test pairs are scored on matter?

Training steps hide a tenth of the training friendships (their targets); test pairs are scored with every training
and validation friendship observed, a denser graph than any step saw. This trains the default model once (split
seed 0) and scores the test pairs and negatives with messages and pair features on: training + validation
friendships (the default), training only, and random 95 % / 90 % of the training friendships.

Usage: .venv/bin/python benchmarks/probes/scoring_graph_density.py DATASET [--set JSON]
"""
from __future__ import annotations

import argparse
import json

import numpy as np
import torch

from socialgraph.config import from_dict
from socialgraph.data import load
from socialgraph.data.protocol import benchmark_split
from socialgraph.eval.metrics import hits_at_k
from socialgraph.bundle.config import Config
from socialgraph.train.links import LinkData
from socialgraph.train.trainer import Trainer


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dataset")
    ap.add_argument("--set", default="{}", help="JSON overrides of the configuration")
    args = ap.parse_args()
    torch.set_num_threads(1)
    graph = load(args.dataset)
    split = benchmark_split(graph, seed=0)
    fitted = Trainer(from_dict(Config, json.loads(args.set)), progress=False).fit(
        graph, LinkData(split.train, split.val, split.test, split.negatives))
    rng = np.random.default_rng(0)
    graphs = {"train+val (default)": np.r_[split.train, split.val], "train": split.train}
    for share in (0.95, 0.9):
        graphs[f"train x{share}"] = split.train[rng.random(len(split.train)) < share]
    for name, edges in graphs.items():
        fitted.mp_edges = edges
        fitted.invalidate()
        hits = hits_at_k(fitted.link_logits(split.test), fitted.link_logits(split.negatives), 50)
        print(f"{args.dataset} {name}: test Hits@50 {hits:.4f}", flush=True)


if __name__ == "__main__":
    main()
