"""What training reads of the engagements (user -> item edges): their kind, their split, and their loss.

* :func:`engagement_kind`: ``explicit`` (ratings: small integers on a fixed scale) or ``implicit`` (counts, clicks).
* :func:`engagement_split`: per user, 10 % of the engagements held out for test and a share more for validation.
* :func:`engagement_loss`: squared error of ratings; for implicit feedback a value-weighted logistic loss of
  each engagement against a uniformly drawn item, :math:`\\frac{\\sum w\\,\\mathrm{softplus}(-s^+)}{\\sum w} +
  \\overline{\\mathrm{softplus}(s^-)}` with :math:`w = 1 + \\log(1 + \\text{value})`.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
import torch
from torch.nn import functional as F

from socialgraph.data.graph import SocialGraph
from socialgraph.data.splits import EngagementSplit, split_engagements
from socialgraph.model.social_model import SocialModel


def engagement_kind(graph: SocialGraph, configured: str = "auto") -> Optional[str]:
    """``configured`` unless it is ``"auto"``; then ``explicit`` for ratings, else ``implicit``; ``None`` without
    engagements.

    Ratings are values on a fixed scale of at most 10 in steps of one or of a half: 1-5 stars, 1-10 points, or
    FilmTrust's half stars from 0.5 to 4.0. Counts and weights (plays, clicks, seconds) are heavy-tailed or not on
    such a grid."""
    if not graph.num_engagements:
        return None
    if configured != "auto":
        return configured
    v = graph.engagement_value
    if v is not None and is_rating_scale(v):
        return "explicit"
    return "implicit"


def is_rating_scale(values: np.ndarray) -> bool:
    """Whether ``values`` lie in [0, 10] on a grid of halves (whole numbers included)."""
    v = np.asarray(values, dtype=np.float64)
    v = v[~np.isnan(v)]
    return bool(len(v)) and v.min() >= 0 and v.max() <= 10 and np.allclose(2 * v, np.round(2 * v))


def engagement_split(graph: SocialGraph, val_fraction: float, seed: int) -> Optional[EngagementSplit]:
    """Per user, 10 % of the engagements held out for test and ``val_fraction`` more for validation (0: none);
    the test rows do not depend on ``val_fraction``. ``None`` without engagements."""
    if not graph.num_engagements:
        return None
    return split_engagements(graph, "per_user", val=val_fraction, test=0.10, seed=seed)


def engagement_loss(model: SocialModel, z: dict, graph: SocialGraph, rows: np.ndarray, kind: str,
                    rng: np.random.Generator) -> torch.Tensor:
    """The engagement head's loss on the engagement ``rows`` given node states ``z`` (see the module docstring);
    implicit negatives are drawn from ``rng``. The targets go to the states' device."""
    device = z["user"].device
    e = graph.engagements[rows]
    u, i = torch.from_numpy(e[:, 0]).to(device), torch.from_numpy(e[:, 1]).to(device)
    value = None if graph.engagement_value is None else torch.from_numpy(
        graph.engagement_value[rows].astype(np.float32)).to(device)
    pred = model.engagement(z["user"], z["item"], u, i)
    if kind == "explicit":
        return F.mse_loss(pred, value)
    neg_items = torch.from_numpy(rng.integers(0, graph.num_items, len(rows))).to(device)
    neg = model.engagement(z["user"], z["item"], u, neg_items)
    w = torch.ones(len(rows), device=device) if value is None else 1 + torch.log1p(value.clamp_min(0))
    return (w * F.softplus(-pred)).sum() / w.sum() + F.softplus(neg).mean()


__all__ = ["engagement_kind", "engagement_loss", "engagement_split"]
