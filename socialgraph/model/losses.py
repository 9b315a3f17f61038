"""Combining the losses of the jobs trained together.

Fixed weights: :math:`\\mathcal{L} = \\sum_t w_t \\mathcal{L}_t`. Learned (uncertainty weighting, Kendall, Gal and
Cipolla 2018): :math:`\\mathcal{L} = \\sum_t e^{-s_t} \\mathcal{L}_t + s_t` with :math:`s_t` trained, initialised at
:math:`-\\log w_t` so that training starts from the configured weights. Jobs with weight 0 are switched off.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from socialgraph.model.config import LossConfig

TASKS = ("link", "engagement", "preference", "feature_reconstruction", "adjacency_reconstruction")


class MultiTaskLoss(nn.Module):
    def __init__(self, config: LossConfig) -> None:
        super().__init__()
        self.weights = {t: float(getattr(config, t)) for t in TASKS}
        self.learned = config.learned
        self.log_var = nn.ParameterDict({t: nn.Parameter(torch.tensor(-math.log(w)))
                                         for t, w in self.weights.items() if w > 0})

    def active(self, task: str) -> bool:
        return self.weights.get(task, 0.0) > 0

    def forward(self, losses: dict[str, Tensor]) -> Tensor:
        total = torch.zeros(())
        for t, value in losses.items():
            if not self.active(t):
                continue
            if self.learned:
                s = self.log_var[t]
                total = total + torch.exp(-s) * value + s
            else:
                total = total + self.weights[t] * value
        return total
