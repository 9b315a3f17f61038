"""One validation pass during training: the criterion early stopping reads, and what is logged of it.

With friendships, validation pairs are ranked against the shared validation negatives on the training graph
(:func:`~socialgraph.eval.link.evaluate_link_scores`); the criterion is ``train.select``: ``hits`` (the mean of
Hits@20, @50 and @100), ``auc`` or ``mrr``. Without friendships, held-out engagements judge the run: minus the RMSE
of ratings, or the Recall@20 of items.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from socialgraph.eval.link import evaluate_link_scores
from socialgraph.train.evaluation import held_out_engagement_metrics
from socialgraph.train.setup import TrainingSetup


@dataclass
class ValidationResult:
    """``criterion`` (higher is better), the ``record`` entries of the metrics log, the progress bar's ``postfix``."""

    criterion: float
    record: dict = field(default_factory=dict)
    postfix: dict = field(default_factory=dict)


def validation_pass(setup: TrainingSetup, select: str) -> ValidationResult:
    """Validate the model of ``setup`` as it is now (its cached embeddings are dropped first)."""
    fitted = setup.fitted
    fitted.model, fitted.mp_edges = setup.model, setup.links.train
    fitted.invalidate()
    if setup.link_val:
        val = evaluate_link_scores(fitted.link_logits(setup.links.val), fitted.link_logits(setup.val_neg))
        hits = (val["hits@20"] + val["hits@50"] + val["hits@100"]) / 3
        criterion = {"hits": hits, "auc": val["auc"], "mrr": val["mrr"]}[select]
        record = {"val_hits@50": val["hits@50"], "val_hits@20_50_100": hits, "val_auc": val["auc"],
                  "val_mrr": val["mrr"]}
        return ValidationResult(criterion, record, {"val_h50": f"{val['hits@50']:.3f}"})
    eng = setup.step.eng
    val = held_out_engagement_metrics(fitted, eng.train, eng.val)
    criterion = -val["rmse"] if setup.step.kind == "explicit" else val["recall@20"]
    return ValidationResult(criterion, {f"val_{k}": v for k, v in val.items() if k in ("rmse", "mae", "recall@20")},
                            {k: f"{v:.3f}" for k, v in val.items() if k in ("rmse", "recall@20")})


__all__ = ["ValidationResult", "validation_pass"]
