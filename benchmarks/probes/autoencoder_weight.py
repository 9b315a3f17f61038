"""Probe: how much of the graph autoencoder's score should the link logit add (``model.link_autoencoder_weight``)?

Trains the default model with the autoencoder term (``model.link_autoencoder: 64``) on the project's own benchmark split of a dataset (85/5/10, split seed 0: not the split of
``../shared/tools/lp_check.py`` that the issue's numbers are measured on), then scores the test pairs with the
scorer alone and with ``scorer + m * (sigma_scorer / sigma_g) * g`` for several multiples ``m`` (the spreads over
the test non-edges, which needs no labels), beside the weight training chose on its held-out half of the validation
friendships. Prints and appends one JSON line per run.

Usage: .venv/bin/python benchmarks/probes/autoencoder_weight.py DATASET [--seed S] [--dim D] [--log FILE]
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from socialgraph.data import load
from socialgraph.data.protocol import benchmark_split, evaluate_link_scores
from socialgraph.model.autoencoder import GraphAutoencoder
from socialgraph.train.config import Config
from socialgraph.train.trainer import LinkData, Trainer

MULTIPLES = (0.0, 0.0625, 0.125, 0.25, 0.5, 1.0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dataset")
    ap.add_argument("--seed", type=int, default=0, help="training seed (the split is always seed 0)")
    ap.add_argument("--dim", type=int, default=64, help="model.link_autoencoder")
    ap.add_argument("--log", default=None)
    a = ap.parse_args()
    torch.set_num_threads(1)
    graph = load(a.dataset)
    split = benchmark_split(graph, seed=0)
    cfg = Config()
    cfg.model.link_autoencoder = a.dim
    cfg.train.seed = a.seed
    t = time.time()
    fitted = Trainer(cfg, progress=False).fit(graph, LinkData(split.train, split.val, split.test, split.negatives))
    seconds = time.time() - t
    model = fitted.model
    weight = float(model.autoencoder_weight)
    model.autoencoder_weight.zero_()
    fitted.invalidate()
    pairs = np.r_[split.test, split.negatives]
    scorer = fitted.link_logits(pairs)
    model.autoencoder_weight.fill_(1.0)  # any non-zero weight, so that the states are computed
    fitted.invalidate()
    fitted.embeddings()
    g = GraphAutoencoder.score(fitted.encoded.users.autoencoder, torch.from_numpy(pairs)).numpy()
    nt = len(split.test)
    unit = float(scorer[nt:].std() / g[nt:].std())
    s = scorer + weight * g
    out = {"dataset": a.dataset, "seed": a.seed, "train_seconds": round(seconds, 1),
           "chosen": {"multiple": round(weight / unit, 4), "test_hits@50":
                      round(evaluate_link_scores(s[:nt], s[nt:], ks=(50,))["hits@50"], 4)},
           "recorded": fitted.metrics.get("autoencoder"), "test_hits@50": {}}
    for m in MULTIPLES:
        s = scorer + m * unit * g
        out["test_hits@50"][str(m)] = round(evaluate_link_scores(s[:nt], s[nt:], ks=(50,))["hits@50"], 4)
    print(json.dumps(out))
    if a.log:
        with open(a.log, "a") as f:
            f.write(json.dumps(out) + "\n")


if __name__ == "__main__":
    main()
