"""Run the project's model and every link baseline on one :class:`LinkTask`: same split, negatives and evaluator.

Scores are computed on the pairs ``observed`` at test time (training pairs, plus validation pairs where the protocol
allows it); every method is scored the same way, so differences come from the methods only. Each method's test
metrics are also reported by degree bucket (:mod:`socialgraph.bench.buckets`).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable, Optional, Sequence

import numpy as np
import scipy.sparse as sp
from tqdm.auto import tqdm

from socialgraph.bench.buckets import by_bucket, pair_buckets
from socialgraph.bench.runinfo import Stopwatch
from socialgraph.data.adjacency import adjacency_from_edges
from socialgraph.data.graph import SocialGraph
from socialgraph.bundle.config import Config

HEURISTICS: tuple[str, ...] = ("cn", "aa", "ra", "ppr")
LEARNED: tuple[str, ...] = ("gcn-gae", "sage-gae", "node2vec")
ALL_METHODS: tuple[str, ...] = ("model",) + HEURISTICS + LEARNED

Metric = Callable[[np.ndarray, np.ndarray], dict]


@dataclass
class LinkTask:
    """One evaluation setting: int64 ``[*, 2]`` pairs of user rows and the protocol's metric function.

    Attributes:
        dataset / protocol: names for reports.
        graph: the graph whose attributes the model may read (its friend edges are replaced by ``train``).
        train, val, test: positive pairs; val_neg / test_neg: negatives shared by every positive of the side.
        observed: pairs visible when scoring test pairs (message passing, heuristics); default ``train + val``.
        metric: ``metric(pos_scores, neg_scores) -> {name: value}``.
    """

    dataset: str
    protocol: str
    graph: SocialGraph
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    val_neg: np.ndarray
    test_neg: np.ndarray
    metric: Metric
    observed: Optional[np.ndarray] = None
    notes: list = field(default_factory=list)

    @property
    def visible(self) -> np.ndarray:
        return np.r_[self.train, self.val] if self.observed is None else self.observed

    def sizes(self) -> dict[str, int]:
        return {"users": self.graph.num_users, "train": len(self.train), "val": len(self.val),
                "test": len(self.test), "val_neg": len(self.val_neg), "test_neg": len(self.test_neg)}


@dataclass
class BaselineBudget:
    """Training budgets of the learned baselines (smaller under ``--quick``)."""

    gae_epochs: int = 300
    node2vec_walks: int = 10
    node2vec_length: int = 80
    node2vec_window: int = 10
    node2vec_pairs_per_node: int = 3000

    @classmethod
    def quick(cls) -> "BaselineBudget":
        return cls(gae_epochs=10, node2vec_walks=2, node2vec_length=20, node2vec_window=5, node2vec_pairs_per_node=300)


def adjacency(pairs: np.ndarray, n: int) -> sp.csr_matrix:
    """Symmetric 0/1 CSR adjacency of undirected ``pairs`` over ``n`` nodes."""
    return adjacency_from_edges(pairs, n).astype(np.float64)


def fit_model(task: LinkTask, config: Config, seed: int, progress: bool = False):
    """Train the project's model on ``task``; returns ``(fitted, history)`` with messages over ``task.visible``."""
    from socialgraph.train.links import LinkData
    from socialgraph.train.trainer import Trainer

    cfg = replace(config, train=replace(config.train, seed=seed))
    trainer = Trainer(cfg, progress=progress)
    graph = task.graph.with_friends(task.train)
    fitted = trainer.fit(graph, LinkData(task.train, task.val, task.test, task.test_neg))
    fitted.mp_edges = task.visible
    fitted.invalidate()
    return fitted, trainer.history


def scorer(method: str, task: LinkTask, config: Config, budget: BaselineBudget, seed: int,
           progress: bool = False) -> tuple[Callable[[np.ndarray], np.ndarray], dict]:
    """A fitted ``score(pairs)`` for ``method`` and what to record about its training."""
    n = task.graph.num_users
    if method == "model":
        fitted, history = fit_model(task, config, seed, progress)
        return fitted.link_logits, {"history": history, "epochs": fitted.metrics.get("epochs"),
                                    "select": fitted.metrics.get("select"),
                                    "trainer_test": fitted.metrics.get("test", {})}
    if method in HEURISTICS:
        from socialgraph.eval.heuristics import score_pairs

        adj = adjacency(task.visible, n)
        return (lambda p: score_pairs(adj, p, method)), {}
    if method in ("gcn-gae", "sage-gae"):
        from socialgraph.bench.gae import fit_gae

        score = fit_gae(n, task.train, task.val, task.val_neg, conv=method.split("-")[0], epochs=budget.gae_epochs,
                        seed=seed, progress=progress)
        return (lambda p: score(p, task.visible)), {"epochs": budget.gae_epochs}
    if method == "node2vec":
        from socialgraph.bench.node2vec import node2vec_scorer

        score = node2vec_scorer(n, task.visible, seed=seed, progress=progress, walks_per_node=budget.node2vec_walks,
                                walk_length=budget.node2vec_length, window=budget.node2vec_window,
                                pairs_per_node=budget.node2vec_pairs_per_node)
        return score, {"pairs_per_node": budget.node2vec_pairs_per_node}
    raise ValueError(f"unknown link method {method!r}; choose from {', '.join(ALL_METHODS)}")


def run_link_task(task: LinkTask, config: Config, seed: int, methods: Sequence[str] = ALL_METHODS,
                  budget: Optional[BaselineBudget] = None, progress: bool = False) -> dict:
    """``{"sizes", "methods": {m: {"test", "val", "buckets", "fit_seconds", "score_seconds", ...}}}``."""
    budget = budget or BaselineBudget()
    degree = np.diff(adjacency(task.train, task.graph.num_users).indptr)
    labels = pair_buckets(task.test, degree)
    out: dict = {"sizes": task.sizes(), "methods": {}}
    for m in tqdm(methods, desc=f"{task.dataset} seed {seed}", disable=not progress, leave=False):
        with Stopwatch() as fit_t:
            score, extra = scorer(m, task, config, budget, seed, progress=False)
        with Stopwatch() as score_t:
            pos, neg = score(task.test), score(task.test_neg)
        val = task.metric(score(task.val), score(task.val_neg)) if len(task.val) else {}
        out["methods"][m] = {"test": task.metric(pos, neg), "val": val,
                             "buckets": by_bucket(pos, neg, labels, task.metric),
                             "fit_seconds": round(fit_t.seconds, 3), "score_seconds": round(score_t.seconds, 3),
                             "pairs_per_second": round((len(pos) + len(neg)) / max(score_t.seconds, 1e-9), 1),
                             **extra}
    return out
