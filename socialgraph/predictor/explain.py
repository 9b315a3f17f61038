"""Why a pair scores as it does, told to an asker who may not see some users (see
:meth:`Predictor.explain <socialgraph.predictor.Predictor.explain>`).

Nothing in an explanation depends on a user hidden from the asker: the score, the heuristics, the mutual friends
and the attention are all computed on the graph without the hidden users' friendships and engagements, with every
other user's degree recomputed without them (:mod:`~socialgraph.predictor.visibility`).

Tensors are computed on the model's device (where the predictor put the model and the inputs) and brought back to
the CPU before they become numbers.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

import numpy as np
import scipy.sparse as sp
import torch

from socialgraph.data.adjacency import pair_member
from socialgraph.eval.heuristics import score_pairs as heuristic_scores
from socialgraph.model.pair_scorer import PairScorer
from socialgraph.predictor.device import edges_to, model_device
from socialgraph.predictor.embed import node_states
from socialgraph.predictor.explanation import Explanation, SideExplanation, plain
from socialgraph.predictor.visibility import VisibleGraph, hides_edges, visible_graph

if TYPE_CHECKING:
    from socialgraph.predictor.predictor import Predictor

HEURISTICS = ("cn", "aa", "ra", "jaccard")


class PairExplainer:
    """Explanations over one predictor's model and graph. It keeps the last asker's view (the graph without their
    hidden users and the user states on it), so explaining many pairs for one asker passes messages once."""

    def __init__(self, predictor: "Predictor") -> None:
        self.predictor = predictor
        self._view: Optional[tuple[VisibleGraph, dict[str, torch.Tensor]]] = None

    @torch.no_grad()
    def explain(self, rows: np.ndarray, hide: frozenset, top_neighbours: int) -> Explanation:
        """The explanation of the row pair ``rows`` for an asker who may not see the rows ``hide``."""
        p = self.predictor
        view, z = self.visible(hide)
        pair = rows.reshape(1, 2)
        scorer = p.pair_scorer() if view.adjacency is p.adjacency else \
            PairScorer(p.fitted.model, z["user"], view.adjacency, p.fitted.encoded.users)
        logit = float(scorer.logits(pair)[0])
        mutual = _mutual(view.adjacency, int(rows[0]), int(rows[1]))
        heur = {m: float(heuristic_scores(view.adjacency, pair, m)[0]) for m in HEURISTICS}
        attention = self._attention(view)
        sides = {name: self._side(int(row), attention, hide, top_neighbours) for name, row in zip(("u", "v"), rows)}
        ids = p.graph.user_ids
        friends = bool(pair_member(p.friend_keys(), rows[:1], rows[1:], p.num_users)[0])
        return Explanation(plain(ids[rows[0]]), plain(ids[rows[1]]), float(p.calibration(np.array([logit]))[0]),
                           logit, friends, [plain(ids[m]) for m in mutual], heur, sides)

    def visible(self, hide: frozenset) -> tuple[VisibleGraph, dict[str, torch.Tensor]]:
        """The graph without ``hide`` and the node states on it: the predictor's own when no hidden user has an
        edge, else computed once per hidden set (the last one is kept)."""
        p = self.predictor
        f = p.fitted
        rows = np.fromiter(hide, np.int64, len(hide))
        if not hides_edges(f.mp_edges, rows, f.graph, f.mp_engagements):
            return VisibleGraph(hide, np.asarray(f.mp_edges), f.mp_engagements, p.adjacency), p.embeddings()
        if self._view is None or self._view[0].hidden != hide:
            view = visible_graph(f.mp_edges, p.num_users, hide, f.graph, f.mp_engagements)
            z = node_states(f.model, f.encoded.users, f.encoded.items, view.adjacency,
                            lambda: view.edge_index(f.graph), layerwise=p.layerwise)
            self._view = (view, z)
        return self._view

    def _attention(self, view: VisibleGraph) -> Optional[tuple[np.ndarray, np.ndarray]]:
        f = self.predictor.fitted
        h = f.model.input_states(f.encoded.users, f.encoded.items)
        edges = edges_to(view.edge_index(f.graph), model_device(f.model))
        got = f.model.encoder.friend_attention(h if f.model.hetero else {"user": h["user"]}, edges)
        if got is None:
            return None
        ei, alpha = got
        return ei.cpu().numpy(), alpha.mean(1).cpu().numpy()

    def _side(self, row: int, attention, hide: frozenset, top: int) -> SideExplanation:
        """One end of the pair: its modality weights (its own inputs only) and the friends it attends to most
        (on the asker's graph; hidden users, who have no edges there, are filtered again for safety)."""
        f = self.predictor.fitted
        users = f.encoded.users
        known = bool(users.known is None or bool(users.known[row]))
        mods: dict[str, float] = {}
        fusion = f.model.user_fusion
        if fusion is not None:
            one = users.rows(torch.tensor([row], device=model_device(f.model)))
            w = fusion.weights(one.x, one.mask)[0].cpu().numpy()
            mods = {name: float(x) for name, x in zip(["fallback", *fusion.names], w)}
        nbrs: list[tuple[Any, float]] = []
        ids = f.graph.user_ids
        if attention is not None:
            ei, alpha = attention
            into = np.flatnonzero(ei[1] == row)
            src, a = ei[0][into], alpha[into]
            ok = ~np.isin(src, np.fromiter(hide, np.int64, len(hide))) if hide else np.ones(len(src), bool)
            src, a = src[ok], a[ok]
            order = np.lexsort((src, -a))[:top]
            nbrs = [("self" if src[i] == row else plain(ids[src[i]]), float(a[i])) for i in order]
        return SideExplanation(plain(ids[row]), known, mods, nbrs)


def _mutual(adj: sp.csr_matrix, a: int, b: int) -> np.ndarray:
    """Common neighbours of rows ``a`` and ``b`` in ``adj`` (sorted rows)."""
    return np.intersect1d(adj.indices[adj.indptr[a]:adj.indptr[a + 1]], adj.indices[adj.indptr[b]:adj.indptr[b + 1]])
