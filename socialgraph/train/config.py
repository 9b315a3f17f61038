"""Configuration of a training run: everything ``socialgraph train --print-config`` shows."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from socialgraph.encoders.modalities import ModalityConfig
from socialgraph.model.config import LossConfig, ModelConfig


@dataclass
class TrainConfig:
    """The optimisation loop.

    Attributes:
        epochs: maximum passes over the training friend edges.
        lr / weight_decay: Adam settings.
        batch_size: target friend edges per step (they are removed from the step's message-passing graph).
        hard_negative_ratio: share of each step's negatives drawn among friends-of-friends (the rest uniform);
            uniform-only training teaches "has mutual friends", hard ones teach which of those become friends.
        patience: epochs without a better validation Hits@50 before stopping.
        eval_every: epochs between validation passes.
        val_fraction: friend pairs held out for early stopping when the caller gives no split.
        mode: ``full`` (whole graph per step), ``sampled`` (neighbour-sampled subgraphs), or ``auto``.
        full_batch_max_edges: ``auto`` picks ``sampled`` above this many friend edges.
        num_neighbors: neighbours sampled per node and layer in ``sampled`` mode.
        seed: seeds numpy and torch; with it a CPU run repeats exactly.
        threads: torch CPU threads (0: torch's default).
    """

    epochs: int = 60
    lr: float = 0.005
    weight_decay: float = 0.0
    batch_size: int = 8192
    hard_negative_ratio: float = 0.0
    patience: int = 8
    eval_every: int = 2
    val_fraction: float = 0.05
    mode: str = "auto"
    full_batch_max_edges: int = 3_000_000
    num_neighbors: list = field(default_factory=lambda: [15, 10])
    seed: int = 0
    threads: int = 0
    engagement_batch_size: int = 8192
    engagement_kind: str = "auto"
    max_eval_negatives: Optional[int] = None


@dataclass
class Config:
    """A whole run: encoders, model, losses, training loop."""

    encoders: ModalityConfig = field(default_factory=ModalityConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
