"""Engagement head: how strongly a user engages with a content item.

.. math::
    \\hat y(u, i) = (P z_u)^\\top (Q e_i) + b_u + b_i + \\mu + \\beta_u + \\beta_i + \\beta

with :math:`e_i` the item's state. Implicit feedback (listen counts, clicks) is trained as ranking with sampled
negative items (binary cross-entropy, positives weighted by :math:`\\log(1+\\text{count})`); explicit ratings as
regression of the rating (mean squared error).

For ratings, :math:`\\beta, \\beta_u, \\beta_i` are fixed baseline estimates from the training ratings (Koren 2008):
the global mean and the user and item deviations from it, shrunk towards zero by :math:`\\lambda` pseudo-ratings,

.. math::
    \\beta_i = \\frac{\\sum_{u} (r_{ui} - \\beta)}{\\lambda + n_i}, \\qquad
    \\beta_u = \\frac{\\sum_{i} (r_{ui} - \\beta - \\beta_i)}{\\lambda + n_u},

so the learned part models what the baseline misses. After training, the learned interaction and bias terms are
weighted by :math:`\\gamma` fitted on held-out ratings (least squares of the residual :math:`r - \\beta - \\beta_u -
\\beta_i`), so a part that does not generalise is shrunk away:

.. math::
    \\hat r(u, i) = \\beta + \\beta_u + \\beta_i + \\gamma_1 (P z_u)^\\top (Q e_i) + \\gamma_2 (b_u + b_i + \\mu)

Measured on Ciao (105,114 items, most rated once or twice; the run stops on link validation): the interaction
term alone adds error (test RMSE 1.048 with it, 0.952 without, 0.942 for the baselines alone; the shrunk item
mean scores 0.979). Implicit feedback leaves the baselines at zero and :math:`\\gamma` at one.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
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
        # Fixed baseline estimates (see the module docstring); saved with the weights.
        self.register_buffer("base_user", torch.zeros(num_users))
        self.register_buffer("base_item", torch.zeros(num_items))
        self.register_buffer("base_mu", torch.zeros(()))
        self.register_buffer("gamma", torch.ones(2))  # weights of the learned interaction and bias terms
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.user.reset_parameters()
        self.item.reset_parameters()
        nn.init.zeros_(self.user_bias.weight)
        nn.init.zeros_(self.item_bias.weight)
        nn.init.zeros_(self.mu)

    @torch.no_grad()
    def set_baseline(self, users: np.ndarray, items: np.ndarray, values: np.ndarray, shrink: float = 5.0) -> None:
        """Fit :math:`\\beta, \\beta_u, \\beta_i` on training ratings ``values`` of ``(users, items)``."""
        v = np.asarray(values, dtype=np.float64)
        mu = v.mean()
        n_users, n_items = len(self.base_user), len(self.base_item)
        bi = np.bincount(items, weights=v - mu, minlength=n_items) / (shrink + np.bincount(items, minlength=n_items))
        bu = np.bincount(users, weights=v - mu - bi[items], minlength=n_users) / (
            shrink + np.bincount(users, minlength=n_users))
        self.base_mu.fill_(mu)
        self.base_item.copy_(torch.from_numpy(bi))
        self.base_user.copy_(torch.from_numpy(bu))

    def forward(self, zu: Tensor, zi: Tensor, users: Tensor, items: Tensor) -> Tensor:
        return sum(self.parts(zu, zi, users, items))

    def parts(self, zu: Tensor, zi: Tensor, users: Tensor, items: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """The three terms of :math:`\\hat y` for pairs: weighted interaction, weighted learned biases, fixed
        baselines (each ``[B]``)."""
        dot = (self.user(zu[users]) * self.item(zi[items])).sum(-1)
        bias = self._user_bias(users, self.user_bias.weight[:, 0]) + self.item_bias(items).squeeze(-1) + self.mu
        base = self._user_bias(users, self.base_user) + self.base_item[items] + self.base_mu
        return self.gamma[0] * dot, self.gamma[1] * bias, base

    def all_items(self, zu: Tensor, zi: Tensor, users: Tensor, known: Optional[Tensor] = None) -> Tensor:
        """Scores of ``users`` against every item, ``[len(users), num_items]``. ``known`` (bool per user, default
        all) says which users have a trained bias; the others (users added after training) get none."""
        dot = self.user(zu[users]) @ self.item(zi).T
        bias = self._user_bias(users, self.user_bias.weight[:, 0], known)[:, None] + self.item_bias.weight.T + self.mu
        base = self._user_bias(users, self.base_user, known)[:, None] + self.base_item + self.base_mu
        return self.gamma[0] * dot + self.gamma[1] * bias + base

    @torch.no_grad()
    def fit_weights(self, zu: Tensor, zi: Tensor, users: Tensor, items: Tensor, values: Tensor) -> None:
        """Fit :math:`\\gamma` by least squares on held-out ratings, each weight clipped to [0, 1]."""
        self.gamma.fill_(1.0)
        dot, bias, base = self.parts(zu, zi, users, items)
        x = torch.stack([dot, bias], dim=1).double()
        y = (values - base).double()
        gamma = torch.linalg.lstsq(x, y[:, None]).solution[:, 0] if len(y) else torch.ones(2, dtype=torch.float64)
        self.gamma.copy_(gamma.clamp(0.0, 1.0).float())

    def _user_bias(self, users: Tensor, table: Tensor, known: Optional[Tensor] = None) -> Tensor:
        """``table[users]``, 0 for users without a trained row (added after training, or ``known`` False)."""
        inside = users < len(table)
        if known is not None:
            inside = inside & known
        out = table[torch.where(inside, users, torch.zeros_like(users))]
        return torch.where(inside, out, torch.zeros_like(out))
