"""Everything one shard of the suggestion job needs, in one picklable object (shipped once to Ray actors).

:class:`ShardScorer` holds the link scorer, the user states, the friend graph, the ANN index (serialised), the
filters and the calibration. :meth:`ShardScorer.run` turns a block of user rows into their top-k suggestions:
candidates (friends-of-friends by Adamic-Adar, nearest neighbours of the user states), filters (self, friends,
blocked pairs, hidden users), the full scorer, the top ``k`` by calibrated probability (ties: smaller candidate
row first), and a reason per row. The result depends only on the rows given, never on which process runs it.

Hidden users count nowhere in what a row says: friends-of-friends are ranked on the friend graph without them (a
user reached only through a hidden friend is not a friend-of-friend candidate) and mutual friends are counted
without them, as :meth:`Predictor.suggest` does.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch

from socialgraph.model.pairwise import pair_structure
from socialgraph.model.social_model import NodeInputs
from socialgraph.predictor import Predictor
from socialgraph.bundle.calibration import Calibration
from socialgraph.predictor.candidates import (ann_candidates, build_index, fof_candidates, merge_candidates,
                                              pair_member)
from socialgraph.predictor.visibility import visible_friends


@dataclass
class CandidateConfig:
    """Candidate generation of the job.

    Attributes:
        k: suggestions kept per user.
        fof: friends-of-friends kept per user (best by ``fof_method``) before re-ranking.
        fof_method: heuristic ranking friends-of-friends (``aa``, ``ra``, ``cn``).
        ann: nearest neighbours of the user state per user before re-ranking (0: none).
        nprobe: IVF lists searched (big graphs only; small ones are searched exactly).
        seed: seeds the IVF k-means sample.
        score_batch: pairs per call of the link scorer.
    """

    k: int = 20
    fof: int = 30
    fof_method: str = "aa"
    ann: int = 20
    nprobe: int = 16
    seed: int = 0
    score_batch: int = 16384


@dataclass
class ShardScorer:
    """A block of users in, their suggestions out (see the module docstring)."""

    config: CandidateConfig
    model: torch.nn.Module          # the SocialModel (its link scorer reads states, structure and inputs)
    inputs: NodeInputs              # encoded user inputs (feature similarities of the pair's ends)
    z: np.ndarray                   # user states [n, dim]
    unit: np.ndarray                # unit-length states for the ANN search
    adjacency: sp.csr_matrix        # message-passing friend graph (structure, friends-of-friends)
    friend_keys: np.ndarray         # every known friend pair, sorted min*n+max keys
    blocked_keys: np.ndarray
    hidden: np.ndarray              # sorted rows never suggested
    calibration: Calibration
    user_ids: np.ndarray
    index_bytes: Optional[np.ndarray] = None
    visible_adjacency: Optional[sp.csr_matrix] = None  # ``adjacency`` without hidden columns (None: none hidden)
    _index: object = field(default=None, repr=False)

    @classmethod
    def from_predictor(cls, predictor: Predictor, config: CandidateConfig) -> "ShardScorer":
        """Embed every user, build the ANN index once, and gather the filters."""
        import faiss

        unit = predictor.unit_embeddings()
        index_bytes = faiss.serialize_index(build_index(unit, config.seed, config.nprobe)) if config.ann > 0 \
            else None
        model, users = predictor.fitted.model, predictor.fitted.encoded.users
        if not model.link.num_similarities:
            users = NodeInputs(users.num, positions=users.positions)  # no raw inputs read: do not hold (or ship) them
        hidden = predictor.hidden_rows
        visible = visible_friends(predictor.adjacency, hidden) if len(hidden) else None
        return cls(config, model, users, predictor.user_embeddings(), unit, predictor.adjacency,
                   predictor.friend_keys(), predictor.blocked_keys(), hidden, predictor.calibration,
                   np.asarray(predictor.graph.user_ids), index_bytes, visible)

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_index"] = None  # FAISS objects do not pickle; the serialised bytes travel instead
        return state

    @property
    def index(self):
        if self._index is None and self.index_bytes is not None:
            import faiss

            self._index = faiss.deserialize_index(self.index_bytes)
            if hasattr(self._index, "nprobe"):
                self._index.nprobe = self.config.nprobe
        return self._index

    @torch.inference_mode()
    def logits(self, pairs: np.ndarray) -> np.ndarray:
        """Full-scorer logits of row pairs, as :meth:`Predictor.link_logits` computes them (pairs grouped by their
        first user share the 2-hop expansion behind the 3-path feature, see
        :mod:`socialgraph.model.pair_kernels`)."""
        z = torch.from_numpy(self.z)
        out = []
        for i in range(0, len(pairs), self.config.score_batch):
            p = pairs[i:i + self.config.score_batch]
            structure = pair_structure(self.adjacency, p, completion=self.model.config.link_completion)
            out.append(self.model.score_links(z, torch.from_numpy(p), structure, self.inputs).numpy())
        return np.concatenate(out) if out else np.zeros(0, np.float32)

    def run(self, users: np.ndarray) -> pd.DataFrame:
        """Suggestions of the user rows ``users``: ``user_id, rank (1..k), candidate_id, score, reason``."""
        cfg = self.config
        users = np.asarray(users, dtype=np.int64)
        n = len(self.user_ids)
        seen = self.adjacency if self.visible_adjacency is None else self.visible_adjacency
        fof = fof_candidates(seen, users, cfg.fof, cfg.fof_method) if cfg.fof > 0 \
            else np.full((len(users), 0), -1, np.int64)
        blocks = [fof]
        if cfg.ann > 0:
            blocks.append(ann_candidates(self.index, self.unit, users, cfg.ann))
        rows, cand = merge_candidates(*blocks)
        u = users[rows]
        ok = (cand != u) & ~pair_member(self.friend_keys, u, cand, n) & ~pair_member(self.blocked_keys, u, cand, n)
        if len(self.hidden):
            ok &= ~np.isin(cand, self.hidden)
        rows, cand, u = rows[ok], cand[ok], u[ok]
        logits = self.logits(np.stack([u, cand], 1))
        p = self.calibration(logits)
        order = np.lexsort((cand, -self.calibration.log_odds(logits), rows))
        rows, cand, u, p = rows[order], cand[order], u[order], p[order]
        rank = np.arange(len(rows)) - np.searchsorted(rows, rows)
        keep = rank < cfg.k
        rows, cand, u, p, rank = rows[keep], cand[keep], u[keep], p[keep], rank[keep]
        return pd.DataFrame({"user_id": self.user_ids[u], "rank": (rank + 1).astype(np.int32),
                             "candidate_id": self.user_ids[cand], "score": p.astype(np.float64),
                             "reason": self._reasons(u, cand)})

    def _reasons(self, u: np.ndarray, cand: np.ndarray) -> np.ndarray:
        """``"N mutual friends"`` (hidden users not counted) or ``"similar interests"`` (met through the
        embedding neighbours only)."""
        from socialgraph.model.pair_kernels import count_common
        from socialgraph.model.pairwise import _graph_arrays

        adj = _graph_arrays(self.adjacency).adj
        skip = np.zeros(0, np.bool_)
        if len(self.hidden):
            skip = np.zeros(adj.shape[0], np.bool_)
            skip[self.hidden] = True
        cn = np.empty(len(u), np.int64)
        count_common(adj.indptr, adj.indices, np.ascontiguousarray(u, dtype=np.int64),
                     np.ascontiguousarray(cand, dtype=np.int64), skip, cn)
        # One string object per distinct count, shared by every row that has it.
        values, inverse = np.unique(cn, return_inverse=True)
        labels = np.array([f"{c} mutual friend{'s' if c != 1 else ''}" if c > 0 else "similar interests"
                           for c in values.tolist()], dtype=object)
        return labels[inverse.ravel()] if len(u) else np.zeros(0, dtype=object)
