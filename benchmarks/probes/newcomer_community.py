"""Probe: do friendless newcomers get suggestions from their own planted community?

Trains a small model (dim 32, TF-IDF text) on a 1,000-user synthetic graph with 16 planted communities, then adds
three members of each of eight communities as brand-new users with their features and no friends (a fresh
predictor each, so earlier newcomers are not candidates) and reports the share of their 10 suggestions from their
own community (chance: about 0.06). The test ``test_cold_start_user_gets_its_community`` asks the same of the
default at 4 epochs.

Usage: .venv/bin/python benchmarks/probes/newcomer_community.py [--scope off|cold|all] [--epochs 8] [--seed 0]
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time

import numpy as np

from socialgraph.bench.newcomers import newcomer_community_share
from socialgraph.synth import generate
from socialgraph.bundle.format import save_bundle
from socialgraph.bundle.config import Config
from socialgraph.train.trainer import Trainer


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scope", default=None, help="model.link_feature_similarity (default: the configuration's)")
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    cfg = Config()
    cfg.model.dim = 32
    cfg.train.epochs, cfg.train.eval_every, cfg.train.threads, cfg.train.seed = args.epochs, 2, 1, args.seed
    cfg.encoders.text = "tfidf"  # synthetic bios are made-up words
    if args.scope:
        cfg.model.link_feature_similarity = args.scope
    t = time.time()
    fitted = Trainer(cfg, progress=False).fit(generate(users=1000, mean_degree=16, seed=0))
    with tempfile.TemporaryDirectory() as tmp:
        share = newcomer_community_share(save_bundle(fitted, f"{tmp}/model"))
    print(json.dumps({"scope": cfg.model.link_feature_similarity, "epochs": args.epochs, "seed": args.seed,
                      "own_community_share": round(float(np.mean(share)), 3), "seconds": round(time.time() - t)}))


if __name__ == "__main__":
    main()
