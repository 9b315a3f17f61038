"""Configuration of a training run: everything ``socialgraph train --print-config`` shows.

Every value is checked on the way in (:mod:`socialgraph.config`): its type comes from the annotation, its range
from :func:`~socialgraph.config.setting`; a bad one raises :class:`ConfigError` (a ``ValueError``) in one line
naming the file and line, key path, expected and given value.
"""
from __future__ import annotations

import re
import typing
from dataclasses import dataclass, field
from typing import Any, Iterable, Literal

from socialgraph.config import ConfigError, apply_overrides, check_fields, setting, update
from socialgraph.encoders.modalities import ModalityConfig
from socialgraph.model.config import LossConfig, ModelConfig



@dataclass
class TrainConfig:
    """The optimisation loop.

    Attributes:
        epochs: maximum passes over the training friend edges (early stopping may end sooner).
        lr / weight_decay: Adam settings; the learning rate decays to a tenth along a cosine over ``epochs``. With
            GAT layers, 0.005 over 40 epochs matches what GATv2 layers reached with 0.002 over 100 in under half
            the time (benchmark split, test Hits@50, training seeds 0 / 1 / 2): Last.fm 0.324 / 0.322 / 0.323
            against 0.354 / 0.312 / 0.304, twitch-engb 0.471 / 0.460 / 0.462 against 0.454 / 0.462 / 0.460,
            musae-facebook (TF-IDF text, seed 0) 0.854 in 325 s against 0.852 in 974 s. GATv2 layers with 0.005
            over 40 epochs: musae-facebook 0.842 (386 s). (With GATv2, 0.002 over 100 epochs had beaten 0.005
            over 60 on Last.fm: 0.329 / 0.330 / 0.330 against 0.313 / 0.297 / 0.287.)
        batch_size: most target friend edges a step's link loss scores. A whole-graph (``full``) step removes a
            tenth of the training friendships (at least 256) from its message-passing graph whatever this is, since
            its pass costs the same however many targets it holds: an epoch is ten passes over the graph, and its
            cost grows with the friendships, not with their square. It scores ``batch_size`` of those targets drawn
            at random (all of them if fewer), because scoring costs in proportion to the pairs: on a campus-like
            graph of 18,000 users and 765,000 friendships, scoring a tenth's every target was two thirds of an
            epoch. (musae-facebook, TF-IDF text, benchmark split, seed 0: 8,192 of 16,229 targets scored, 203.5 s
            and test Hits@50 0.846; all of them, 234.6 s and 0.850; validation 0.8599 and 0.8595.) A ``sampled``
            step's cost grows with its targets; there a step takes ``batch_size`` of them, or a tenth if that is
            fewer (removing more would leave training graphs sparser than the full one), and removes only those.
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
        seed: seeds numpy and torch; with it a CPU run repeats exactly, whatever the thread count (training runs
            with torch's deterministic algorithms).
        threads: torch CPU threads (0: torch's default; 1 is faster when other processes share the cores).
        engagement_batch_size: engagements per step for the engagement head.
        engagement_kind: ``implicit`` (counts, clicks: ranking loss with sampled negative items), ``explicit``
            (ratings: squared error), or ``auto`` (explicit when values lie in [0, 10] in steps of one or of a
            half, as stars, points and FilmTrust's half stars do; see ``train.engagements.is_rating_scale``).
        autoencoder_epochs: full-batch epochs of each graph autoencoder whose states join the positions
            (``model.link_autoencoder``; one for the whole training graph and one per step fold).
        device: where the model, its inputs and each step's tensors live: ``auto`` (``cuda`` when a CUDA device is
            visible, else ``cpu``), ``cpu``, ``cuda`` (the current CUDA device) or ``cuda:N``. Bundles are written
            with CPU tensors whatever the device, so a model trained on a GPU loads and scores on a CPU. A CPU run
            repeats exactly; a CUDA one may differ in the last digits (some CUDA kernels have no deterministic
            version: torch warns then).
        precision: ``fp32``, or ``bf16``: the training steps' forward passes and losses run under
            ``torch.autocast`` with bfloat16 (on a CPU too); validation, calibration and scoring stay in fp32.
        checkpoint_seconds: when a run keeps a resumable state (``socialgraph train`` keeps it in ``OUT.partial``
            until the bundle is written; see ``socialgraph.train.resume``), seconds between two writes of it within
            an epoch (0: after every step); every epoch's end writes one too. Results do not depend on it.
    """

    epochs: int = setting(40, ge=1)
    lr: float = setting(0.005, gt=0)
    weight_decay: float = setting(0.0, ge=0)
    batch_size: int = setting(8192, ge=1)
    hard_negative_ratio: float = setting(0.0, ge=0, le=1)
    structure_graph: Literal["step", "full"] = "step"
    patience: int = setting(10, ge=1)
    select: Literal["hits", "auc", "mrr"] = "hits"
    eval_every: int = setting(2, ge=1)
    val_fraction: float = setting(0.05, gt=0, lt=1)
    mode: Literal["auto", "full", "sampled"] = "auto"
    full_batch_max_edges: int = setting(3_000_000, ge=0)
    num_neighbors: list[int] = setting(factory=lambda: [15, 10], ge=1)
    seed: int = setting(0, ge=0)
    threads: int = setting(0, ge=0)
    engagement_batch_size: int = setting(8192, ge=1)
    engagement_kind: Literal["auto", "implicit", "explicit"] = "auto"
    autoencoder_epochs: int = setting(300, ge=1)
    device: str = "auto"
    precision: Literal["fp32", "bf16"] = "fp32"
    checkpoint_seconds: float = setting(300.0, ge=0)

    def __post_init__(self) -> None:
        check_fields(self)
        check_device(self.device)


