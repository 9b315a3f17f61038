"""Reconstruction decoders: make the shared user state keep what every modality and the graph know.

Feature reconstruction, for each modality :math:`m` present for user :math:`u`:
:math:`\\mathcal{L}_m = 1 - \\cos(D_m z_u, x_{u,m})` (cosine, so modalities of different scales weigh alike).
Adjacency reconstruction (the graph autoencoder loss on the encoder output alone):
:math:`\\mathcal{L}_A = \\mathrm{BCE}(\\sigma(z_u^\\top z_v), A_{uv})` over friend pairs and sampled non-edges.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from socialgraph.model.fusion import _safe


class FeatureDecoder(nn.Module):
    """One small MLP per modality, from the user state back to the modality's input features."""

    def __init__(self, dim: int, output_dims: dict[str, int]) -> None:
        super().__init__()
        self.names = list(output_dims)
        self.decoders = nn.ModuleDict({_safe(m): nn.Sequential(nn.Linear(dim, dim), nn.ReLU(), nn.Linear(dim, d))
                                       for m, d in output_dims.items()})

    def reset_parameters(self) -> None:
        for d in self.decoders.values():
            for m in d:
                if hasattr(m, "reset_parameters"):
                    m.reset_parameters()

    def loss(self, z: Tensor, x: dict[str, Tensor], mask: dict[str, Tensor]) -> Tensor:
        """Mean over modalities of the cosine reconstruction loss on rows where the modality is present."""
        losses = []
        for m in self.names:
            keep = mask[m].bool()
            if keep.any():
                rec = self.decoders[_safe(m)](z[keep])
                losses.append((1 - F.cosine_similarity(rec, x[m][keep], dim=-1)).mean())
        return torch.stack(losses).mean() if losses else z.sum() * 0


def adjacency_loss(z: Tensor, pos: Tensor, neg: Tensor) -> Tensor:
    """Inner-product graph-autoencoder loss on positive and negative pairs ``[B, 2]``."""
    lp = (z[pos[:, 0]] * z[pos[:, 1]]).sum(-1)
    ln = (z[neg[:, 0]] * z[neg[:, 1]]).sum(-1)
    return F.binary_cross_entropy_with_logits(torch.cat([lp, ln]),
                                              torch.cat([torch.ones_like(lp), torch.zeros_like(ln)]))
