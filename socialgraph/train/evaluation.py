"""The evaluation of a trained model: :class:`~socialgraph.bundle.fitted.FittedModel` adapted to the metrics of
:mod:`socialgraph.eval`, which take scores and score callables and know nothing of models.

* links: :func:`~socialgraph.eval.link.evaluate_link_scores` of the test pairs' logits against the shared test
  negatives' (Hits@K, MRR, AUC, AP);
* engagement: :func:`~socialgraph.eval.engagement.engagement_metrics` on held-out engagements (Recall@20 and
  NDCG@20 for implicit feedback, RMSE and MAE for ratings);
* preference: :func:`~socialgraph.eval.preference.preference_metrics` (NDCG@10) on held-out engagements'
  categories, or on held-out users' own categories with that column hidden from their inputs.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
import torch

from socialgraph.bundle.fitted import FittedModel
from socialgraph.data.splits import EngagementSplit
from socialgraph.eval.engagement import engagement_metrics
from socialgraph.eval.link import evaluate_link_scores
from socialgraph.eval.preference import preference_metrics
from socialgraph.train.links import LinkData
from socialgraph.train.targets import PreferenceTask, preference_targets


def evaluate(fitted: FittedModel, links: LinkData, eng: Optional[EngagementSplit] = None,
             pref: Optional[PreferenceTask] = None) -> dict:
    """Test metrics of every head the model has: ``{"link": ..., "engagement": ..., "preference": ...}``, each
    present when there is something held out to judge it on (see the module docstring)."""
    out = {}
    if links.test is not None and len(links.test) and len(links.train):
        out["link"] = evaluate_link_scores(fitted.link_logits(links.test), fitted.link_logits(links.test_negatives))
    if eng is not None and len(eng.test) and fitted.model.engagement is not None:
        out["engagement"] = held_out_engagement_metrics(fitted, eng.train, eng.test)
    if pref is not None and fitted.model.preference is not None:
        metrics = held_out_preference_metrics(fitted, pref, eng)
        if metrics is not None:
            out["preference"] = metrics
    return out


def held_out_engagement_metrics(fitted: FittedModel, train: np.ndarray, held: np.ndarray) -> dict:
    """:func:`~socialgraph.eval.engagement.engagement_metrics` of the engagement rows ``held`` (``train``: the
    training rows), the model predicting ratings or ranking every item."""

    @torch.no_grad()
    def predict(users: np.ndarray, items: np.ndarray) -> np.ndarray:
        z, device = fitted.embeddings(), fitted.device
        return fitted.model.engagement(z["user"], z["item"], torch.from_numpy(users).to(device),
                                       torch.from_numpy(items).to(device)).cpu().numpy()

    return engagement_metrics(fitted.graph, train, held, fitted.engagement_kind, predict=predict,
                              score_items=fitted.engagement_scores)


def held_out_preference_metrics(fitted: FittedModel, pref: PreferenceTask,
                                eng: Optional[EngagementSplit] = None) -> Optional[dict]:
    """NDCG@10 of the held-out users' own categories (scored with their column hidden), or of the categories of
    the held-out engagements ``eng.test``; ``None`` when nobody is held out."""
    targets = pref.targets
    if pref.held_users is not None:
        users, relevant = pref.held_users, targets.matrix[pref.held_users]
        scores = held_out_preference_scores(fitted, pref)
    elif eng is not None and len(eng.test):
        t = preference_targets(fitted.graph, targets.source, eng.test, names=targets.names)
        users = np.flatnonzero(np.diff(t.matrix.indptr) > 0)
        relevant = t.matrix[users]
        scores = fitted.preference_scores(users) if len(users) else None
    else:
        return None
    if not len(users):
        return None
    return {**preference_metrics(scores, relevant, 10), "source": targets.source}


@torch.no_grad()
def held_out_preference_scores(fitted: FittedModel, pref: PreferenceTask) -> np.ndarray:
    """Category distributions ``[len(pref.held_users), C]`` of the held-out users with their own category column
    hidden from their inputs, as in training (scoring them with it visible would read the answer)."""
    device, items = fitted.device, fitted.encoded.items
    inputs = pref.hide_held_column(fitted.encoded.users.to(device))
    z = fitted.model(inputs, fitted.edge_index(), None if items is None else items.to(device))["user"]
    held = torch.from_numpy(pref.held_users).to(device)
    return torch.softmax(fitted.model.preference(z[held]), dim=1).cpu().numpy()


__all__ = ["evaluate", "held_out_engagement_metrics", "held_out_preference_metrics", "held_out_preference_scores"]
