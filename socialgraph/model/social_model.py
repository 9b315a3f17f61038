"""The whole model: modality fusion -> attention GNN -> heads.

Input states: for node type ``t`` (``user``, ``item``) the fused modalities (:class:`ModalityFusion`) plus, when
enabled, a learned id vector (zero for users the model has never seen, so new users rely on their features and
friends). :class:`GraphEncoder` refines them over the friend (and engagement) graph; the heads read the result.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import torch
from torch import Tensor, nn

from socialgraph.model.config import ModelConfig
from socialgraph.model.fusion import ModalityFusion
from socialgraph.model.graph_encoder import GraphEncoder
from socialgraph.model.heads.engagement import EngagementHead
from socialgraph.model.heads.link import LinkScorer, feature_similarity
from socialgraph.model.heads.preference import PreferenceHead
from socialgraph.model.heads.reconstruction import FeatureDecoder
from socialgraph.model.pairwise import PairStructure


@dataclass
class NodeInputs:
    """Encoded modalities of one node type: ``x[m]`` ``[n, d_m]`` and presence ``mask[m]`` ``[n]``.

    ``known`` marks rows whose id vector was trained (all rows during training; new users at prediction time are
    unknown and get no id vector). ``positions`` ``[n, k]`` are the users' spectral positions in the training graph
    (:mod:`~socialgraph.model.spectral`) followed by their graph-autoencoder states
    (:mod:`~socialgraph.model.autoencoder`), present when the link scorer reads them.
    """

    num: int
    x: dict[str, Tensor] = field(default_factory=dict)
    mask: dict[str, Tensor] = field(default_factory=dict)
    known: Optional[Tensor] = None
    positions: Optional[Tensor] = None

    def rows(self, index: Tensor) -> "NodeInputs":
        return NodeInputs(len(index), {m: v[index] for m, v in self.x.items()},
                          {m: v[index] for m, v in self.mask.items()},
                          None if self.known is None else self.known[index],
                          None if self.positions is None else self.positions[index])

    def to(self, device: torch.device | str) -> "NodeInputs":
        """The same inputs with every tensor on ``device`` (``self`` when they all are there already)."""
        device = torch.device(device)
        tensors = [*self.x.values(), *self.mask.values(), self.known, self.positions]
        if all(t is None or t.device == device for t in tensors):
            return self

        def move(t: Optional[Tensor]) -> Optional[Tensor]:
            return None if t is None else t.to(device)
        return NodeInputs(self.num, {m: move(v) for m, v in self.x.items()},
                          {m: move(v) for m, v in self.mask.items()}, move(self.known), move(self.positions))


@dataclass
class ModelShape:
    """Sizes the model is built for (saved in a bundle, so a bundle rebuilds the same modules)."""

    num_users: int
    user_dims: dict[str, int]
    num_items: int = 0
    item_dims: dict[str, int] = field(default_factory=dict)
    num_categories: int = 0


class SocialModel(nn.Module):
    """Fusion, attention GNN and the link / engagement / preference / reconstruction heads."""

    def __init__(self, config: ModelConfig, shape: ModelShape) -> None:
        super().__init__()
        self.config, self.shape = config, shape
        dim = config.dim
        self.user_fusion = ModalityFusion(shape.user_dims, dim, config.fusion, config.modality_dropout) \
            if shape.user_dims else None
        self.item_fusion = ModalityFusion(shape.item_dims, dim, config.fusion, config.modality_dropout) \
            if shape.item_dims else None
        self.user_id = nn.Embedding(shape.num_users, dim) if (config.id_embedding or not shape.user_dims) else None
        self.item_id = nn.Embedding(shape.num_items, dim) if shape.num_items else None
        self.hetero = bool(config.hetero and shape.num_items)
        self.encoder = GraphEncoder(dim, config.layers, config.heads, config.conv, config.dropout, hetero=self.hetero)
        self.link = LinkScorer(dim, config.link_hidden, config.link_common_neighbours, config.link_structure,
                               config.dropout,
                               num_similarities=len(shape.user_dims) if config.link_feature_similarity != "off" else 0,
                               similarity_cold_only=config.link_feature_similarity == "cold",
                               use_completion=config.link_completion > 0,
                               num_positions=config.link_spectral + config.link_autoencoder)
        self.engagement = EngagementHead(dim, shape.num_users, shape.num_items) if shape.num_items else None
        self.preference = PreferenceHead(dim, shape.num_categories) if shape.num_categories else None
        self.reconstruction = FeatureDecoder(dim, shape.user_dims) if shape.user_dims else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for emb in (self.user_id, self.item_id):
            if emb is not None:
                nn.init.normal_(emb.weight, std=0.1)
        for m in (self.user_fusion, self.item_fusion, self.encoder, self.link, self.engagement, self.preference,
                  self.reconstruction):
            if m is not None:
                m.reset_parameters()

    def _input(self, fusion: Optional[ModalityFusion], ids: Optional[nn.Embedding], inputs: NodeInputs,
               rows: Optional[Tensor]) -> Tensor:
        device = self.device
        h = torch.zeros(inputs.num, self.config.dim, device=device)
        if fusion is not None:
            h = h + fusion(inputs.x, inputs.mask)
        if ids is not None:
            idx = torch.arange(inputs.num, device=device) if rows is None else rows
            known = torch.ones(inputs.num, dtype=torch.bool, device=device) if inputs.known is None else inputs.known
            safe = torch.where(known, idx, torch.zeros_like(idx))
            h = h + ids(safe) * known.unsqueeze(-1)
        return h

    @property
    def device(self) -> torch.device:
        """The device of the model's parameters (the link head is always there)."""
        return next(self.link.parameters()).device

    def input_states(self, users: NodeInputs, items: Optional[NodeInputs] = None,
                     user_rows: Optional[Tensor] = None, item_rows: Optional[Tensor] = None) -> dict[str, Tensor]:
        """Per node type ``[n, dim]`` states before message passing. ``*_rows`` give the id-embedding rows when the
        inputs are a subset (sampled subgraphs)."""
        h = {"user": self._input(self.user_fusion, self.user_id, users, user_rows)}
        if items is not None and self.shape.num_items:
            h["item"] = self._input(self.item_fusion, self.item_id, items, item_rows)
        return h

    def score_links(self, z: Tensor, pairs: Tensor, structure: PairStructure, users: NodeInputs) -> Tensor:
        """Link logits ``[B]`` of user-row ``pairs`` from node states ``z``, pair structure and the users' inputs."""
        sim = feature_similarity(users, pairs) if self.link.num_similarities else None
        return self.link(z, pairs, structure, sim, users.positions)

    def forward(self, users: NodeInputs, edge_index: dict[tuple, Tensor], items: Optional[NodeInputs] = None,
                user_rows: Optional[Tensor] = None, item_rows: Optional[Tensor] = None) -> dict[str, Tensor]:
        """Node states after message passing (items pass through unchanged when the model is not heterogeneous)."""
        h = self.input_states(users, items, user_rows, item_rows)
        if self.hetero:
            return self.encoder(h, edge_index)
        out = self.encoder({"user": h["user"]}, edge_index)
        if "item" in h:
            out["item"] = h["item"]
        return out