# ``train.device``: the spellings torch.device reads that training supports.
DEVICE_SETTING = re.compile(r"auto|cpu|cuda(?::\d+)?")


def check_device(value: object, key: str = "train.device", source: str | None = None) -> str:
    """``value`` when it is a valid ``train.device`` setting (``auto``, ``cpu``, ``cuda``, ``cuda:N``).

    Raises:
        ConfigError: ``config train.device must be 'auto', 'cpu', 'cuda' or 'cuda:N' (N: a CUDA device number),
            got 'gpu'``.
    """
    if not isinstance(value, str) or not DEVICE_SETTING.fullmatch(value):
        raise ConfigError(f"config {key} must be 'auto', 'cpu', 'cuda' or 'cuda:N' (N: a CUDA device number, "
                          f"e.g. cuda:0), got {value!r}", key=key, source=source)
    return value


# the choices as tuples, read from the annotations (the one place they are written)
_HINTS = typing.get_type_hints(TrainConfig)
MODES = typing.get_args(_HINTS["mode"])
STRUCTURE_GRAPHS = typing.get_args(_HINTS["structure_graph"])
ENGAGEMENT_KINDS = typing.get_args(_HINTS["engagement_kind"])
SELECTIONS = typing.get_args(_HINTS["select"])
PRECISIONS = typing.get_args(_HINTS["precision"])


@dataclass
class Config:
    """A whole run: encoders, model, losses, training loop.

    Build one with :func:`socialgraph.config.from_dict` / :func:`~socialgraph.config.load_yaml`, change it with
    :meth:`update` / :meth:`apply_overrides`: all of them check every value they are given.
    """

    encoders: ModalityConfig = field(default_factory=ModalityConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def __post_init__(self) -> None:
        check_fields(self)

    def update(self, key: str, value: Any, *, source: str | None = None) -> None:
        """Set the setting at the dotted ``key`` (``"train.epochs"``) to ``value``, checked; a section key
        (``"model"``) takes a mapping, merged key by key.

        Raises:
            ConfigError: naming ``source``, the key, what was expected and what was given.
        """
        update(self, key, value, source=source)

    def apply_overrides(self, overrides: Iterable[str], *, label: str = "--set") -> "Config":
        """Apply ``KEY=VALUE`` strings (values read as YAML: ``train.epochs=30``, ``train.num_neighbors=[10, 5]``)
        in order; returns ``self``.

        Raises:
            ConfigError: ``--set train.epochs=three: config train.epochs must be an integer >= 1, got 'three'``.
        """
        return apply_overrides(self, overrides, label=label)


__all__ = ["Config", "ConfigError", "DEVICE_SETTING", "ENGAGEMENT_KINDS", "MODES", "PRECISIONS", "SELECTIONS",
           "STRUCTURE_GRAPHS", "TrainConfig", "check_device"]
