"""A trained model with everything needed to use it: encoders, encoded inputs, the graph it passes messages over.

:class:`FittedModel` is what the trainer returns, what a bundle stores and what the predictor wraps. All its
methods take and return row indices; external ids are the predictor's business.

It works on whatever device its model is on: the inputs and edge indices are taken there for message passing, the
cached states stay there, and the scores it returns are CPU numpy arrays.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import scipy.sparse as sp
import torch

from socialgraph.bundle.config import Config
from socialgraph.bundle.inputs import EncodedGraph
from socialgraph.data.adjacency import adjacency_from_edges
from socialgraph.data.graph import SocialGraph
from socialgraph.model.autoencoder import undirected_edge_index
from socialgraph.model.graph_encoder import ENGAGES, FRIEND, REV_ENGAGES
from socialgraph.model.pair_scorer import PairScorer
from socialgraph.model.social_model import SocialModel


@dataclass
class FittedModel:
    """Model + inputs + the message-passing graph (training friend pairs and training engagements).

    Attributes:
        config: the run's configuration.
        model: the trained network (eval mode).
        graph: the graph as given (ids, attributes); ``friends`` of ``graph`` is not used for message passing.
        encoded: fitted encoders and encoded inputs.
        mp_edges: undirected friend pairs used for message passing and structural features.
        mp_engagements: engagement rows (into ``graph.engagements``) used as edges / history.
        engagement_kind: ``implicit`` or ``explicit``.
        preference: source and category names of the preference head, if any.
        metrics: evaluation results recorded at training time.
    """

    config: Config
    model: SocialModel
    graph: SocialGraph
    encoded: EncodedGraph
    mp_edges: np.ndarray
    mp_engagements: Optional[np.ndarray] = None
    engagement_kind: Optional[str] = None
    preference_source: Optional[str] = None
    preference_names: list = field(default_factory=list)
    metrics: dict = field(default_factory=dict)
    _z: Optional[dict] = field(default=None, repr=False)
    _adj: Optional[sp.csr_matrix] = field(default=None, repr=False)
    _scorer: Optional[PairScorer] = field(default=None, repr=False)

    # ------------------------------------------------------------------ graph used at prediction time
    @property
    def adjacency(self) -> sp.csr_matrix:
        if self._adj is None:
            self._adj = adjacency_from_edges(self.mp_edges, self.graph.num_users)
        return self._adj

    @property
    def device(self) -> torch.device:
        """The device of the model's parameters (where message passing runs and the cached states live)."""
        return self.model.device

    def edge_index(self) -> dict[tuple, torch.Tensor]:
        return build_edge_index(self.mp_edges, self.graph, self.mp_engagements, self.device)

    def invalidate(self) -> None:
        """Forget cached embeddings (after the graph or inputs change)."""
        self._z, self._adj, self._scorer = None, None, None

    # ------------------------------------------------------------------ embeddings and scores
    @torch.no_grad()
    def embeddings(self) -> dict[str, torch.Tensor]:
        """Node states of every user (and item) after message passing, computed once and cached (on the model's
        device)."""
        if self._z is None:
            self.model.eval()
            device, items = self.device, self.encoded.items
            self._z = self.model(self.encoded.users.to(device), self.edge_index(),
                                 None if items is None else items.to(device))
        return self._z

    def pair_scorer(self) -> PairScorer:
        """The link scorer over the cached states and the message-passing graph (kept until :meth:`invalidate`)."""
        if self._scorer is None:
            self._scorer = PairScorer(self.model, self.embeddings()["user"], self.adjacency, self.encoded.users)
        return self._scorer

    def link_logits(self, pairs: np.ndarray) -> np.ndarray:
        """Link logits of user-row pairs ``[B, 2]`` (:meth:`PairScorer.logits`)."""
        return self.pair_scorer().logits(pairs)

    @torch.no_grad()
    def engagement_scores(self, users: np.ndarray) -> np.ndarray:
        """Predicted engagement of ``users`` with every item, ``[len(users), num_items]``."""
        if self.model.engagement is None:
            raise ValueError("this model has no engagement head (the training graph had no engagements)")
        z = self.embeddings()
        rows = torch.as_tensor(users, device=self.device)
        return self.model.engagement.all_items(z["user"], z["item"], rows).cpu().numpy()

    @torch.no_grad()
    def preference_scores(self, users: np.ndarray) -> np.ndarray:
        """Predicted category distribution ``[len(users), C]`` (softmax of the preference head)."""
        if self.model.preference is None:
            raise ValueError("this model has no preference head (no category column was found in the data)")
        z = self.embeddings()["user"][torch.as_tensor(users, device=self.device)]
        return torch.softmax(self.model.preference(z), dim=1).cpu().numpy()


def build_edge_index(friend_pairs: np.ndarray, graph: SocialGraph, engagement_rows: Optional[np.ndarray],
                     device: Optional[torch.device] = None) -> dict[tuple, torch.Tensor]:
    """PyG edge indices (on ``device``; default the CPU): friendships in both directions, and engagements both ways
    when given."""
    out = {FRIEND: undirected_edge_index(friend_pairs).to(device)}
    if engagement_rows is not None and graph.engagements is not None:
        e = torch.from_numpy(np.ascontiguousarray(graph.engagements[engagement_rows].T)).to(device)
        out[ENGAGES] = e
        out[REV_ENGAGES] = e.flip(0)
    return out
