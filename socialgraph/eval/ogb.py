"""A thin wrapper over OGB's own ``Evaluator`` for OGB link-prediction datasets.

OGB numbers must be computed by OGB's evaluator to be comparable with its leaderboards; this module only adapts
names and array types. The evaluator reads metadata shipped inside the ``ogb`` package and downloads nothing.
"""
from __future__ import annotations

from typing import Optional

import numpy as np


def _evaluator(name: str):
    from ogb.linkproppred import Evaluator

    canonical = name.replace("_", "-")
    if not canonical.startswith("ogbl-"):
        raise ValueError(f"{name!r} is not an OGB link-prediction dataset (names look like 'ogbl-ddi')")
    return Evaluator(canonical)


def ogb_evaluate(name: str, pos: np.ndarray, neg: np.ndarray, k: Optional[int] = None) -> dict[str, float]:
    """OGB's evaluation of positive scores ``pos`` ``[P]`` against ``neg`` (``[N]`` for Hits@K datasets, ``[P, M]``
    for MRR datasets); ``k`` overrides the dataset's K for Hits@K datasets. Per-positive lists (``mrr_list``) come
    back averaged, every value as a Python float."""
    ev = _evaluator(name)
    if k is not None:
        if "hits@" not in ev.eval_metric:
            raise ValueError(f"{name} is evaluated by {ev.eval_metric}, not Hits@K")
        ev.K = int(k)
    import torch

    # Torch tensors, not numpy arrays: ogb 1.3.6's numpy branch of the MRR evaluation calls ``.sum(dim=1)``.
    res = ev.eval({"y_pred_pos": torch.as_tensor(np.asarray(pos, dtype=np.float64)),
                   "y_pred_neg": torch.as_tensor(np.asarray(neg, dtype=np.float64))})
    return {key: float(torch.as_tensor(v, dtype=torch.float64).mean()) for key, v in res.items()}


def ogb_hits(name: str, pos: np.ndarray, neg: np.ndarray, k: int) -> float:
    """Hits@``k`` of ``pos`` against shared negatives ``neg`` by OGB's ``Evaluator`` for dataset ``name``."""
    return ogb_evaluate(name, pos, neg, k)[f"hits@{k}"]


__all__ = ["ogb_evaluate", "ogb_hits"]
