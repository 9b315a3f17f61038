"""The one friend-suggestion pipeline: :meth:`Predictor.suggest`, ``socialgraph suggest`` (local and Ray) and any
later caller run :meth:`SuggestionPipeline.run`, with one :class:`CandidateConfig`.

For a block of asking users (rows), in order:

1. **candidates**: the ``fof`` best friends-of-friends by ``fof_method`` (Adamic-Adar by default) on the graph the
   asker may see, plus the ``ann`` nearest users by cosine similarity of the user states (a FAISS index: exact up to
   :data:`~socialgraph.predictor.candidates.EXACT_MAX_USERS` users, IVF above), merged; or candidates given by the
   caller;
2. **filter**: never the user, an existing friend, a blocked pair, a hidden user or an excluded one;
3. **score**: the full link scorer (:class:`~socialgraph.model.pair_scorer.PairScorer`), calibrated to probabilities;
4. **rank**: the ``k`` most likely per user (ties: the smaller candidate row first);
5. **reasons**: mutual friends the asker may see and whether the candidate came from the embedding neighbours only.

Hidden users count nowhere in what a row says: friends-of-friends are ranked on the friend graph without them (a
user reached only through a hidden friend is not a friend-of-friend candidate; see
:func:`~socialgraph.predictor.visibility.visible_friends`) and mutual friends are counted without them. The result
for a user depends only on that user, never on the block it is run in nor on the process that runs it.
"""
from __future__ import annotations

import typing
from dataclasses import dataclass, field
from typing import Literal, Optional

import numpy as np
import pandas as pd
import scipy.sparse as sp

from socialgraph.bundle.calibration import Calibration
from socialgraph.config import check_fields, setting
from socialgraph.data.adjacency import GraphArrays, count_common, friends_of_friends, graph_arrays, pair_member
from socialgraph.model.pair_scorer import PairScorer
from socialgraph.predictor.candidates import ann_candidates, build_index, merge_candidates
from socialgraph.predictor.reasons import headlines
from socialgraph.predictor.visibility import visible_friends


@dataclass
class CandidateConfig:
    """How suggestions are found and how many are kept: the same defaults for the Python API and the job.

    Attributes:
        k: suggestions kept per user.
        fof: friends-of-friends kept per user (the best by ``fof_method``) before re-ranking; 0: none.
        fof_method: heuristic ranking friends-of-friends: ``aa`` (Adamic-Adar), ``ra`` (resource allocation) or
            ``cn`` (common neighbours).
        ann: nearest neighbours of the user state per user before re-ranking; 0: none. With fof 30 and ann 20 the
            final top 20 holds 0.264 (Last.fm) and 0.656 (ego-facebook) of held-out friendships
            (``benchmarks/candidate_recall.py``, docs/suggestions.md).
        nprobe: IVF lists searched (graphs above ``EXACT_MAX_USERS`` users; smaller ones are searched exactly).
        seed: seeds the IVF k-means sample.
        score_batch: pairs per call of the link scorer.
    """

    k: int = setting(20, ge=1)
    fof: int = setting(30, ge=0)
    fof_method: Literal["aa", "ra", "cn"] = "aa"
    ann: int = setting(20, ge=0)
    nprobe: int = setting(16, ge=1)
    seed: int = setting(0, ge=0)
    score_batch: int = setting(16384, ge=1)

    def __post_init__(self) -> None:
        check_fields(self)


FOF_METHODS = typing.get_args(typing.get_type_hints(CandidateConfig)["fof_method"])


