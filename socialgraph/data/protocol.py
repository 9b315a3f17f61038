"""The link-prediction benchmark protocol used throughout the project.

:func:`benchmark_split` splits the *undirected* friend pairs of a graph (a directed graph's reciprocal rows collapse
into one pair) 85 / 5 / 10 at random into train / validation / test, and draws ``max(10_000, len(test))`` uniform
non-edges -- pairs that are no friend pair of any split, never a self-pair -- shared by every positive, as OGB's
ogbl-collab / ogbl-ddi do. :func:`evaluate_link_scores` then reports, for the scores of the test pairs against
the scores of those negatives:

* ``hits@20``, ``hits@50``, ``hits@100``: a positive is a hit when its score is strictly above the K-th highest
  negative score (OGB's Hits@K);
* ``mrr``: each positive ranked against all shared negatives, ties counted half (mean of OGB's optimistic and
  pessimistic rank), see :func:`socialgraph.eval.metrics.ranks`;
* ``auc`` and ``ap``: ROC-AUC and average precision of positives against the negatives.

Everything is a deterministic function of ``seed``.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

import numpy as np
import scipy.sparse as sp

from socialgraph.data.graph import SocialGraph
from socialgraph.data.negatives import uniform_negatives
from socialgraph.data.splits import split_links

VAL_FRACTION, TEST_FRACTION, MIN_NEGATIVES = 0.05, 0.10, 10_000
HITS_KS: tuple[int, ...] = (20, 50, 100)


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
        """Symmetric 0/1 adjacency of the training pairs: the only graph a model may look at."""
        t = self.train
        n = self.num_users
        a = sp.coo_matrix((np.ones(2 * len(t)), (np.r_[t[:, 0], t[:, 1]], np.r_[t[:, 1], t[:, 0]])), shape=(n, n))
        return a.tocsr()


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


def evaluate_link_scores(pos: np.ndarray, neg: np.ndarray, ks: Sequence[int] = HITS_KS) -> dict[str, float]:
    """``hits@K`` for each K in ``ks``, ``mrr``, ``auc`` and ``ap`` of positive against shared negative scores."""
    from socialgraph.eval.metrics import auc, average_precision, hits_at_k, mrr

    pos = np.asarray(pos, dtype=np.float64).ravel()
    neg = np.asarray(neg, dtype=np.float64).ravel()
    out = {f"hits@{k}": hits_at_k(pos, neg, k) for k in ks}
    out.update(mrr=mrr(pos, neg), auc=auc(pos, neg), ap=average_precision(pos, neg))
    return out


__all__ = ["ProtocolSplit", "benchmark_split", "evaluate_link_scores"]
