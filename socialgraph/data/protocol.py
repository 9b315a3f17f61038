"""The link-prediction benchmark protocol used throughout the project.

:func:`benchmark_split` splits the *undirected* friend pairs of a graph (a directed graph's reciprocal rows collapse
into one pair) 85 / 5 / 10 at random into train / validation / test, and draws ``max(10_000, len(test))`` uniform
non-edges -- pairs that are no friend pair of any split, never a self-pair -- shared by every positive, as OGB's
ogbl-collab / ogbl-ddi do. Models and baselines are then judged by the scores of the test pairs against the scores
of those negatives (:func:`socialgraph.eval.link.evaluate_link_scores`: Hits@20/50/100, MRR, AUC, AP); the data
layer draws the split and knows nothing of metrics.

Everything is a deterministic function of ``seed``.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp

from socialgraph.data.adjacency import adjacency_from_edges
from socialgraph.data.graph import SocialGraph
from socialgraph.data.negatives import uniform_negatives
from socialgraph.data.splits import split_links

VAL_FRACTION, TEST_FRACTION, MIN_NEGATIVES = 0.05, 0.10, 10_000


@dataclass(frozen=True)
class ProtocolSplit:
    """The benchmark split: canonical pairs ``(a, b)``, ``a < b``, int64 ``[*, 2]``.

    Attributes:
        train, val, test: positive pairs of each side (disjoint).
        negatives: shared negative pairs, none of them a friend pair of any side.
        num_users: number of user rows of the graph (adjacency size).
    """

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    negatives: np.ndarray
    num_users: int

    def train_adjacency(self) -> sp.csr_matrix:
        """Symmetric 0/1 float32 adjacency of the training pairs: the only graph a model may look at."""
        return adjacency_from_edges(self.train, self.num_users)


def benchmark_split(graph: SocialGraph, seed: int = 0) -> ProtocolSplit:
    """The 85 / 5 / 10 random split of ``graph``'s undirected friend pairs plus shared uniform negatives."""
    undirected = replace(graph, friends=graph.undirected_pairs(), directed=False, friend_weight=None,
                         friend_time=None)
    s = split_links(undirected, "random", val=VAL_FRACTION, test=TEST_FRACTION, seed=seed)
    all_pairs = np.r_[s.train, s.val, s.test]
    # An independent stream from the split's, so that changing one never shifts the other.
    neg_seed = int(np.random.SeedSequence([seed, 1]).generate_state(1)[0])
    neg = uniform_negatives(graph.num_users, max(MIN_NEGATIVES, len(s.test)), all_pairs, seed=neg_seed)
    return ProtocolSplit(train=s.train, val=s.val, test=s.test, negatives=neg, num_users=graph.num_users)


__all__ = ["ProtocolSplit", "benchmark_split"]
