"""The prediction API over a trained bundle: score pairs, suggest friends, explain a pair, embed new users.

Everything here takes and returns *external* user ids; rows are internal. The predictor never trains: it wraps a
:class:`~socialgraph.bundle.fitted.FittedModel` loaded from a bundle, caches the user states after message passing
(computed once, recomputed only when users or edges are added) and scores with the full link scorer
(embeddings, common-neighbour pooling and pairwise structure), turning logits into probabilities with the
calibration recorded at training time.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import Any, Iterable, Optional, Sequence, Union

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch

from socialgraph.bundle.calibration import Calibration
from socialgraph.bundle.fitted import FittedModel
from socialgraph.data.adjacency import adjacency_from_edges, pair_keys
from socialgraph.data.graph import SocialGraph, canonical_pairs
from socialgraph.model.device import DeviceLike, resolve_device
from socialgraph.model.pair_scorer import PairScorer
from socialgraph.predictor.candidates import normalise
from socialgraph.predictor.device import fitted_to
from socialgraph.predictor.embed import node_states
from socialgraph.predictor.errors import HiddenUserError, UnknownUserError
from socialgraph.predictor.explain import PairExplainer
from socialgraph.predictor.explanation import Explanation, plain
from socialgraph.predictor.new_users import append_user, feature_row
from socialgraph.predictor.reasons import ProfileFields, headlines, suggestion_reasons
from socialgraph.predictor.suggestions import CandidateConfig, SuggestionPipeline, SuggestionTable

PairsLike = Union[np.ndarray, Sequence[Sequence[Any]], pd.DataFrame]


@dataclass
class Suggestion:
    """One suggested friend: its id, calibrated probability, number of visible mutual friends and reasons."""

    user_id: Any
    score: float
    mutual_friends: int = 0
    reasons: list[str] = field(default_factory=list)

    @property
    def reason(self) -> str:
        """The headline reason, the one the offline job writes (``"3 mutual friends"``, ``"similar interests"``)."""
        return str(headlines([self.mutual_friends])[0])


class Predictor:
    """Score, suggest and explain friendships with a trained model.

    Args:
        fitted: a trained model (usually from :meth:`load`).
        hidden: external ids of users who must never be suggested nor shown as mutual friends.
        blocked: extra external-id pairs never to suggest to each other (the graph's own ``blocked`` always apply).
        layerwise: compute user states block by block (default: for graphs of 100,000 users and more).
        candidate_config: how :meth:`suggest` finds and keeps suggestions (the job's settings are the same
            :class:`~socialgraph.predictor.suggestions.CandidateConfig`).
        device: where the model computes: ``None`` / ``"auto"`` (CUDA when available, else the CPU), ``"cpu"``,
            ``"cuda"``, ``"cuda:N"`` or a :class:`torch.device`. The model and the encoded inputs of ``fitted``
            are moved there once, here (in place: ``fitted`` is the predictor's from now on); user states, scores,
            explanations and new users' rows are then computed there, and whatever is returned is on the CPU
            (numpy arrays, floats). A CUDA device this machine lacks raises ``ValueError``. On the CPU nothing
            moves and results are those of a predictor without the setting.
    """

    def __init__(self, fitted: FittedModel, *, hidden: Iterable = (), blocked: Optional[PairsLike] = None,
                 layerwise: Optional[bool] = None, candidate_config: Optional[CandidateConfig] = None,
                 device: DeviceLike = None) -> None:
        self.device = resolve_device(device)
        fitted_to(fitted, self.device)
        self.fitted = fitted
        self.calibration = Calibration.from_metrics(fitted.metrics)
        self.layerwise = layerwise
        self.candidate_config = candidate_config or CandidateConfig()
        g = fitted.graph
        self._friend_pairs = canonical_pairs(np.r_[g.friends.reshape(-1, 2), np.asarray(fitted.mp_edges).reshape(-1, 2)])
        own = np.zeros((0, 2), np.int64) if g.blocked is None else np.asarray(g.blocked, np.int64).reshape(-1, 2)
        self._blocked = own
        self._hidden: set[int] = set()
        self._new_users = 0
        self._reset()
        if blocked is not None:
            self.block(blocked)
        self.hide(hidden)

    # ------------------------------------------------------------------ construction
    @classmethod
    def load(cls, bundle: Union[str, os.PathLike], *, key: Union[str, bytes, None] = None,
             device: DeviceLike = None, **kwargs: Any) -> "Predictor":
        """Load a bundle, verified first: an incomplete, modified, unlisted-file-holding or incompatible one raises
        :class:`~socialgraph.bundle.format.BundleError`, one line naming the file and what to do.

        Args:
            bundle: the bundle folder written by ``socialgraph train`` / :func:`~socialgraph.bundle.format.save_bundle`.
            key: the signing key (default ``$SOCIALGRAPH_BUNDLE_KEY``); with one, the bundle's ``manifest.sig`` must
                verify, without one it is not checked (see :mod:`socialgraph.bundle.format`).
            device: where to compute (see :class:`Predictor`); checked before the bundle is read, so a CUDA
                device this machine lacks raises ``ValueError`` at once. The bundle is read on the CPU and moved.
            **kwargs: passed to :class:`Predictor` (``hidden``, ``blocked``, ``layerwise``, ``candidate_config``).
        """
        from socialgraph.bundle.format import load_bundle

        dev = resolve_device(device)
        return cls(load_bundle(bundle, key=key), device=dev, **kwargs)

    def save(self, path: Union[str, os.PathLike], *, overwrite: bool = False,
             key: Union[str, bytes, None] = None) -> "os.PathLike":
        """Write the model with everything added since loading (users, friendships) as a bundle, atomically: a
        reader of ``path`` sees the old bundle or the new one, never a mix (see
        :func:`~socialgraph.bundle.format.save_bundle`). Hidden users and blocked pairs given to this predictor are
        not part of the bundle; the graph's own blocked pairs are."""
        from socialgraph.bundle.format import save_bundle

        return save_bundle(self.fitted, path, overwrite=overwrite, key=key)  # writes CPU tensors from any device

    def _reset(self) -> None:
        self._z: Optional[dict[str, torch.Tensor]] = None
        self._unit: Optional[np.ndarray] = None
        self._friend_adj: Optional[sp.csr_matrix] = None
        self._friend_keys: Optional[np.ndarray] = None
        self._blocked_keys: Optional[np.ndarray] = None
        self._scorer: Optional[PairScorer] = None
        self._pipeline: Optional[SuggestionPipeline] = None
        self._fields: Optional[ProfileFields] = None
        # Explanations keep the last asker's view (the graph without their hidden users and its user states).
        self._explainer: Optional[PairExplainer] = None

    # ------------------------------------------------------------------ graph state
    @property
    def graph(self) -> SocialGraph:
        return self.fitted.graph

    @property
    def num_users(self) -> int:
        return self.fitted.graph.num_users

    @property
    def adjacency(self) -> sp.csr_matrix:
        """The friend graph messages pass over and structural features come from (rows x rows)."""
        return self.fitted.adjacency

    @property
    def friend_adjacency(self) -> sp.csr_matrix:
        """Every known friendship (the graph's friends, message-passing pairs and added edges): never suggested."""
        if self._friend_adj is None:
            self._friend_adj = adjacency_from_edges(self._friend_pairs, self.num_users)
        return self._friend_adj

    def friend_keys(self) -> np.ndarray:
        """Sorted ``min * n + max`` keys of every known friend pair (``n`` = current number of users)."""
        if self._friend_keys is None:
            self._friend_keys = pair_keys(self._friend_pairs, self.num_users)
        return self._friend_keys

    def blocked_keys(self) -> np.ndarray:
        """Sorted ``min * n + max`` keys of blocked pairs."""
        if self._blocked_keys is None:
            self._blocked_keys = pair_keys(self._blocked, self.num_users)
        return self._blocked_keys

    @property
    def hidden_rows(self) -> np.ndarray:
        return np.array(sorted(self._hidden), dtype=np.int64)

    def is_hidden(self, row: int) -> bool:
        """Whether the user at ``row`` is hidden (never suggested, never shown as a mutual friend)."""
        return int(row) in self._hidden

    def hide(self, ids: Iterable) -> None:
        """Never suggest these users, nor show them as mutual friends."""
        self._hidden.update(self.rows(list(ids)).tolist())
        self._pipeline = None

    def block(self, pairs: PairsLike) -> None:
        """Never suggest the users of each pair to each other."""
        self.block_rows(self.pair_rows(pairs))

    def block_rows(self, rows: np.ndarray) -> None:
        """:meth:`block` for pairs of user rows ``[P, 2]``."""
        self._blocked = np.r_[self._blocked, np.asarray(rows, dtype=np.int64).reshape(-1, 2)]
        self._blocked_keys = None
        self._pipeline = None

    def rows(self, ids: Iterable, what: str = "user") -> np.ndarray:
        """Rows of external ids; :class:`UnknownUserError` names the first unknown one."""
        try:
            return self.graph.user_index(ids)
        except KeyError as err:
            raise UnknownUserError(f"{err.args[0]}; to score a new user pass its features "
                                   f"(Predictor.add_user or score(..., features={{id: {{...}}}}))") from None

    def pair_rows(self, pairs: PairsLike) -> np.ndarray:
        """``[P, 2]`` rows of pairs given as an array / list of id pairs or a DataFrame (``src``, ``dst`` columns,
        else its first two); an unknown id raises :class:`UnknownUserError` naming the pair's position."""
        if isinstance(pairs, pd.DataFrame):
            cols = ["src", "dst"] if {"src", "dst"} <= set(pairs.columns) else list(pairs.columns[:2])
            if len(cols) < 2:
                raise ValueError(f"pairs table needs two columns (src, dst), got {list(pairs.columns)}")
            a, b = pairs[cols[0]].tolist(), pairs[cols[1]].tolist()
        else:
            arr = np.asarray(pairs, dtype=object)
            if arr.size == 0:
                return np.zeros((0, 2), np.int64)
            if arr.ndim != 2 or arr.shape[1] != 2:
                raise ValueError(f"pairs must have shape [P, 2], got {arr.shape}")
            a, b = arr[:, 0].tolist(), arr[:, 1].tolist()
        out = np.empty((len(a), 2), np.int64)
        for j, col in enumerate((a, b)):
            try:
                out[:, j] = self.graph.user_index(col)
            except KeyError:
                for i, x in enumerate(col):
                    try:
                        self.graph.user_index([x])
                    except KeyError:
                        raise UnknownUserError(f"pair {i} ({a[i]!r}, {b[i]!r}): unknown user id {x!r}; the model "
                                               f"knows {self.num_users} users") from None
        return out

    # ------------------------------------------------------------------ embeddings and scores
    def embeddings(self) -> dict[str, torch.Tensor]:
        """User (and item) states after message passing, cached until users or edges change."""
        if self._z is None:
            f = self.fitted
            self._z = node_states(f.model, f.encoded.users, f.encoded.items, f.adjacency, f.edge_index,
                                  layerwise=self.layerwise)
        return self._z

    def user_embeddings(self) -> np.ndarray:
        """``[num_users, dim]`` float32 user states (a CPU array, whatever the device)."""
        return self.embeddings()["user"].cpu().numpy()

    def unit_embeddings(self) -> np.ndarray:
        """User states scaled to unit length (cosine similarity = inner product)."""
        if self._unit is None:
            self._unit = normalise(self.user_embeddings())
        return self._unit

    def pair_scorer(self) -> PairScorer:
        """The link scorer over the current user states and friend graph (kept until users or edges change)."""
        if self._scorer is None:
            self._scorer = PairScorer(self.fitted.model, self.embeddings()["user"], self.adjacency,
                                      self.fitted.encoded.users)
        return self._scorer

    def link_logits(self, pairs: np.ndarray) -> np.ndarray:
        """Raw link logits of user-*row* pairs ``[P, 2]`` with the full scorer (:meth:`PairScorer.logits`; the
        same values as ``FittedModel.link_logits``)."""
        return self.pair_scorer().logits(pairs)

    def probabilities(self, logits: np.ndarray) -> np.ndarray:
        return self.calibration(logits)

    def score(self, u: Any, v: Any, *, features: Optional[dict] = None) -> float:
        """Probability that ``u`` and ``v`` become friends. ``features`` maps an unknown id to its feature dict:
        that user is then added first (as :meth:`add_user` does, with no friends) and scored cold-start."""
        self._add_unknown([u, v], features)
        r = self.rows([u, v])
        return float(self.calibration(self.link_logits(r.reshape(1, 2)))[0])

    def score_pairs(self, pairs: PairsLike, *, features: Optional[dict] = None) -> Union[np.ndarray, pd.DataFrame]:
        """Probabilities of many pairs (array / list of id pairs -> ``[P]`` array; DataFrame -> a copy with a
        ``score`` column)."""
        if features:
            ids = pairs[["src", "dst"]].to_numpy(object).ravel() if isinstance(pairs, pd.DataFrame) \
                else np.asarray(pairs, dtype=object).ravel()
            self._add_unknown(ids.tolist(), features)
        p = self.calibration(self.link_logits(self.pair_rows(pairs)))
        if isinstance(pairs, pd.DataFrame):
            out = pairs.copy()
            out["score"] = p
            return out
        return p

    def _add_unknown(self, ids: list, features: Optional[dict]) -> None:
        if not features:
            return
        for x in dict.fromkeys(ids):
            if x in features:
                try:
                    self.graph.user_index([x])
                except KeyError:
                    self.add_user(features[x], user_id=x)

    # ------------------------------------------------------------------ suggestions
    def suggestion_pipeline(self, config: Optional[CandidateConfig] = None) -> SuggestionPipeline:
        """The suggestion pipeline over this predictor's users, filters and hidden users (see
        :mod:`~socialgraph.predictor.suggestions`): what :meth:`suggest` runs for one user and the offline job
        for every user. ``config`` defaults to the predictor's ``candidate_config``."""
        if config is not None and config != self.candidate_config:
            return self._pipeline_for(config)
        if self._pipeline is None:
            self._pipeline = self._pipeline_for(self.candidate_config)
        return self._pipeline

    def _pipeline_for(self, config: CandidateConfig) -> SuggestionPipeline:
        scorer = self.pair_scorer()
        if config.score_batch != scorer.batch_size:
            scorer = replace(scorer, batch_size=config.score_batch)
        return SuggestionPipeline(config, scorer, self.unit_embeddings(), self.friend_keys(), self.blocked_keys(),
                                  self.hidden_rows, self.calibration, np.asarray(self.graph.user_ids))

    def suggest(self, user: Any, k: Optional[int] = None, *, exclude: Iterable = (),
                candidates: Optional[Iterable] = None, hidden: Iterable = ()) -> list[Suggestion]:
        """The ``k`` (default: ``candidate_config.k``) most likely new friends of ``user``, best first.

        Candidates are ``candidates`` (external ids) when given, else the best friends-of-friends and the nearest
        users by embedding (``candidate_config``). Never suggested: the user, existing friends, blocked pairs,
        hidden users (the predictor's and ``hidden``), and ``exclude``. Hidden users count nowhere in what a
        suggestion says: friends-of-friends are ranked, and mutual friends counted, on the graph without them (a
        user reached only through a hidden friend is not proposed as a friend of a friend). The offline job gives
        every user exactly these suggestions.
        """
        k = self.candidate_config.k if k is None else k
        if k <= 0:
            return []
        r = int(self.rows([user])[0])
        pipeline = self.suggestion_pipeline().hiding(self.rows(list(hidden)))
        table = pipeline.run(np.array([r]), k=k, exclude=self.rows(list(exclude)),
                             candidates=None if candidates is None else self.rows(list(candidates)))
        return self._suggestions(table)

    def _suggestions(self, table: SuggestionTable) -> list[Suggestion]:
        if self._fields is None:
            self._fields = ProfileFields(self.graph.user_attrs)
        unit, fields, ids = self.unit_embeddings(), self._fields, self.graph.user_ids
        out = []
        for r, c, p, mutual, ann in zip(table.users.tolist(), table.candidates.tolist(), table.score.tolist(),
                                        table.mutual.tolist(), table.from_ann.tolist()):
            reasons = suggestion_reasons(mutual, fields, r, c, float(unit[r] @ unit[c]), ann)
            out.append(Suggestion(plain(ids[c]), p, mutual, reasons))
        return out

    # ------------------------------------------------------------------ explanations
    @torch.no_grad()
    def explain(self, u: Any, v: Any, *, hidden: Iterable = (), top_neighbours: int = 5) -> Explanation:
        """Why ``u`` and ``v`` score as they do (see :class:`~socialgraph.predictor.explanation.Explanation`), told
        to an asker who may not see ``hidden`` (external ids) nor the predictor's hidden users.

        Nothing in the explanation depends on a hidden user: the score, the heuristics, the mutual friends and
        the attention are all computed on the graph without the hidden users' friendships and engagements, with
        every other user's degree recomputed without them (:mod:`~socialgraph.predictor.visibility`). With nothing
        hidden that is the predictor's own graph, and ``score`` equals :meth:`score`. Hidden users who have edges
        cost one pass of message passing over the whole graph (kept for the next call with the same hidden set).

        Raises:
            UnknownUserError: ``u``, ``v`` or a hidden id is not a known user.
            HiddenUserError: ``u`` or ``v`` is hidden from the asker (a subclass of :class:`UnknownUserError`).
            ValueError: ``u`` and ``v`` are the same user.
        """
        r = self.rows([u, v])
        if r[0] == r[1]:
            raise ValueError(f"explain takes two different users; got {u!r} twice")
        hide = frozenset(self._hidden) | frozenset(self.rows(list(hidden)).tolist())
        for x, row in zip((u, v), r.tolist()):
            if row in hide:
                raise HiddenUserError(f"user {x!r} is hidden from the asker; a pair with a hidden user cannot be "
                                      f"explained")
        if self._explainer is None:
            self._explainer = PairExplainer(self)
        return self._explainer.explain(r, hide, top_neighbours)

    # ------------------------------------------------------------------ new users and edges
    def add_user(self, features: dict, friends: Iterable = (), *, user_id: Any = None,
                 items: Iterable = ()) -> Any:
        """Add a brand-new user from its features (attribute column -> value, as in the users table) and zero or
        more friends (external ids); returns its id. No retraining: the features go through the bundle's fitted
        encoders, the row gets no trained id vector (``known=False``), and user states are recomputed with the
        new edges. ``items`` are item ids the user engaged with (for the interaction-history modality)."""
        g = self.graph
        friends = list(friends)
        friend_rows = self.rows(friends) if friends else np.zeros(0, np.int64)
        if user_id is None:
            user_id = self._next_id()
        else:
            try:
                g.user_index([user_id])
            except KeyError:
                pass
            else:
                raise ValueError(f"user id {user_id!r} already exists; pick a new id or use add_edges")
        append_user(self.fitted, feature_row(g, features), user_id, friend_rows, list(items))
        self._new_users += 1
        new_edges = np.stack([friend_rows, np.full(len(friend_rows), self.num_users - 1)], 1)
        self._add_edge_rows(new_edges)
        return user_id

    def suggest_for_new_user(self, features: dict, friends: Iterable = (), k: int = 20, *, user_id: Any = None,
                             **kwargs) -> list[Suggestion]:
        """:meth:`add_user`, then :meth:`suggest` for that user."""
        uid = self.add_user(features, friends, user_id=user_id)
        return self.suggest(uid, k, **kwargs)

    def add_edges(self, pairs: PairsLike) -> None:
        """Add friendships (external-id pairs): they join candidate generation, structural features and message
        passing, and are never suggested again."""
        self._add_edge_rows(self.pair_rows(pairs))

    def _add_edge_rows(self, rows: np.ndarray) -> None:
        rows = canonical_pairs(rows)
        f = self.fitted
        f.mp_edges = canonical_pairs(np.r_[np.asarray(f.mp_edges).reshape(-1, 2), rows])
        self._friend_pairs = canonical_pairs(np.r_[self._friend_pairs, rows])
        f.invalidate()
        self._reset()

    def _next_id(self) -> Any:
        ids = np.asarray(self.graph.user_ids)
        if np.issubdtype(ids.dtype, np.integer):
            return int(ids.max()) + 1 if len(ids) else 0
        while True:
            cand = f"new-{self._new_users}"
            try:
                self.graph.user_index([cand])
            except KeyError:
                return cand
            self._new_users += 1

    # ------------------------------------------------------------------ content
    @torch.no_grad()
    def recommend(self, user: Any, k: int = 10) -> pd.DataFrame:
        """Items ranked by predicted engagement (items the user already engaged with left out):
        ``item_id, score``."""
        head = self.fitted.model.engagement
        if head is None:
            raise ValueError("this model has no engagement head (its training graph had no engagements)")
        r = int(self.rows([user])[0])
        z = self.embeddings()
        dev = z["user"].device
        s = head.all_items(z["user"], z["item"], torch.tensor([r], device=dev),
                           known=torch.tensor([self._known(r)], device=dev))
        s = s[0].cpu().numpy().astype(np.float64)
        g = self.graph
        if g.engagements is not None:
            s[g.engagements[g.engagements[:, 0] == r, 1]] = -np.inf
        order = np.lexsort((np.arange(len(s)), -s))
        order = order[np.isfinite(s[order])][:k]
        return pd.DataFrame({"item_id": np.asarray(g.item_ids)[order], "score": s[order]})

    @torch.no_grad()
    def preferences(self, user: Any) -> dict[str, float]:
        """Predicted content categories with weights (summing to 1), largest first."""
        head = self.fitted.model.preference
        if head is None:
            raise ValueError("this model has no preference head (no category column was found in the data)")
        r = int(self.rows([user])[0])
        p = torch.softmax(head(self.embeddings()["user"][r:r + 1]), dim=1)[0].cpu().numpy()
        names = self.fitted.preference_names or [str(i) for i in range(len(p))]
        return {names[i]: float(p[i]) for i in np.argsort(-p, kind="stable")}

    def similar_users(self, user: Any, k: int = 10) -> pd.DataFrame:
        """The ``k`` users whose states after fusion and message passing are closest in cosine similarity:
        ``user_id, similarity`` (the user itself and hidden users left out)."""
        r = int(self.rows([user])[0])
        u = self.unit_embeddings()
        sims = (u @ u[r]).astype(np.float64)
        sims[r] = -np.inf
        if self._hidden:
            sims[self.hidden_rows] = -np.inf
        order = np.lexsort((np.arange(len(sims)), -sims))
        order = order[np.isfinite(sims[order])][:k]
        return pd.DataFrame({"user_id": np.asarray(self.graph.user_ids)[order], "similarity": sims[order]})

    def _known(self, row: int) -> bool:
        k = self.fitted.encoded.users.known
        return k is None or bool(k[row])
