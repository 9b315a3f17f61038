"""Preparing a training run: everything that is fixed before the first epoch, in one typed :class:`TrainingSetup`.

:func:`prepare` splits the friendships (unless given) and the engagements, fits the encoders on training rows,
draws the validation negatives, computes the users' positions, chooses the preference task, builds the model, its
losses, optimiser and learning-rate schedule, and sizes the steps. The order of the draws is part of the contract:
the same seed gives the same run.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Optional

import numpy as np
import scipy.sparse as sp
import torch

from socialgraph.bundle.config import Config, TrainConfig
from socialgraph.bundle.fitted import FittedModel
from socialgraph.bundle.inputs import EncodedGraph, encode_graph
from socialgraph.data.adjacency import adjacency_from_edges
from socialgraph.data.graph import SocialGraph
from socialgraph.data.splits import EngagementSplit
from socialgraph.model.losses import MultiTaskLoss
from socialgraph.model.social_model import ModelShape, NodeInputs, SocialModel
from socialgraph.train.engagements import engagement_kind, engagement_split
from socialgraph.train.links import LinkData, internal_split, validation_negatives
from socialgraph.train.positions import StepFolds, step_folds, user_positions
from socialgraph.train.runtime import resolve_device
from socialgraph.train.step import StepContext
from socialgraph.train.targets import PreferenceTask, preference_task


@dataclass
class TrainingSetup:
    """A prepared run.

    Attributes:
        links: the friend pairs it trains and validates on.
        step: what every training step reads (model, losses, graphs, targets).
        users: the user inputs steps read (held-out users' preference column hidden).
        val_neg: int64 ``[N, 2]`` non-edges the validation pairs are ranked against.
        fitted: the model with its inputs, which validation scores and the run returns.
        optimizer, scheduler: Adam over the model's and the losses' parameters; cosine learning-rate decay.
        batch, steps: target friendships a step and steps an epoch (``batch`` 0: engagement-only steps).
        folds: fixed step targets with their held-out positions, when the scorer reads positions.
        link_val, eng_val: whether validation ranks friendships, or (without any) held-out engagements.
        rng: the run's generator (epoch permutations, negatives, samples).
        precision: ``train.precision`` of the steps' forward passes (``fp32`` or ``bf16``).

    The model, the losses' parameters, the encoded inputs and the folds' positions are on ``device`` (``step.device``).
    """

    links: LinkData
    step: StepContext
    users: NodeInputs
    val_neg: np.ndarray
    fitted: FittedModel
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    batch: int
    steps: int
    folds: Optional[StepFolds]
    link_val: bool
    eng_val: bool
    rng: np.random.Generator
    precision: str = "fp32"

    @property
    def model(self) -> SocialModel:
        return self.step.model

    @property
    def device(self) -> torch.device:
        return self.step.device


def seed_everything(seed: int) -> None:
    """Seed numpy's and torch's global generators (model initialisation, dropout)."""
    np.random.seed(seed)
    torch.manual_seed(seed)


def prepare(config: Config, graph: SocialGraph, links: Optional[LinkData] = None,
            progress: bool = False, device: Optional[torch.device] = None) -> TrainingSetup:
    """Prepare a run of ``config`` on ``graph``; without ``links``, all friend pairs train except a
    ``train.val_fraction`` slice (see the module docstring). The model and the inputs go to ``device`` (default:
    ``train.device`` resolved, :func:`~socialgraph.train.runtime.resolve_device`)."""
    t = config.train
    device = resolve_device(t.device if device is None else device)
    seed_everything(t.seed)
    rng = np.random.default_rng(t.seed)
    links = links or internal_split(graph, t.val_fraction, rng)
    n, has_links = graph.num_users, len(links.train) > 0
    kind = engagement_kind(graph, t.engagement_kind)
    # Held-out engagements: for early stopping when there are no friendships, and for the rating head's
    # term weights (see EngagementHead.fit_weights).
    eng = engagement_split(graph, t.val_fraction if not has_links or kind == "explicit" else 0.0, t.seed)
    if not has_links and eng is None:
        raise ValueError(f"{graph.name!r}: nothing to learn from: no friend pairs and no engagements")
    encoded = encode_graph(graph, config.encoders, None, None if eng is None else eng.train, device=device)
    val_neg = validation_negatives(links, n, seed=t.seed + 1)
    positions = user_positions(config, links, n, val_neg, progress)
    if positions.combined is not None:
        encoded = replace(encoded, users=replace(encoded.users, positions=torch.from_numpy(positions.combined)))
    encoded = replace(encoded, users=encoded.users.to(device),
                      items=None if encoded.items is None else encoded.items.to(device))
    pref = preference_task(graph, None if eng is None else eng.train, t.seed) if config.loss.preference else None
    model, mtl, optimizer, scheduler = _build(config, graph, encoded, pref, kind, eng, device)
    fitted = FittedModel(config, model, graph, encoded, links.train, None if eng is None else eng.train, kind,
                         None if pref is None else pref.source, [] if pref is None else pref.targets.names)
    users = encoded.users if pref is None else pref.hide_held_column(encoded.users)
    step = _step_context(t, model, mtl, graph, encoded, links, eng, pref, kind, device)
    batch, steps = _schedule(t, links, eng, step.sampled)
    folds = step_folds(positions, config, links, n, val_neg, batch, steps, rng, progress, device)
    link_val = has_links and len(links.val) > 0
    eng_val = not has_links and eng is not None and len(eng.val) > 0 and model.engagement is not None
    return TrainingSetup(links, step, users, val_neg, fitted, optimizer, scheduler, batch, steps, folds, link_val,
                         eng_val, rng, t.precision)


def _build(config: Config, graph: SocialGraph, encoded: EncodedGraph, pref: Optional[PreferenceTask],
           kind: Optional[str], eng: Optional[EngagementSplit], device: torch.device):
    """The model for these inputs and its multi-task loss (both on ``device``), the optimiser (built once they are
    there) and the learning-rate schedule; a rating head starts from the training ratings' baseline."""
    t = config.train
    items = encoded.items
    shape = ModelShape(num_users=graph.num_users, user_dims={m: int(v.shape[1]) for m, v in encoded.users.x.items()},
                       num_items=graph.num_items,
                       item_dims={} if items is None else {m: int(v.shape[1]) for m, v in items.x.items()},
                       num_categories=0 if pref is None else len(pref.targets.names))
    model = SocialModel(config.model, shape).to(device)  # initialised on the CPU, so any device draws the same
    mtl = MultiTaskLoss(config.loss).to(device)
    opt = torch.optim.Adam(list(model.parameters()) + list(mtl.parameters()), lr=t.lr, weight_decay=t.weight_decay)
    if kind == "explicit" and model.engagement is not None and eng is not None and len(eng.train):
        e = graph.engagements[eng.train]
        model.engagement.set_baseline(e[:, 0], e[:, 1], graph.engagement_value[eng.train])
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, t.epochs), eta_min=t.lr * 0.1)
    return model, mtl, opt, sched


