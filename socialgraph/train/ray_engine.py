"""Data-parallel training on Ray Train: ``socialgraph train --engine ray --workers N``.

:class:`ray.train.torch.TorchTrainer` starts ``N`` workers and joins them in a ``torch.distributed`` process group
(gloo, or NCCL with ``use_gpu``); each runs :class:`~socialgraph.train.trainer.Trainer` on the same graph, which
finds the group and trains data-parallel (:mod:`socialgraph.train.distributed`). Rank 0 writes the bundle into a
Ray Train checkpoint, which the driver loads back (verified, as any bundle). With ``RAY_ADDRESS`` set the same call
runs on that cluster; there the checkpoint storage (``storage``) must be a folder every node sees, or a URI such as
``s3://bucket/path``.
"""
from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Optional

from socialgraph.bundle.config import Config
from socialgraph.bundle.fitted import FittedModel
from socialgraph.data.graph import SocialGraph
from socialgraph.train.links import LinkData

BUNDLE = "bundle"


def _worker(conf: dict) -> None:
    import ray
    import ray.train

    from socialgraph.bundle.format import save_bundle
    from socialgraph.train.trainer import Trainer

    graph = ray.get(conf["graph"])
    trainer = Trainer(conf["config"], progress=False)
    fitted = trainer.fit(graph, conf["links"])
    metrics = {"epochs": fitted.metrics.get("epochs")}
    if ray.train.get_context().get_world_rank() == 0:
        with tempfile.TemporaryDirectory() as tmp:
            save_bundle(fitted, Path(tmp) / BUNDLE, history=trainer.history)
            ray.train.report(metrics, checkpoint=ray.train.Checkpoint.from_directory(tmp))
    else:
        ray.train.report(metrics)


def fit_on_ray(config: Config, graph: SocialGraph, links: Optional[LinkData], workers: int,
               storage: Optional[str] = None, use_gpu: bool = False) -> tuple[FittedModel, list[dict]]:
    """Train ``config`` on ``graph`` with ``workers`` Ray Train workers; the fitted model and its history.

    Args:
        links: the split to train on (``None``: the trainer's own, as :meth:`Trainer.fit`).
        workers: data-parallel ranks (one CPU each, or one GPU each with ``use_gpu``).
        storage: where Ray Train keeps the run's checkpoint (default: a temporary folder, which serves a
            single machine).
    """
    import ray
    from ray.train import RunConfig, ScalingConfig
    from ray.train.torch import TorchTrainer

    from socialgraph.bundle.format import load_bundle

    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    started = not ray.is_initialized()
    if started:
        ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        with tempfile.TemporaryDirectory() as scratch:
            trainer = TorchTrainer(
                _worker, train_loop_config={"graph": ray.put(graph), "config": config, "links": links},
                scaling_config=ScalingConfig(num_workers=workers, use_gpu=use_gpu,
                                             resources_per_worker={"GPU": 1} if use_gpu else {"CPU": 1}),
                run_config=RunConfig(storage_path=storage or scratch, name="socialgraph-train"))
            result = trainer.fit()
            if result.error is not None:
                raise result.error
            with result.checkpoint.as_directory() as folder:
                fitted = load_bundle(Path(folder) / BUNDLE)
                lines = (Path(folder) / BUNDLE / "metrics.jsonl").read_text().splitlines()
                history = [json.loads(line) for line in lines if line.strip()]
    finally:
        if started:
            ray.shutdown()
    return fitted, history


__all__ = ["fit_on_ray"]
