"""The ``engagement`` and ``preference`` suites: the trainer's own test metrics beside simple baselines.

The model is trained by :class:`~socialgraph.train.trainer.Trainer` on the project's link split; its engagement and
preference heads are evaluated by the trainer (``FittedModel.metrics["test"]``). The baselines re-create the
trainer's held-out sets from the same public functions and seeds (engagements: ``split_engagements(graph,
"per_user", val=0, test=0.1, seed)``; preference: 10 % of the users with categories, drawn with ``seed + 7``) and
record the number of evaluated users / ratings next to the model's, so a drift between the two shows in the JSON.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
from tqdm.auto import tqdm

from socialgraph.bench.data import load_graph, present, quick_graph
from socialgraph.bench.linkrun import fit_model
from socialgraph.bench.options import SuiteOptions
from socialgraph.bench.recsys import category_popularity_ndcg, engagement_baselines
from socialgraph.bench.runinfo import Stopwatch
from socialgraph.bench.tasks import benchmark_task
from socialgraph.data.graph import SocialGraph
from socialgraph.data.splits import split_engagements
from socialgraph.train.trainer import Trainer

ENGAGEMENT = ("lastfm-hetrec-2k", "ciao", "movielens-100k")
PREFERENCE = ("lastfm-hetrec-2k", "movielens-100k")


def _model_metrics(graph: SocialGraph, opts: SuiteOptions, seed: int) -> dict:
    with Stopwatch() as t:
        if graph.num_friend_pairs:
            fitted, _ = fit_model(benchmark_task(graph, seed), opts.model_config(), seed)
        else:  # engagement-only data (MovieLens): the trainer learns the content heads alone
            config = opts.model_config()
            fitted = Trainer(replace(config, train=replace(config.train, seed=seed)), progress=False).fit(graph)
    return {"metrics": fitted.metrics.get("test", {}), "fit_seconds": round(t.seconds, 2),
            "kind": fitted.engagement_kind}


def _graphs(names, opts: SuiteOptions) -> tuple[dict[str, SocialGraph], dict[str, str]]:
    if opts.quick:
        g = quick_graph("lastfm-hetrec-2k")
        return {g.name: g}, {n: "not part of --quick" for n in names if n != "lastfm-hetrec-2k"}
    graphs, skipped = {}, {}
    for n in names:
        if not present(n):
            skipped[n] = "dataset files not present under $SOCIALGRAPH_DATA"
            continue
        graphs[n] = load_graph(n)
    return graphs, skipped


def engagement(opts: SuiteOptions) -> dict:
    """Last.fm listens (Recall@20, NDCG@20), Ciao and MovieLens-100K ratings (RMSE, MAE)."""
    graphs, skipped = _graphs(ENGAGEMENT, opts)
    datasets = {}
    for name, g in graphs.items():
        runs = []
        for seed in tqdm(opts.seeds, desc=name, disable=not opts.progress, leave=False):
            m = _model_metrics(g, opts, seed)
            eng = m["metrics"].get("engagement")
            split = split_engagements(g, "per_user", val=0.0, test=0.10, seed=seed)
            explicit = m["kind"] == "explicit"
            with Stopwatch() as t:
                base = engagement_baselines(g, split.train, split.test, explicit=explicit,
                                            steps=20 if opts.quick else 300, seed=seed)
            methods = {"model": {"test": eng or {}, "fit_seconds": m["fit_seconds"]}}
            methods.update({k: {"test": v, "fit_seconds": round(t.seconds, 2)} for k, v in base.items()})
            runs.append({"methods": methods, "kind": m["kind"]})
        kind = runs[0]["kind"]
        datasets[name] = {"protocol": f"per-user 10 % held-out engagements ({kind})", "runs": runs,
                          "sizes": {"users": g.num_users, "items": g.num_items, "engagements": g.num_engagements}}
    main = "recall@20"
    return {"main_metric": main, "datasets": datasets, "skipped": skipped,
            "notes": ["Implicit feedback: Recall@20 / NDCG@20 (higher is better); ratings: RMSE / MAE (lower is "
                      "better)."]}


def preference(opts: SuiteOptions) -> dict:
    """Last.fm tags (held-out users), MovieLens genres (held-out ratings' genres): NDCG@10."""
    from socialgraph.train.targets import find_preference_source, preference_targets

    graphs, skipped = _graphs(PREFERENCE, opts)
    datasets = {}
    for name, g in graphs.items():
        source = find_preference_source(g)
        if source is None:
            skipped[name] = "no category column to learn preferences from"
            continue
        runs = []
        for seed in tqdm(opts.seeds, desc=name, disable=not opts.progress, leave=False):
            m = _model_metrics(g, opts, seed)
            pref = m["metrics"].get("preference", {})
            base = _category_popularity(g, source, seed, preference_targets)
            runs.append({"methods": {"model": {"test": pref, "fit_seconds": m["fit_seconds"]},
                                     "popularity": {"test": base}}})
        datasets[name] = {"protocol": f"held-out categories from {source}", "runs": runs}
    return {"main_metric": "ndcg@10", "datasets": datasets, "skipped": skipped}


def _category_popularity(g: SocialGraph, source: str, seed: int, preference_targets) -> dict:
    if source.startswith("users:"):
        t = preference_targets(g, source)
        has = np.flatnonzero(np.diff(t.matrix.indptr) > 0)
        rng = np.random.default_rng(seed + 7)
        held = np.sort(rng.choice(has, size=max(1, len(has) // 10), replace=False))
        return {"ndcg@10": category_popularity_ndcg(t.matrix, np.setdiff1d(has, held), held), "users": len(held)}
    split = split_engagements(g, "per_user", val=0.0, test=0.10, seed=seed)
    tr = preference_targets(g, source, split.train)
    te = preference_targets(g, source, split.test, names=tr.names)
    users = np.flatnonzero(np.diff(te.matrix.indptr) > 0)
    mass = np.asarray(tr.matrix.sum(0)).ravel()
    from socialgraph.eval.metrics import ndcg_at_k

    ranked = np.ascontiguousarray(np.broadcast_to(np.argsort(-mass, kind="stable")[:10], (len(users), 10)))
    return {"ndcg@10": ndcg_at_k(ranked, te.matrix[users], 10), "users": int(len(users))}
