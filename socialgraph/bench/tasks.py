"""The evaluation protocols, each turning a graph into a :class:`~socialgraph.bench.linkrun.LinkTask`.

=============  ==================================================================================================
``benchmark``  the project's protocol (:func:`socialgraph.data.protocol.benchmark_split`): 85 / 5 / 10 random split
               of the undirected friend pairs, ``max(10000, |test|)`` shared uniform negatives; Hits@20/50/100, MRR,
               AUC, AP.
``gae``        Planetoid link prediction as in GAE (Kipf & Welling 2016) and HeaRT's "existing setting" (Li et al.
               2023): 85 / 5 / 10 random split, as many uniform non-edges as positives on each side; GAE reports
               AUC / AP, HeaRT ranks each positive against all of its side's negatives (Hits@100, MRR). One split
               serves both. Class labels are hidden from the model (GAE reads the bag of words only).
``seal``       SEAL (Zhang & Chen 2018): 90 % of the links observed, 10 % test, as many uniform non-edges as test
               links; AUC. Validation links for early stopping are 5 % of all links taken from the observed 90 %
               (they are observed at test time).
``ogb``        the official OGB split and negatives (:func:`socialgraph.data.registry.load_ogb_split`), scored by OGB's own
               ``Evaluator``; only training edges are observed (OGB's rule for ogbl-ddi).
=============  ==================================================================================================

Validation negatives are drawn independently of the test negatives (another seed stream) and exclude every link.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from socialgraph.bench.linkrun import LinkTask
from socialgraph.data.graph import SocialGraph
from socialgraph.data.negatives import uniform_negatives
from socialgraph.data.protocol import benchmark_split
from socialgraph.data.schema import AttributeTable
from socialgraph.data.splits import split_links
from socialgraph.eval.link import evaluate_link_scores


def _stream(seed: int, k: int) -> int:
    return int(np.random.SeedSequence([seed, k]).generate_state(1)[0])


def _undirected(graph: SocialGraph) -> SocialGraph:
    return replace(graph, friends=graph.undirected_pairs(), directed=False, friend_weight=None, friend_time=None)


def benchmark_task(graph: SocialGraph, seed: int) -> LinkTask:
    """The project's protocol; validation negatives ``max(1000, |val|)`` uniform non-edges."""
    s = benchmark_split(graph, seed)
    every = np.r_[s.train, s.val, s.test]
    val_neg = uniform_negatives(graph.num_users, max(1000, len(s.val)), every, seed=_stream(seed, 2))
    return LinkTask(graph.name, "benchmark", graph, s.train, s.val, s.test, val_neg, s.negatives,
                    evaluate_link_scores)


def _balanced(graph: SocialGraph, seed: int, val: float, test: float, protocol: str) -> LinkTask:
    s = split_links(_undirected(graph), "random", val=val, test=test, seed=seed)
    every = np.r_[s.train, s.val, s.test]
    neg = uniform_negatives(graph.num_users, len(s.val) + len(s.test), every, seed=_stream(seed, 1))
    return LinkTask(graph.name, protocol, graph, s.train, s.val, s.test, neg[len(s.test):], neg[:len(s.test)],
                    lambda p, n: evaluate_link_scores(p, n, ks=(20, 50, 100)))


def gae_task(graph: SocialGraph, seed: int) -> LinkTask:
    """GAE / HeaRT-existing protocol on a Planetoid graph, with its class label column hidden."""
    g = graph
    if graph.user_attrs is not None and "label" in graph.user_attrs.roles:
        roles = {c: r for c, r in graph.user_attrs.roles.items() if c != "label"}
        g = replace(graph, user_attrs=AttributeTable(graph.user_attrs.frame, roles))
    return _balanced(g, seed, 0.05, 0.10, "gae")


def seal_task(graph: SocialGraph, seed: int) -> LinkTask:
    """SEAL's 90 / 10 protocol (validation carved out of the observed 90 %)."""
    return _balanced(graph, seed, 0.05, 0.10, "seal")


def ogb_task(name: str, graph: SocialGraph) -> LinkTask:
    """The official split of OGB dataset ``name`` (validation and test negatives as OGB ships them)."""
    from socialgraph.data.registry import load_ogb_split
    from socialgraph.eval.ogb import ogb_evaluate

    split = load_ogb_split(name)

    def metric(pos: np.ndarray, neg: np.ndarray) -> dict:
        out = {}
        for k in (20, 50, 100):
            out.update(ogb_evaluate(name, pos, neg, k=k))
        return out

    tr = split["train"]["edge"]
    return LinkTask(name, "ogb", graph, tr, split["valid"]["edge"], split["test"]["edge"],
                    split["valid"]["edge_neg"], split["test"]["edge_neg"], metric, observed=tr)


def subsample_task(task: LinkTask, fraction: float, seed: int = 0) -> LinkTask:
    """``task`` with a random ``fraction`` of every pair set (for ``--quick`` runs on large graphs)."""
    rng = np.random.default_rng(seed)

    def cut(p: np.ndarray) -> np.ndarray:
        return p[np.sort(rng.choice(len(p), size=max(1, int(fraction * len(p))), replace=False))]

    train = cut(task.train)
    return replace(task, train=train, val=cut(task.val), test=cut(task.test), val_neg=cut(task.val_neg),
                   test_neg=cut(task.test_neg), observed=None if task.observed is None else train)
