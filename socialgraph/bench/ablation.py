"""The ``ablation`` suite on Last.fm (HetRec 2k): which parts of the model matter for link prediction.

Variants, each trained from scratch on the same split and scored against the same negatives:

* ``full``: the configuration as given;
* ``conv=mean`` / ``conv=transformer``: mean aggregation (no attention) / Transformer attention instead of GATv2;
* ``no-reconstruction``: ``loss.feature_reconstruction = loss.adjacency_reconstruction = 0``;
* ``no-positions``: the link scorer without spectral positions (``model.link_spectral = 0``);
* ``fusion=sum`` / ``fusion=concat`` (and ``fusion=attention`` when the given fusion is another one);
* ``-<modality>``: one user modality removed (its columns lose their role; ``-interactions`` drops engagements).
"""
from __future__ import annotations

import copy
from dataclasses import replace

from tqdm.auto import tqdm

from socialgraph.bench.data import SYNTHETIC, first_present, load_graph, quick_graph
from socialgraph.bench.linkrun import run_link_task
from socialgraph.bench.options import SuiteOptions
from socialgraph.bench.subgraph import user_modalities, without_modality
from socialgraph.bench.tasks import benchmark_task
from socialgraph.bundle.config import Config

DATASET = "lastfm-hetrec-2k"
QUICK = ("full", "conv=mean", "no-reconstruction", "fusion=sum", "-interactions")


def variants(config: Config, modalities: list[str]) -> dict[str, tuple[Config, str | None]]:
    """``{name: (config, modality to drop or None)}``."""
    out: dict[str, tuple[Config, str | None]] = {"full": (config, None)}

    def edit(fn) -> Config:
        c = copy.deepcopy(config)
        fn(c)
        return c

    for conv in ("mean", "transformer", "gat", "gatv2"):
        if conv != config.model.conv:
            out[f"conv={conv}"] = (edit(lambda c: setattr(c.model, "conv", conv)), None)
    out["no-reconstruction"] = (edit(lambda c: (setattr(c.loss, "feature_reconstruction", 0.0),
                                                setattr(c.loss, "adjacency_reconstruction", 0.0))), None)
    if config.model.link_spectral:
        out["no-positions"] = (edit(lambda c: setattr(c.model, "link_spectral", 0)), None)
    for fusion in ("attention", "sum", "concat"):
        if fusion != config.model.fusion:
            out[f"fusion={fusion}"] = (edit(lambda c: setattr(c.model, "fusion", fusion)), None)
    for m in modalities:
        out[f"-{m}"] = (config, m)
    return out


def ablation(opts: SuiteOptions) -> dict:
    graph = quick_graph(first_present(DATASET, SYNTHETIC), 200) if opts.quick else load_graph(DATASET)
    base = opts.model_config()
    if opts.quick:
        base.train.epochs = 1
    runs = []
    for seed in opts.seeds:
        task = benchmark_task(graph, seed)
        methods = {}
        todo = variants(base, user_modalities(graph))
        if opts.quick:  # one variant per axis
            todo = {k: v for k, v in todo.items() if k in QUICK}
        for name, (cfg, drop) in tqdm(todo.items(), desc=f"ablation seed {seed}", disable=not opts.progress):
            t = task if drop is None else replace(task, graph=without_modality(graph, drop))
            r = run_link_task(t, cfg, seed, ["model"])
            methods[name] = r["methods"]["model"]
            methods[name].pop("history", None)
        runs.append({"methods": methods})
    return {"main_metric": "hits@50", "skipped": {},
            "datasets": {graph.name: {"protocol": "benchmark", "sizes": task.sizes(), "runs": runs}}}
