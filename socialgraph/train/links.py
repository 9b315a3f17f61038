"""The friend pairs a training run learns from and is validated on.

:class:`LinkData` is what :meth:`~socialgraph.train.trainer.Trainer.fit` takes (the benchmark split, or
:func:`internal_split` of the graph's own pairs); :func:`validation_negatives` draws the shared non-edges that
validation pairs are ranked against.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from socialgraph.data.graph import SocialGraph
from socialgraph.data.negatives import uniform_negatives

_NO_PAIRS = np.zeros((0, 2), np.int64)


@dataclass
class LinkData:
    """Friend pairs (undirected, canonical) for training, validation and (optionally) test.

    Attributes:
        train: int64 ``[E, 2]`` pairs the model learns from (and passes messages over).
        val: int64 ``[V, 2]`` pairs that drive early stopping and calibration.
        test: int64 ``[T, 2]`` pairs evaluated after training, with ``test_negatives``; ``None``: no test.
        test_negatives: int64 ``[N, 2]`` non-edges shared by every test pair.
    """

    train: np.ndarray
    val: np.ndarray
    test: Optional[np.ndarray] = None
    test_negatives: Optional[np.ndarray] = None


def internal_split(graph: SocialGraph, val_fraction: float, rng: np.random.Generator) -> LinkData:
    """All of ``graph``'s undirected friend pairs train except a random ``val_fraction`` slice (at least one pair;
    none on graphs of 20 pairs or fewer)."""
    pairs = graph.undirected_pairs()
    perm = rng.permutation(len(pairs))
    nv = max(1, int(round(val_fraction * len(pairs)))) if len(pairs) > 20 else 0
    return LinkData(train=pairs[perm[nv:]], val=pairs[perm[:nv]])


def validation_negatives(links: LinkData, num_users: int, seed: int) -> np.ndarray:
    """Uniform non-edges of every pair in ``links``, as many as the benchmark protocol uses (10,000, or half the
    non-edges of a small graph), so that validation Hits@K means what test Hits@K means (fewer negatives inflate
    Hits@K and make early stopping pick noise)."""
    n = num_users
    num = min(10_000, max(1, n * (n - 1) // 2 - len(links.train) - len(links.val)) // 2)
    known = np.r_[links.train, links.val, links.test if links.test is not None else _NO_PAIRS]
    return uniform_negatives(n, num, known, seed=seed)


__all__ = ["LinkData", "internal_split", "validation_negatives"]
