"""The link-prediction suites: ``social``, ``planetoid``, ``seal`` and ``ogb``.

Each returns a partial suite result (see :mod:`socialgraph.bench.report`): per dataset the protocol, sizes,
published anchors, the project's targets, and one :func:`~socialgraph.bench.linkrun.run_link_task` run per seed.
"""
from __future__ import annotations

from typing import Callable

from tqdm.auto import tqdm

from socialgraph.bench.data import first_present, load_graph, present, present_in_family, quick_graph
from socialgraph.bench.linkrun import ALL_METHODS, LinkTask, run_link_task
from socialgraph.bench.options import SuiteOptions
from socialgraph.bench.tasks import benchmark_task, gae_task, ogb_task, seal_task, subsample_task
from socialgraph.data.graph import SocialGraph

SOCIAL = ("lastfm-hetrec-2k", "ego-facebook", "musae-facebook", "twitch-de", "twitch-engb", "ciao")
PLANETOID = ("cora", "citeseer")
PLANETOID_ANCHORS = {"cora": {"GAE auc": 91.0, "NCN hits@100": 89.05},
                     "citeseer": {"GAE auc": 89.5, "NCN hits@100": 91.56}}
PLANETOID_TARGETS = {"cora": {"hits@100": 90.0, "auc": 96.0}, "citeseer": {"hits@100": 93.0}}
SEAL_AUC = {"usair": 97.09, "ns": 98.85, "pb": 95.01, "yeast": 97.91, "celegans": 90.30, "power": 87.61,
            "router": 96.38, "ecoli": 97.64}
OGB_ANCHORS = {"ogbl-ddi": {"GCN hits@20": 37.07, "SAGE hits@20": 53.90, "BUDDY hits@20": 76.54,
                            "NCN hits@20": 82.32, "tuned GAE hits@20": 94.43}}
OGB_TARGETS = {"ogbl-ddi": {"hits@20": 82.3}}


def _run(name: str, graph: SocialGraph, make: Callable[[SocialGraph, int], LinkTask], opts: SuiteOptions,
         select: str = "", **extra) -> dict:
    """``select``: the validation metric that keeps the model's weights when the protocol judges by another one
    than the default's Hits@K (SEAL's AUC): selecting on the judged metric is what every leaderboard entry does."""
    budget = opts.baseline_budget()
    cfg = opts.model_config()
    if select:
        cfg.train.select = select
        extra.setdefault("notes", []).append(f"the model keeps the weights of its best validation {select.upper()} "
                                             f"(train.select: {select}), the protocol's metric.")
    runs, task = [], None
    for seed in tqdm(opts.seeds, desc=name, disable=not opts.progress, leave=False):
        task = make(graph, seed)
        runs.append(run_link_task(task, cfg, seed, ALL_METHODS, budget, progress=opts.progress))
    return {"protocol": task.protocol, "sizes": task.sizes(), "runs": runs, **extra}


def _missing(names) -> dict:
    return {n: "dataset files not present under $SOCIALGRAPH_DATA" for n in names if not present(n)}


def social(opts: SuiteOptions) -> dict:
    """The social graphs under the project's protocol (quick: the 300 best-connected Last.fm users, or Twitch ENGB
    users where Last.fm is absent)."""
    if opts.quick:
        g = quick_graph(first_present("lastfm-hetrec-2k", "twitch-engb"))
        return {"main_metric": "hits@50", "datasets": {g.name: _run(g.name, g, benchmark_task, opts)},
                "skipped": {} if g.name == "lastfm-hetrec-2k" else _missing(["lastfm-hetrec-2k"])}
    datasets = {n: _run(n, load_graph(n), benchmark_task, opts) for n in SOCIAL if present(n)}
    return {"main_metric": "hits@50", "datasets": datasets, "skipped": _missing(SOCIAL)}


def planetoid(opts: SuiteOptions) -> dict:
    """Cora and CiteSeer, GAE protocol and HeaRT existing setting (quick: Cora only)."""
    names = ("cora",) if opts.quick else PLANETOID
    datasets = {n: _run(n, load_graph(n), gae_task, opts, anchors=PLANETOID_ANCHORS[n],
                        targets=PLANETOID_TARGETS[n]) for n in names if present(n)}
    return {"main_metric": "hits@100", "datasets": datasets, "skipped": _missing(names)}


def seal(opts: SuiteOptions) -> dict:
    """Every SEAL graph present, SEAL's 90/10 protocol (quick: USAir only)."""
    names = present_in_family("seal-")
    if opts.quick:
        names = [n for n in names if n == "seal-usair"][:1] or names[:1]
    datasets = {}
    for n in names:
        key = n.split("-", 1)[1]
        anchor = SEAL_AUC.get(key)
        datasets[n] = _run(n, load_graph(n), seal_task, opts, select="auc",
                           anchors={"SEAL auc": anchor} if anchor else {},
                           targets={"auc": anchor} if anchor else {})
    absent = {f"seal-{k}": "file not present (SEAL anchor AUC {:.2f})".format(v) for k, v in SEAL_AUC.items()
              if f"seal-{k}" not in names and not (opts.quick and present(f"seal-{k}"))}
    return {"main_metric": "auc", "datasets": datasets, "skipped": absent}


def ogb(opts: SuiteOptions) -> dict:
    """ogbl-ddi (and any other ogbl set present) with the official split and OGB's evaluator.

    Quick: ogbl-ddi with 1 % of every pair set (the quick numbers are not comparable with OGB's)."""
    names = present_in_family("ogbl-")
    if opts.quick:
        names = names[:1]
    datasets = {}
    for n in names:
        g = load_graph(n)
        task = ogb_task(n, g)
        if opts.quick:
            task = subsample_task(task, 0.01)
        datasets[n] = _run(n, g, lambda _g, _s: task, opts, anchors=OGB_ANCHORS.get(n, {}),
                           targets={} if opts.quick else OGB_TARGETS.get(n, {}))
    skipped = {n: "dataset files not present" for n in ("ogbl-ddi", "ogbl-collab", "ogbl-ppa", "ogbl-citation2")
               if n not in names and not (opts.quick and present(n))}
    return {"main_metric": "hits@20", "datasets": datasets, "skipped": skipped}
