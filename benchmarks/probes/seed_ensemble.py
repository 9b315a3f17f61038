"""Probe: does averaging the link logits of models trained with different seeds raise test Hits@50?

Trains the default model (optionally with ``--set`` overrides) once per training seed on the benchmark split (split
seed 0) and prints, after each seed, that model's test Hits@50 and the Hits@50 of the mean logit of all seeds so
far. Encoded inputs come from the encoder cache after the first seed.

Usage: .venv/bin/python benchmarks/probes/seed_ensemble.py DATASET --seeds 0 1 2 3 [--set JSON]
"""
from __future__ import annotations

import argparse
import json
import time

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
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--set", default="{}", help="JSON overrides of the configuration")
    args = ap.parse_args()
    torch.set_num_threads(1)
    graph = load(args.dataset)
    split = benchmark_split(graph, seed=0)
    pos, neg = [], []
    for seed in args.seeds:
        overrides = json.loads(args.set)
        overrides.setdefault("train", {})["seed"] = seed
        start = time.time()
        fitted = Trainer(from_dict(Config, overrides), progress=False).fit(
            graph, LinkData(split.train, split.val, split.test, split.negatives))
        pos.append(fitted.link_logits(split.test))
        neg.append(fitted.link_logits(split.negatives))
        print(f"seed {seed}: Hits@50 {hits_at_k(pos[-1], neg[-1], 50):.4f}, mean logit of {len(pos)} seed(s) "
              f"{hits_at_k(np.mean(pos, 0), np.mean(neg, 0), 50):.4f} ({time.time() - start:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
