"""Link scorer: embeddings of both ends, the embeddings of their common neighbours, and pairwise structure.

For a pair :math:`(u, v)` with node states :math:`z`, common-neighbour indicator row :math:`c_{uv}` (normalised by
:math:`\\sqrt{\\mathrm{CN}}`) and structural features :math:`s_{uv}` (:mod:`socialgraph.model.pairwise`):

.. math::
    \\mathrm{logit}(u, v) = \\mathrm{MLP}\\big([\\, z_u \\odot z_v \\;\\Vert\\; c_{uv}^\\top Z \\;\\Vert\\;
        \\phi(s_{uv}) \\,]\\big)

The common-neighbour pooling :math:`c_{uv}^\\top Z` is the idea of Neural Common Neighbour (Wang et al., 2023);
:math:`\\phi` lets the scorer use CN / Adamic-Adar / resource allocation / degrees directly, as BUDDY does. Each
part can be switched off for ablations.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from socialgraph.model.pairwise import NUM_PAIR_FEATURES, PairStructure


class LinkScorer(nn.Module):
    """Scores pairs of users; ``forward`` returns logits ``[B]``.

    Args:
        dim: node state width.
        hidden: MLP width.
        use_common_neighbours: pool the embeddings of common neighbours (NCN).
        use_structure: feed CN/AA/RA/3-path/degree features.
        dropout: MLP dropout.
    """

    def __init__(self, dim: int, hidden: int = 128, use_common_neighbours: bool = True, use_structure: bool = True,
                 dropout: float = 0.1) -> None:
        super().__init__()
        self.use_common_neighbours = use_common_neighbours
        self.use_structure = use_structure
        self.structure = nn.Sequential(nn.Linear(NUM_PAIR_FEATURES, dim), nn.ReLU(), nn.Linear(dim, dim))
        self.common = nn.Linear(dim, dim)
        width = dim * (1 + int(use_common_neighbours) + int(use_structure))
        self.mlp = nn.Sequential(nn.Linear(width, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, hidden),
                                 nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, 1))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for m in [*self.structure, self.common, *self.mlp]:
            if hasattr(m, "reset_parameters"):
                m.reset_parameters()

    def forward(self, z: Tensor, pairs: Tensor, structure: PairStructure) -> Tensor:
        parts = [z[pairs[:, 0]] * z[pairs[:, 1]]]
        if self.use_common_neighbours:
            parts.append(self.common(torch.sparse.mm(structure.common, z)))
        if self.use_structure:
            parts.append(self.structure(structure.features))
        return self.mlp(torch.cat(parts, dim=1)).squeeze(-1)
