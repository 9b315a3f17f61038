"""The ``speed`` suite: how long training takes beside PyG's GCN autoencoder and to beat the best heuristic, scoring
throughput, peak memory.

On each dataset the model is trained once per seed on the project's split; its ``Trainer.history`` holds validation
Hits@50 and elapsed seconds at every evaluation. The reference is the best of the heuristics' validation Hits@50,
measured on the training graph (what the trainer's validation sees) against validation negatives drawn exactly
like the trainer's (``max(1000, min(10000, 10 |val|))`` uniform non-edges of every link, seed ``seed + 1``).
``seconds_to_best_heuristic`` is the first evaluation at or above it (missing when never reached). Throughput is
test pairs scored per second by ``FittedModel.link_logits`` (embeddings cached) and by each heuristic; memory is
the process's peak resident set (``getrusage``) after the dataset. Beside the model, on the same split and in the
same process, PyG's GCN autoencoder trains its 300 full-batch epochs (``gcn-gae``, as in the ``social`` suite):
``seconds_vs_gae`` is the model's training seconds over the autoencoder's, next to both test Hits@50.
"""
from __future__ import annotations

import numpy as np
from tqdm.auto import tqdm

from socialgraph.bench.data import first_present, load_graph, present, quick_graph
from socialgraph.bench.linkrun import HEURISTICS, adjacency, run_link_task
from socialgraph.bench.options import SuiteOptions
from socialgraph.bench.runinfo import peak_rss_mib
from socialgraph.bench.tasks import benchmark_task
from socialgraph.data.negatives import uniform_negatives
from socialgraph.eval.link import evaluate_link_scores
from socialgraph.eval.heuristics import score_pairs

DATASETS = ("lastfm-hetrec-2k", "twitch-engb", "musae-facebook")


def best_heuristic_val(task, seed: int) -> tuple[str, float]:
    n = task.graph.num_users
    neg = uniform_negatives(n, max(1000, min(10_000, 10 * len(task.val))), np.r_[task.train, task.val, task.test],
                            seed=seed + 1)
    adj = adjacency(task.train, n)
    scores = {m: evaluate_link_scores(score_pairs(adj, task.val, m), score_pairs(adj, neg, m), ks=(50,))["hits@50"]
              for m in HEURISTICS}
    best = max(scores, key=scores.get)
    return best, scores[best]


def _reached_note(run: dict) -> str:
    t = run["methods"]["model"]["test"]
    ref = f"{run['best_heuristic']}'s validation Hits@50 ({100 * run['best_heuristic_val_hits@50']:.2f})"
    if t["reached"]:
        return (f"seed {run['seed']}: the model reached {ref} after {t['seconds_to_best_heuristic']:.1f} s of "
                f"{t['train_seconds']:.1f} s of training")
    return (f"seed {run['seed']}: the model did not reach {ref} in {t['train_seconds']:.1f} s of training "
            f"(best {100 * t['best_val_hits@50']:.2f})")


def speed(opts: SuiteOptions) -> dict:
    names = (first_present(*DATASETS),) if opts.quick else tuple(n for n in DATASETS if present(n))
    datasets = {}
    for name in names:
        g = quick_graph(name) if opts.quick else load_graph(name)
        runs = []
        for seed in tqdm(opts.seeds, desc=name, disable=not opts.progress, leave=False):
            task = benchmark_task(g, seed)
            ref_name, ref = best_heuristic_val(task, seed)
            r = run_link_task(task, opts.model_config(), seed, ["model", ref_name, "gcn-gae"], opts.baseline_budget())
            model, gae = r["methods"]["model"], r["methods"]["gcn-gae"]
            hist = model.get("history", [])
            reached = [e["seconds"] for e in hist if e["val_hits@50"] >= ref]
            model["test"] = {"seconds_to_best_heuristic": reached[0] if reached else float("nan"),
                             "reached": float(bool(reached)), "train_seconds": model["fit_seconds"],
                             "best_val_hits@50": max((e["val_hits@50"] for e in hist), default=float("nan")),
                             "pairs_per_second": model["pairs_per_second"], "peak_rss_mib": peak_rss_mib(),
                             "test_hits@50": model["test"]["hits@50"],
                             "seconds_vs_gae": model["fit_seconds"] / gae["fit_seconds"]}
            gae["test"] = {"train_seconds": gae["fit_seconds"], "test_hits@50": gae["test"]["hits@50"],
                           "pairs_per_second": gae["pairs_per_second"]}
            gae.pop("buckets", None)
            h = r["methods"][ref_name]
            h["test"] = {"val_hits@50": ref, "train_seconds": h["fit_seconds"],
                         "pairs_per_second": h["pairs_per_second"]}
            h.pop("buckets", None)
            model.pop("buckets", None)
            r["seed"], r["best_heuristic"], r["best_heuristic_val_hits@50"] = seed, ref_name, ref
            runs.append(r)
        datasets[g.name] = {"protocol": "benchmark", "sizes": runs[0]["sizes"], "runs": runs,
                            "notes": [_reached_note(r) for r in runs]}
    skipped = {n: "dataset files not present under $SOCIALGRAPH_DATA" for n in DATASETS if not present(n)}
    return {"main_metric": "seconds_to_best_heuristic", "datasets": datasets, "skipped": skipped}
