"""The ``engagement`` and ``preference`` suites: the trainer's own test metrics beside simple baselines.

The model is trained by :class:`~socialgraph.train.trainer.Trainer` on the project's link split; its engagement and
preference heads are evaluated by the trainer (``FittedModel.metrics["test"]``). The baselines re-create the
trainer's held-out sets from the same public functions and seeds (engagements: ``split_engagements(graph,
"per_user", val=0, test=0.1, seed)``; preference: 10 % of the users with categories, drawn with ``seed + 7``) and
record the number of evaluated users / ratings next to the model's, so a drift between the two shows in the JSON.

Preference from a user column (Last.fm tags): the trainer hides the held-out users' own column from their inputs
while training, but its test metric scores them with every input present, their own tags included, which reads the
answer. The suite therefore scores the held-out users itself with that column hidden, as in training
(:func:`preference_hidden_column`), and keeps the trainer's number as ``trainer_test`` beside it.
"""
from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Optional

import numpy as np
import torch
from tqdm.auto import tqdm

from socialgraph.bench.data import SYNTHETIC, first_present, load_graph, present, quick_graph
from socialgraph.bench.linkrun import fit_model
from socialgraph.bench.options import SuiteOptions
from socialgraph.bench.recsys import category_popularity_ndcg, engagement_baselines
from socialgraph.bench.runinfo import Stopwatch
from socialgraph.bench.tasks import benchmark_task
from socialgraph.data.graph import SocialGraph
from socialgraph.data.splits import split_engagements
from socialgraph.train.trainer import Trainer

if TYPE_CHECKING:
    from socialgraph.bundle.fitted import FittedModel

ENGAGEMENT = ("lastfm-hetrec-2k", "ciao", "movielens-100k")
PREFERENCE = ("lastfm-hetrec-2k", "movielens-100k")


def _model_metrics(graph: SocialGraph, opts: SuiteOptions, seed: int) -> tuple[dict, "FittedModel"]:
    with Stopwatch() as t:
        if graph.num_friend_pairs:
            fitted, _ = fit_model(benchmark_task(graph, seed), opts.model_config(), seed)
        else:  # engagement-only data (MovieLens): the trainer learns the content heads alone
            config = opts.model_config()
            fitted = Trainer(replace(config, train=replace(config.train, seed=seed)), progress=False).fit(graph)
    return {"metrics": fitted.metrics.get("test", {}), "fit_seconds": round(t.seconds, 2),
            "kind": fitted.engagement_kind}, fitted


def _graphs(names, opts: SuiteOptions) -> tuple[dict[str, SocialGraph], dict[str, str]]:
    if opts.quick:  # Last.fm's best-connected users, or a synthetic graph with content where Last.fm is absent
        name = first_present("lastfm-hetrec-2k", SYNTHETIC)
        g = quick_graph(name)
        return {g.name: g}, {n: "not part of --quick" if present(n) else "dataset files not present under "
                             "$SOCIALGRAPH_DATA" for n in names if n != name}
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
            m, _ = _model_metrics(g, opts, seed)
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
        runs, notes = [], []
        for seed in tqdm(opts.seeds, desc=name, disable=not opts.progress, leave=False):
            m, fitted = _model_metrics(g, opts, seed)
            pref = m["metrics"].get("preference", {})
            model = {"test": pref, "fit_seconds": m["fit_seconds"]}
            if source.startswith("users:"):
                t = preference_targets(g, source)
                hidden = preference_hidden_column(fitted, source, held_out_users(t.matrix, seed), t.matrix)
                if hidden is not None:
                    model = {"test": hidden, "trainer_test": pref, "fit_seconds": m["fit_seconds"]}
            base = _category_popularity(g, source, seed, preference_targets)
            runs.append({"methods": {"model": model, "popularity": {"test": base}}})
        trainer = [r["methods"]["model"]["trainer_test"].get("ndcg@10") for r in runs
                   if "trainer_test" in r["methods"]["model"]]
        if trainer:
            notes.append(f"model: NDCG@10 of the held-out users scored with their own `{source.split(':', 1)[1]}` "
                         "column hidden, as in training. The trainer's own test metric scores them with that column "
                         f"visible, i.e. it reads the answer: ndcg@10 {', '.join(f'{100 * v:.2f}' for v in trainer)} "
                         "(seed by seed, JSON `trainer_test`), not a measurement.")
        datasets[name] = {"protocol": f"held-out categories from {source}", "runs": runs, "notes": notes}
    return {"main_metric": "ndcg@10", "datasets": datasets, "skipped": skipped}


def held_out_users(matrix, seed: int) -> Optional[np.ndarray]:
    """The users whose categories a user-column preference target holds out: 10 % of those with any, drawn with
    ``seed + 7`` as the trainer draws them (``None`` when 10 or fewer users have categories, as there)."""
    has = np.flatnonzero(np.diff(matrix.indptr) > 0)
    if len(has) <= 10:
        return None
    rng = np.random.default_rng(seed + 7)
    return np.sort(rng.choice(has, size=max(1, len(has) // 10), replace=False))


def preference_hidden_column(fitted, source: str, held: Optional[np.ndarray], matrix) -> Optional[dict]:
    """NDCG@10 of the preference head for the ``held`` users with their own ``source`` column (``users:COL``) hidden
    from the model's inputs, as the trainer hides it while training; ``None`` when there is nothing to hide (no held
    users, or the column is not an input)."""
    from socialgraph.eval.metrics import ndcg_at_k, top_k_items

    modality = "multihot:" + source.split(":", 1)[1]
    users = fitted.encoded.users
    if held is None or not len(held) or fitted.model.preference is None or modality not in users.mask:
        return None
    mask = dict(users.mask)
    mask[modality] = mask[modality].clone()
    mask[modality][torch.from_numpy(held)] = False
    saved = fitted.encoded
    fitted.encoded = replace(saved, users=replace(users, mask=mask))
    fitted.invalidate()
    try:
        ranked = top_k_items(fitted.preference_scores(held), 10)
    finally:
        fitted.encoded = saved
        fitted.invalidate()
    return {"ndcg@10": ndcg_at_k(ranked, matrix[held], 10), "users": int(len(held)), "source": source}


def _category_popularity(g: SocialGraph, source: str, seed: int, preference_targets) -> dict:
    if source.startswith("users:"):
        t = preference_targets(g, source)
        has = np.flatnonzero(np.diff(t.matrix.indptr) > 0)
        held = held_out_users(t.matrix, seed)
        if held is None:
            return {}
        return {"ndcg@10": category_popularity_ndcg(t.matrix, np.setdiff1d(has, held), held), "users": len(held)}
    split = split_engagements(g, "per_user", val=0.0, test=0.10, seed=seed)
    tr = preference_targets(g, source, split.train)
    te = preference_targets(g, source, split.test, names=tr.names)
    users = np.flatnonzero(np.diff(te.matrix.indptr) > 0)
    mass = np.asarray(tr.matrix.sum(0)).ravel()
    from socialgraph.eval.metrics import ndcg_at_k

    ranked = np.ascontiguousarray(np.broadcast_to(np.argsort(-mass, kind="stable")[:10], (len(users), 10)))
    return {"ndcg@10": ndcg_at_k(ranked, te.matrix[users], 10), "users": int(len(users))}