@dataclass
class SuggestionTable:
    """Suggestions of a block of users: one entry per (asker, suggestion), by asker (in the order asked), then rank.

    Attributes:
        users: int64 rows of the asking users.
        candidates: int64 rows of the suggested users.
        rank: int32 rank of the suggestion for its asker, 1 = best.
        score: float64 calibrated probability of the friendship.
        mutual: int64 mutual friends the asker may see.
        from_ann: whether the candidate came from the embedding neighbours only (not a friend of a friend).
    """

    users: np.ndarray
    candidates: np.ndarray
    rank: np.ndarray
    score: np.ndarray
    mutual: np.ndarray
    from_ann: np.ndarray

    def __len__(self) -> int:
        return len(self.users)

    def reasons(self) -> np.ndarray:
        """One reason per entry (:func:`~socialgraph.predictor.reasons.headlines`)."""
        return headlines(self.mutual)

    def frame(self, user_ids: np.ndarray) -> pd.DataFrame:
        """``user_id, rank, candidate_id, score, reason`` with external ids (what the job writes)."""
        return pd.DataFrame({"user_id": user_ids[self.users], "rank": self.rank,
                             "candidate_id": user_ids[self.candidates], "score": self.score,
                             "reason": self.reasons()})


@dataclass
class SuggestionPipeline:
    """Asking users in, their ranked suggestions out (see the module docstring). Build it with
    :meth:`Predictor.suggestion_pipeline <socialgraph.predictor.Predictor.suggestion_pipeline>`; it is picklable
    (the FAISS index travels serialised), so a distributed job ships it to its workers once.

    Args:
        config: candidate settings.
        scorer: the link scorer (user states, message-passing graph, inputs it reads).
        unit: ``[n, dim]`` float32 unit-length user states (the nearest-neighbour search space).
        friend_keys: sorted ``min * n + max`` keys of every known friend pair: never suggested.
        blocked_keys: sorted keys of blocked pairs: never suggested.
        hidden: sorted rows never suggested to anyone and not seen through (see :meth:`hiding`).
        calibration: logits to probabilities.
        user_ids: external ids of the rows (for :meth:`SuggestionTable.frame`).
        index_bytes: the serialised FAISS index over ``unit`` (``None``: built on first use, or ``ann == 0``).
    """

    config: CandidateConfig
    scorer: PairScorer
    unit: np.ndarray
    friend_keys: np.ndarray
    blocked_keys: np.ndarray
    hidden: np.ndarray
    calibration: Calibration
    user_ids: np.ndarray
    index_bytes: Optional[np.ndarray] = None
    _seen: Optional[GraphArrays] = field(default=None, repr=False)
    _index: object = field(default=None, repr=False)

    def __getstate__(self) -> dict:
        self.index_bytes = self.serialised_index()
        state = dict(self.__dict__)
        state["_index"] = None  # FAISS objects do not pickle; their bytes travel instead
        return state

    # ------------------------------------------------------------------ what the pipeline reads
    @property
    def num_users(self) -> int:
        return len(self.unit)

    @property
    def seen(self) -> GraphArrays:
        """The friend graph as the askers see it: the message-passing graph without the hidden users' columns
        (friends-of-friends and mutual friends are found on it)."""
        if self._seen is None:
            mp = self.scorer.graph
            self._seen = mp if not len(self.hidden) else graph_arrays(visible_friends(mp.adj, self.hidden))
        return self._seen

    @property
    def index(self):
        """The FAISS index over :attr:`unit` (``None`` when ``ann`` is 0)."""
        if self._index is None and self.config.ann > 0:
            import faiss

            if self.index_bytes is None:
                self._index = build_index(self.unit, self.config.seed, self.config.nprobe)
            else:
                self._index = faiss.deserialize_index(self.index_bytes)
                if hasattr(self._index, "nprobe"):
                    self._index.nprobe = self.config.nprobe
        return self._index

    def serialised_index(self) -> Optional[np.ndarray]:
        if self.index_bytes is None and self.index is not None:
            import faiss

            self.index_bytes = faiss.serialize_index(self.index)
        return self.index_bytes

    def hiding(self, rows: np.ndarray) -> "SuggestionPipeline":
        """This pipeline for an asker who may not see ``rows`` either (the same scorer, index and filters)."""
        rows = np.union1d(self.hidden, np.asarray(rows, dtype=np.int64))
        if len(rows) == len(self.hidden):
            return self
        return SuggestionPipeline(self.config, self.scorer, self.unit, self.friend_keys, self.blocked_keys, rows,
                                  self.calibration, self.user_ids, self.index_bytes, None, self._index)

    # ------------------------------------------------------------------ the stages
    def run(self, users: np.ndarray, *, k: Optional[int] = None, exclude: Optional[np.ndarray] = None,
            candidates: Optional[np.ndarray] = None) -> SuggestionTable:
        """The ``k`` (default ``config.k``) best suggestions of each user row in ``users``.

        Args:
            users: int rows of the asking users.
            exclude: rows never suggested to any of them (besides friends, blocked pairs and hidden users).
            candidates: rows to rank for every asker instead of generating candidates.
        """
        users = np.asarray(users, dtype=np.int64).ravel()
        k = self.config.k if k is None else int(k)
        if candidates is None:
            local, cand, from_ann = self.candidates(users)
        else:
            cand = np.unique(np.asarray(candidates, dtype=np.int64))
            local = np.repeat(np.arange(len(users)), len(cand))
            cand = np.tile(cand, len(users))
            from_ann = np.zeros(len(cand), bool)
        keep = self.allowed(users[local], cand, exclude)
        return self.rank(users, local[keep], cand[keep], from_ann[keep], k)

    def candidates(self, users: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(local, cand, from_ann)``: distinct (asker position in ``users``, candidate row) pairs by asker then
        candidate, and whether each came from the embedding neighbours only."""
        cfg = self.config
        fof = friends_of_friends(self.seen, users, cfg.fof, cfg.fof_method) if cfg.fof > 0 \
            else np.full((len(users), 0), -1, np.int64)
        ann = ann_candidates(self.index, self.unit, users, cfg.ann) if cfg.ann > 0 \
            else np.full((len(users), 0), -1, np.int64)
        local, cand = merge_candidates(fof, ann)
        width = np.int64(self.num_users)
        f = fof[fof >= 0]
        fof_keys = np.sort(np.repeat(np.arange(len(users)), fof.shape[1])[(fof >= 0).ravel()] * width + f)
        keys = local * width + cand
        pos = np.minimum(np.searchsorted(fof_keys, keys), max(len(fof_keys) - 1, 0))
        from_ann = ~(fof_keys[pos] == keys) if len(fof_keys) else np.ones(len(keys), bool)
        return local, cand, from_ann

    def allowed(self, users: np.ndarray, cand: np.ndarray, exclude: Optional[np.ndarray] = None) -> np.ndarray:
        """Which ``(users[i], cand[i])`` pairs may be suggested: not the user, a friend, a blocked pair, a hidden
        user, nor ``exclude``."""
        n = self.num_users
        ok = (cand != users) & ~pair_member(self.friend_keys, users, cand, n) \
            & ~pair_member(self.blocked_keys, users, cand, n)
        if len(self.hidden):
            ok &= ~np.isin(cand, self.hidden)
        if exclude is not None and len(exclude):
            ok &= ~np.isin(cand, exclude)
        return ok

    def rank(self, users: np.ndarray, local: np.ndarray, cand: np.ndarray, from_ann: np.ndarray,
             k: int) -> SuggestionTable:
        """Score the allowed pairs, keep each asker's ``k`` best (ties: smaller candidate row first), count the
        mutual friends of what is kept."""
        u = users[local]
        logits = self.scorer.logits(np.stack([u, cand], 1))
        order = np.lexsort((cand, -self.calibration.log_odds(logits), local))
        local, cand, u, logits, from_ann = local[order], cand[order], u[order], logits[order], from_ann[order]
        rank = np.arange(len(local)) - np.searchsorted(local, local)
        keep = rank < k
        local, cand, u, logits, from_ann, rank = (a[keep] for a in (local, cand, u, logits, from_ann, rank))
        return SuggestionTable(u, cand, (rank + 1).astype(np.int32), self.calibration(logits).astype(np.float64),
                               count_common(self.seen, u, cand), from_ann)
