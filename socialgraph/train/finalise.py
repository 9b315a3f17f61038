"""The end of a training run: the kept weights, calibrated probabilities, the rating head's term weights, the
run's metrics and its test evaluation.

The best weights by validation are loaded back. Platt scaling is fitted on the validation pairs (whose edges the
messages have not seen), with the sampled negatives weighted up to the pool of every pair not known to be friends,
so the predictor's probabilities mean what they say for arbitrary pairs; it is stored with the metrics, hence in
the bundle's ``meta.json``. From then on messages pass over every known friendship, validation ones included, as at
prediction time; a rating head refits its term weights on the held-out validation ratings
(:meth:`~socialgraph.model.heads.engagement.EngagementHead.fit_weights`).
"""
from __future__ import annotations

import time

import numpy as np
import torch

from socialgraph.bundle.calibration import platt_calibration
from socialgraph.bundle.fitted import FittedModel
from socialgraph.train.early_stopping import EarlyStopping
from socialgraph.train.evaluation import evaluate
from socialgraph.train.setup import TrainingSetup


def finalise(setup: TrainingSetup, stopping: EarlyStopping, epochs: int, select: str, start: float) -> FittedModel:
    """The trained model of ``setup`` with its ``metrics``: ``epochs`` run, the best validation criterion
    (``select``), the calibration, ``train_seconds`` since ``start`` and, where held-out data exist, ``test``."""
    model, fitted, links = setup.model, setup.fitted, setup.links
    stopping.restore(model)
    model.eval()
    fitted.mp_edges = links.train
    fitted.invalidate()
    n = setup.step.graph.num_users
    unknown = n * (n - 1) // 2 - len(links.train) - len(links.val)
    calibration = platt_calibration(fitted.link_logits(links.val), fitted.link_logits(setup.val_neg), unknown) \
        if setup.link_val else None
    fitted.mp_edges = np.r_[links.train, links.val]
    fitted.invalidate()
    _fit_rating_weights(setup)
    fitted.metrics = {"train_seconds": round(time.time() - start, 2), "epochs": epochs,
                      "best_val_hits@20_50_100": stopping.best_record.get("val_hits@20_50_100")
                      if setup.link_val else None,
                      "select": select if setup.link_val else None, "calibration": calibration}
    if stopping.best_state is not None and setup.eng_val:
        best = stopping.best
        fitted.metrics["best_val_engagement"] = {"rmse": -best} if setup.step.kind == "explicit" else \
            {"recall@20": best}
    if (links.test is not None and links.test_negatives is not None) or not len(links.train):
        fitted.metrics["test"] = evaluate(fitted, links, setup.step.eng, setup.step.pref)
    return fitted


def _fit_rating_weights(setup: TrainingSetup) -> None:
    """Refit a rating head's term weights on the validation ratings, with the final embeddings."""
    model, eng, graph = setup.model, setup.step.eng, setup.step.graph
    if setup.step.kind != "explicit" or model.engagement is None or not len(eng.val):
        return
    z, device = setup.fitted.embeddings(), setup.device
    val = graph.engagements[eng.val]
    model.engagement.fit_weights(z["user"], z["item"], torch.from_numpy(val[:, 0]).to(device),
                                 torch.from_numpy(val[:, 1]).to(device),
                                 torch.from_numpy(graph.engagement_value[eng.val].astype(np.float32)).to(device))


__all__ = ["finalise"]
