"""Content-preference head: a distribution over content categories (tags, genres, item categories) per user.

.. math:: p(c \\mid u) = \\mathrm{softmax}_c (W z_u + b)_c

trained with cross-entropy against the user's observed category distribution :math:`q(c \\mid u)` (the categories
of what the user engaged with, weighted by engagement, or tags the user applied): :math:`-\\sum_c q(c|u) \\log p(c|u)`.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn


class PreferenceHead(nn.Module):
    """Linear map from user state to category logits ``[n, num_categories]``."""

    def __init__(self, dim: int, num_categories: int) -> None:
        super().__init__()
        self.linear = nn.Linear(dim, num_categories)

    def reset_parameters(self) -> None:
        self.linear.reset_parameters()

    def forward(self, z: Tensor) -> Tensor:
        return self.linear(z)

    @staticmethod
    def loss(logits: Tensor, target: Tensor) -> Tensor:
        """Soft-target cross-entropy; ``target`` rows sum to one (rows without observations are skipped)."""
        keep = target.sum(1) > 0
        if not keep.any():
            return logits.sum() * 0
        return -(target[keep] * torch.log_softmax(logits[keep], dim=1)).sum(1).mean()
