"""Suggestions for users without friends, on real data: how many of their true friends reach their top ``k``.

Protocol: ``--users`` random users with at least two friends lose every friendship (seed ``--seed``); the model is
trained on the rest of the graph, those users keep their features and engagements (someone who listens but has
not added friends yet). Each one then asks :meth:`Predictor.suggest` for ``k`` suggestions, whose candidates can
only come from the nearest neighbours of its embedding. Reported per ``model.link_feature_similarity`` scope: recall
of the removed friendships in the top ``k`` and the share of those users with at least one friend there; beside
them, the same two numbers for ranking every user by the cosine similarity of the raw encoded inputs (a
no-graph baseline, computed on the same model's inputs).

    .venv/bin/python benchmarks/cold_start.py --dataset lastfm-hetrec-2k --scopes off cold all

Writes ``benchmarks/results/cold_start.json`` (one entry per dataset, seed and scope, replaced on rerun).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def friendless_split(graph, users: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(newcomers, kept pairs, removed pairs)``: every friendship of ``users`` random users with >= 2 friends
    is removed."""
    pairs = graph.undirected_pairs()
    deg = np.bincount(pairs.ravel(), minlength=graph.num_users)
    rng = np.random.default_rng(seed)
    newcomers = np.sort(rng.choice(np.flatnonzero(deg >= 2), size=users, replace=False))
    touched = np.isin(pairs, newcomers).any(1)
    return newcomers, pairs[~touched], pairs[touched]


def found(suggested: dict[int, np.ndarray], removed: np.ndarray, newcomers: np.ndarray) -> dict:
    truth = {int(u): set() for u in newcomers}
    for a, b in removed.tolist():
        for u, v in ((a, b), (b, a)):
            if u in truth and v not in truth:  # friends who are themselves newcomers cannot be found
                truth[u].add(v)
    hits = [len(truth[u] & set(suggested[u].tolist())) for u in truth]
    total = [len(truth[u]) for u in truth]
    return {"recall": round(float(np.sum(hits) / max(np.sum(total), 1)), 4),
            "users_with_a_friend_found": round(float(np.mean([h > 0 for h in hits])), 4)}


def run(dataset: str, scopes: list[str], users: int, k: int, seed: int, epochs: int | None) -> list[dict]:
    import torch
    from tqdm import tqdm

    from socialgraph.data import load
    from socialgraph.predictor import Predictor
    from socialgraph.bundle.config import Config
    from socialgraph.train.trainer import Trainer

    graph = load(dataset)
    newcomers, kept, removed = friendless_split(graph, users, seed)
    train_graph = graph.with_friends(kept)
    out = []
    for scope in scopes:
        cfg = Config()
        cfg.model.link_feature_similarity = scope
        cfg.train.seed, cfg.train.threads = seed, 1
        if epochs:
            cfg.train.epochs = epochs
        t = time.time()
        fitted = Trainer(cfg, progress=True).fit(train_graph)
        seconds = time.time() - t
        predictor = Predictor(fitted)
        ids = np.asarray(graph.user_ids)
        suggested = {}
        for u in tqdm(newcomers.tolist(), desc=f"{dataset} {scope}: suggestions", leave=False):
            uid = ids[u].item() if hasattr(ids[u], "item") else ids[u]
            got = predictor.suggest(uid, k=k)
            suggested[u] = predictor.rows([s.user_id for s in got]) if got else np.zeros(0, np.int64)
        entry = {"dataset": dataset, "seed": seed, "scope": scope, "newcomers": int(len(newcomers)), "k": k,
                 "removed_pairs": int(len(removed)), "train_seconds": round(seconds, 1),
                 "best_val_hits@20_50_100": fitted.metrics.get("best_val_hits@20_50_100"),
                 **found(suggested, removed, newcomers)}
        out.append(entry)
        print(json.dumps(entry), flush=True)
    # No-graph baseline: cosine of the concatenated, per-modality normalised raw inputs.
    users_in = fitted.encoded.users
    parts = [torch.nn.functional.normalize(x, dim=1) * m.unsqueeze(1) for x, m in
             ((users_in.x[name], users_in.mask[name].float()) for name in users_in.x)]
    x = torch.nn.functional.normalize(torch.cat(parts, 1), dim=1).numpy()
    sims = x[newcomers] @ x.T
    sims[np.arange(len(newcomers)), newcomers] = -np.inf
    top = np.argsort(-sims, axis=1)[:, :k]
    base = {"dataset": dataset, "seed": seed, "scope": "raw-input-cosine", "newcomers": int(len(newcomers)), "k": k,
            **found(dict(zip(newcomers.tolist(), top)), removed, newcomers)}
    print(json.dumps(base), flush=True)
    return out + [base]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="lastfm-hetrec-2k")
    ap.add_argument("--scopes", nargs="+", default=["off", "cold", "all"])
    ap.add_argument("--users", type=int, default=150, help="users who lose every friendship")
    ap.add_argument("--k", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=None, help="default: the training configuration's")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "cold_start.json")
    args = ap.parse_args()
    results = run(args.dataset, args.scopes, args.users, args.k, args.seed, args.epochs)
    old = json.loads(args.out.read_text())["runs"] if args.out.exists() else []
    fresh = {(r["dataset"], r["seed"], r["scope"]) for r in results}
    runs = [r for r in old if (r["dataset"], r["seed"], r["scope"]) not in fresh] + results
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(json.dumps({"command": " ".join(["benchmarks/cold_start.py", *sys.argv[1:]]), "runs": runs},
                              indent=1))
    tmp.replace(args.out)


if __name__ == "__main__":
    main()
