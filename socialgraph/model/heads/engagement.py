"""Engagement head: how strongly a user engages with a content item.

.. math::
    \\hat y(u, i) = (P z_u)^\\top (Q e_i) + b_u + b_i + \\mu

with :math:`e_i` the item's state. Implicit feedback (listen counts, clicks) is trained as ranking with sampled
negative items (binary cross-entropy, positives weighted by :math:`\\log(1+\\text{count})`); explicit ratings as
regression of the rating (mean squared error).
"""
from __future__ import annotations

import torch
from torch import Tensor, nn


class EngagementHead(nn.Module):
    """Bilinear user-item scorer with biases. ``forward(zu, zi, users, items)`` returns ``[B]``."""

    def __init__(self, dim: int, num_users: int, num_items: int) -> None:
        super().__init__()
        self.user = nn.Linear(dim, dim, bias=False)
        self.item = nn.Linear(dim, dim, bias=False)
        self.user_bias = nn.Embedding(num_users, 1)
        self.item_bias = nn.Embedding(num_items, 1)
        self.mu = nn.Parameter(torch.zeros(()))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.user.reset_parameters()
        self.item.reset_parameters()
        nn.init.zeros_(self.user_bias.weight)
        nn.init.zeros_(self.item_bias.weight)
        nn.init.zeros_(self.mu)

    def forward(self, zu: Tensor, zi: Tensor, users: Tensor, items: Tensor) -> Tensor:
        dot = (self.user(zu[users]) * self.item(zi[items])).sum(-1)
        return dot + self.user_bias(users).squeeze(-1) + self.item_bias(items).squeeze(-1) + self.mu

    def all_items(self, zu: Tensor, zi: Tensor, users: Tensor) -> Tensor:
        """Scores of ``users`` against every item, ``[len(users), num_items]``."""
        s = self.user(zu[users]) @ self.item(zi).T
        return s + self.user_bias(users) + self.item_bias.weight.T + self.mu
