"""Heuristic baselines under the benchmark protocol (:mod:`socialgraph.data.protocol`).

Each heuristic scores the test pairs and the shared negatives on the *training* graph only, so validation and
test links never inform a score.
"""
from __future__ import annotations

from typing import Iterable, Optional

import numpy as np

from socialgraph.data.graph import SocialGraph
from socialgraph.data.protocol import ProtocolSplit, benchmark_split
from socialgraph.eval.heuristics import METHODS, HeuristicParams, score_pairs
from socialgraph.eval.link import evaluate_link_scores


def heuristic_baselines(graph_or_split: SocialGraph | ProtocolSplit, methods: Iterable[str] = METHODS, *,
                        seed: int = 0, params: Optional[HeuristicParams] = None) -> dict[str, dict[str, float]]:
    """``{method: evaluate_link_scores(...)}`` for each heuristic, on ``benchmark_split(graph, seed)`` (or the given
    split)."""
    split = graph_or_split if isinstance(graph_or_split, ProtocolSplit) else benchmark_split(graph_or_split, seed)
    adj = split.train_adjacency()
    pairs = np.r_[split.test, split.negatives]
    out = {}
    for m in methods:
        s = score_pairs(adj, pairs, m, params=params)
        out[m] = evaluate_link_scores(s[: len(split.test)], s[len(split.test):])
    return out


__all__ = ["heuristic_baselines"]
