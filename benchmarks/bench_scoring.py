"""Scoring speed of the Predictor with the full link scorer (embeddings, common-neighbour pooling, structure).

Measures batched throughput (pairs/s over random pairs and over friends-of-friends candidate pairs, best of 3,
with one torch thread and with the default number) and the latency of one ``Predictor.score(u, v)`` call (p50 / p99 over 2,000 calls, embeddings cached).

    .venv/bin/python benchmarks/bench_scoring.py --bundle models/lastfm        # an existing bundle
    .venv/bin/python benchmarks/bench_scoring.py --users 5000 --epochs 2      # trains a synthetic one first

Writes ``benchmarks/results/scoring.json``.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bundle", type=Path, default=None)
    ap.add_argument("--dataset", default=None, help="train on this dataset instead of a synthetic graph")
    ap.add_argument("--users", type=int, default=5000)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--pairs", type=int, default=500_000)
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--note", default="", help="free text stored with the results (how the bundle was trained)")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "scoring.json")
    args = ap.parse_args()

    import torch

    from socialgraph.predictor import Predictor
    from socialgraph.data.adjacency import friends_of_friends

    setup = {}
    if args.bundle is None:
        from socialgraph.bundle.format import save_bundle
        from socialgraph.bundle.config import Config
        from socialgraph.train.trainer import Trainer

        if args.dataset:
            from socialgraph.data import load

            graph = load(args.dataset)
        else:
            from socialgraph.synth import generate

            graph = generate(users=args.users, mean_degree=20, seed=0)
        cfg = Config()
        cfg.train.epochs = args.epochs
        cfg.encoders.text = "tfidf"  # the scoring path is measured here, not the text model
        t = time.time()
        args.bundle = save_bundle(Trainer(cfg, progress=True).fit(graph), Path(tempfile.mkdtemp()) / "bundle")
        setup = {"graph": graph.name, "train_seconds": round(time.time() - t, 1)}
    p = Predictor.load(args.bundle)
    n = p.num_users
    rng = np.random.default_rng(0)
    p.embeddings()
    results = {"bundle": str(args.bundle), "users": n, "friend_pairs": int(p.adjacency.nnz // 2),
               "link_completion": p.fitted.model.config.link_completion,
               "torch_threads": torch.get_num_threads(), **setup}
    random_pairs = rng.integers(0, n, (args.pairs, 2))
    users = rng.choice(n, size=min(n, args.pairs // 30), replace=False)
    cand = friends_of_friends(p.adjacency, users, 30)
    fof_pairs = np.stack([np.repeat(users, cand.shape[1]), cand.ravel()], 1)
    fof_pairs = fof_pairs[fof_pairs[:, 1] >= 0]
    threads_default = torch.get_num_threads()
    for threads in sorted({1, threads_default}):
        torch.set_num_threads(threads)
        p.calibration(p.link_logits(fof_pairs[:1000]))  # compile / warm up
        for name, pairs in (("random", random_pairs), ("fof_candidates", fof_pairs)):
            best = np.inf
            for _ in range(3):
                t = time.perf_counter()
                p.calibration(p.link_logits(pairs))
                best = min(best, time.perf_counter() - t)
            results[f"batched_{name}_pairs"] = int(len(pairs))
            results.setdefault(f"batched_{name}_pairs_per_second_by_threads", {})[threads] = round(len(pairs) / best)
    for name in ("random", "fof_candidates"):
        results[f"batched_{name}_pairs_per_second"] = max(results[f"batched_{name}_pairs_per_second_by_threads"].values())
    torch.set_num_threads(threads_default)
    ids = np.asarray(p.graph.user_ids)
    calls = ids[rng.integers(0, n, (args.calls, 2))].tolist()
    for u, v in calls[:50]:
        p.score(u, v)  # warm-up
    lat = []
    for u, v in calls:
        t = time.perf_counter()
        p.score(u, v)
        lat.append(time.perf_counter() - t)
    results["score_call_p50_ms"] = round(float(np.median(lat)) * 1e3, 3)
    results["score_call_p99_ms"] = round(float(np.percentile(lat, 99)) * 1e3, 3)
    results["note"] = args.note
    results["targets"] = {"batched>=200k/s": results["batched_fof_candidates_pairs_per_second"] >= 200_000,
                          "score_p50<=2ms": results["score_call_p50_ms"] <= 2.0}
    dest = args.out
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(json.dumps(results, indent=1))
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