def _step_context(t: TrainConfig, model: SocialModel, mtl: MultiTaskLoss, graph: SocialGraph,
                  encoded: EncodedGraph, links: LinkData, eng: Optional[EngagementSplit],
                  pref: Optional[PreferenceTask], kind: Optional[str], device: torch.device) -> StepContext:
    n = graph.num_users
    known = sp.csr_matrix(adjacency_from_edges(np.r_[links.train, links.val], n))
    train_adj = adjacency_from_edges(links.train, n) if t.structure_graph == "full" else None
    sampled = t.mode == "sampled" or (t.mode == "auto" and 2 * len(links.train) > t.full_batch_max_edges)
    return StepContext(model, mtl, graph, encoded.items, links.train, known, train_adj, eng, pref, kind, sampled,
                       t.hard_negative_ratio, t.engagement_batch_size,
                       list(t.num_neighbors)[:model.config.layers], t.batch_size, device)


def _schedule(t: TrainConfig, links: LinkData, eng: Optional[EngagementSplit], sampled: bool) -> tuple[int, int]:
    """``(batch, steps)``: target friendships a step and steps an epoch."""
    if len(links.train):
        # A tenth of the friendships a step (at least 256): a step's targets leave its message-passing graph, and
        # removing more makes training degrees and common-neighbour counts lower than at test time. A whole-graph
        # step costs the same whatever its batch, so full mode takes no fewer targets a step than that: ten passes
        # an epoch keep an epoch's cost linear in the friendships (a fixed batch made it quadratic); its link loss
        # scores ``batch_size`` of them (StepContext.scored_targets). A sampled step costs in proportion to its
        # batch, which ``batch_size`` caps.
        tenth = max(256, math.ceil(len(links.train) / 10))
        batch = int(min(t.batch_size, tenth) if sampled else tenth)
        return batch, math.ceil(len(links.train) / batch)
    # engagement-only data (e.g. MovieLens): steps cover the training engagements
    return 0, math.ceil(len(eng.train) / t.engagement_batch_size)


__all__ = ["TrainingSetup", "prepare", "seed_everything"]
