"""Recall of the suggestion job's candidate generators: the share of held-out true friendships that reach the
re-ranker from friends-of-friends alone, nearest neighbours of the embeddings alone, and both; plus the share kept
in the final top-k after re-ranking.

Protocol: 10% of friend pairs are held out (seed 0) and removed from the graph; a model is trained on the rest;
each held-out pair counts twice (``v`` among ``u``'s candidates, ``u`` among ``v``'s).

    .venv/bin/python benchmarks/candidate_recall.py --datasets lastfm-hetrec-2k ego-facebook --epochs 10

Writes ``benchmarks/results/candidate_recall.json``.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def recall(graph_name: str, epochs: int, fof: int, ann: int, k: int, seed: int) -> dict:
    from socialgraph.data import load
    from socialgraph.data.adjacency import friends_of_friends
    from socialgraph.predictor import CandidateConfig, Predictor
    from socialgraph.predictor.candidates import ann_candidates
    from socialgraph.bundle.config import Config
    from socialgraph.train.trainer import Trainer

    graph = load(graph_name)
    pairs = graph.undirected_pairs()
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(pairs))
    held = pairs[perm[: len(pairs) // 10]]
    train_graph = graph.with_friends(pairs[perm[len(pairs) // 10:]])
    cfg = Config()
    cfg.train.epochs, cfg.train.seed = epochs, seed
    t = time.time()
    fitted = Trainer(cfg, progress=False).fit(train_graph)
    train_seconds = time.time() - t
    predictor = Predictor(fitted, candidate_config=CandidateConfig(k=k, fof=fof, ann=ann, seed=seed))
    pipeline = predictor.suggestion_pipeline()  # what Predictor.suggest and the job run
    targets = np.r_[held, held[:, ::-1]]
    users = np.unique(targets[:, 0])
    where = {u: i for i, u in enumerate(users.tolist())}
    f = friends_of_friends(pipeline.seen, users, fof)
    a = ann_candidates(pipeline.index, pipeline.unit, users, ann)
    rows = np.array([where[u] for u in targets[:, 0].tolist()])
    in_f = (f[rows] == targets[:, 1:2]).any(1)
    in_a = (a[rows] == targets[:, 1:2]).any(1)
    top = pipeline.run(users).frame(pipeline.user_ids)
    id_row = {u: i for i, u in enumerate(np.asarray(graph.user_ids).tolist())}
    final = set(zip([id_row[x] for x in top.user_id.tolist()], [id_row[x] for x in top.candidate_id.tolist()]))
    in_top = np.array([(u, v) in final for u, v in targets.tolist()])
    return {"dataset": graph_name, "users": graph.num_users, "held_out_pairs": int(len(held)),
            "fof_cap": fof, "ann_k": ann, "k": k, "train_seconds": round(train_seconds, 1),
            "recall_fof": round(float(in_f.mean()), 4), "recall_ann": round(float(in_a.mean()), 4),
            "recall_both": round(float((in_f | in_a).mean()), 4),
            f"recall_final_top{k}": round(float(in_top.mean()), 4),
            "candidates_per_user": round(float(((f >= 0).sum() + (a >= 0).sum()) / len(users)), 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", nargs="+", default=["lastfm-hetrec-2k", "ego-facebook"])
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--fof", type=int, default=30)
    ap.add_argument("--ann", type=int, default=20)
    ap.add_argument("--k", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    results = []
    for name in args.datasets:
        r = recall(name, args.epochs, args.fof, args.ann, args.k, args.seed)
        print(json.dumps(r), flush=True)
        results.append(r)
    dest = ROOT / "benchmarks" / "results" / "candidate_recall.json"
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
