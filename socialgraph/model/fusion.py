"""Fusing a user's modalities into one vector, learning how much to trust each and coping when one is missing.

Each modality :math:`m` with input :math:`x_m \\in \\mathbb{R}^{d_m}` and presence bit :math:`p_m` is projected to
:math:`h_m = \\mathrm{LN}(W_m x_m)`. A learned fallback token :math:`h_0` is always present, so a user with no
modality at all still gets a vector. The modes:

- ``attention`` (default): :math:`\\alpha_m = \\mathrm{softmax}_{m: p_m = 1}\\, q^\\top \\tanh(U h_m)`,
  :math:`z = \\sum_m \\alpha_m h_m` -- weights differ per user and can be read out (:meth:`ModalityFusion.weights`).
- ``sum``: as above with one learned scalar per modality instead of :math:`q^\\top \\tanh(U h_m)`.
- ``concat``: :math:`z = W [p_1 h_1 \\Vert \\dots \\Vert p_M h_M]` (missing modalities contribute zeros).
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

FUSION_MODES = ("attention", "sum", "concat")


class ModalityFusion(nn.Module):
    """Masked fusion of per-modality inputs.

    Args:
        input_dims: modality name -> input width :math:`d_m` (order fixes the modality order).
        dim: output width.
        mode: ``"attention"``, ``"sum"`` or ``"concat"``.
        dropout: modality dropout probability during training (drops whole modalities so the model learns to cope
            when one is missing at prediction time).
    """

    def __init__(self, input_dims: dict[str, int], dim: int, mode: str = "attention", dropout: float = 0.1) -> None:
        super().__init__()
        if mode not in FUSION_MODES:
            raise ValueError(f"unknown fusion mode {mode!r}: expected one of {FUSION_MODES}")
        self.names = list(input_dims)
        self.mode = mode
        self.dropout = dropout
        self.proj = nn.ModuleDict({_safe(m): nn.Sequential(nn.Linear(d, dim), nn.LayerNorm(dim))
                                   for m, d in input_dims.items()})
        self.fallback = nn.Parameter(torch.zeros(dim))
        self.score = nn.Sequential(nn.Linear(dim, dim), nn.Tanh(), nn.Linear(dim, 1, bias=False))
        self.logit = nn.Parameter(torch.zeros(len(self.names) + 1))
        self.out = nn.Linear(dim * (len(self.names) + 1), dim) if mode == "concat" else nn.Identity()
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for p in self.proj.values():
            for m in p:
                m.reset_parameters()
        nn.init.normal_(self.fallback, std=0.02)
        for m in self.score:
            if hasattr(m, "reset_parameters"):
                m.reset_parameters()
        nn.init.zeros_(self.logit)
        if isinstance(self.out, nn.Linear):
            self.out.reset_parameters()

    def _stack(self, x: dict[str, Tensor], mask: dict[str, Tensor], n: int) -> tuple[Tensor, Tensor]:
        hs = [self.fallback.expand(n, -1)]
        ps = [torch.ones(n, dtype=torch.bool, device=self.fallback.device)]
        for m in self.names:
            hs.append(self.proj[_safe(m)](x[m]))
            p = mask[m].bool()
            if self.training and self.dropout > 0:
                p = p & (torch.rand(n, device=p.device) >= self.dropout)
            ps.append(p)
        return torch.stack(hs, 1), torch.stack(ps, 1)  # [n, M+1, dim], [n, M+1]

    def weights(self, x: dict[str, Tensor], mask: dict[str, Tensor]) -> Tensor:
        """Per-row modality weights ``[n, M+1]`` (column 0 is the fallback token), zero where a modality is
        missing. For ``concat`` the weights are the share of each modality's contribution norm."""
        n = _rows(mask)
        h, p = self._stack(x, mask, n)
        if self.mode == "attention":
            logits = self.score(h).squeeze(-1)
        elif self.mode == "sum":
            logits = self.logit.expand(n, -1)
        else:
            norms = h.norm(dim=-1) * p
            return norms / norms.sum(1, keepdim=True).clamp_min(1e-9)
        return torch.softmax(logits.masked_fill(~p, float("-inf")), dim=1)

    def forward(self, x: dict[str, Tensor], mask: dict[str, Tensor]) -> Tensor:
        """Fused ``[n, dim]`` from ``x[m]`` ``[n, d_m]`` and presence ``mask[m]`` ``[n]``."""
        n = _rows(mask)
        h, p = self._stack(x, mask, n)
        if self.mode == "concat":
            return self.out((h * p.unsqueeze(-1)).flatten(1))
        logits = self.score(h).squeeze(-1) if self.mode == "attention" else self.logit.expand(n, -1)
        alpha = torch.softmax(logits.masked_fill(~p, float("-inf")), dim=1)
        return (alpha.unsqueeze(-1) * h).sum(1)


def _safe(name: str) -> str:
    # ModuleDict keys may not contain '.', and modality names look like "text:tags".
    return name.replace(".", "_").replace(":", "__")


def _rows(mask: dict[str, Tensor]) -> int:
    """Number of rows, read from the first modality's mask (every modality has one entry per row)."""
    if not mask:
        raise ValueError("fusion needs at least one modality; pass the number of rows through an id embedding")
    return int(next(iter(mask.values())).shape[0])
