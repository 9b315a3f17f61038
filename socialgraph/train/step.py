"""One training step: a batch of training friendships as link targets, and every head's loss on one forward pass.

The step's targets leave its message-passing graph (and the graph its pair features are computed on, unless
``train.structure_graph`` is ``full``: then each positive is described on the whole training graph without its own
edge), so a positive never sees its own edge. Negatives are non-edges of all known friendships
(:func:`~socialgraph.train.sampling.training_negatives`). In ``sampled`` mode the user states come from a
neighbour-sampled subgraph around the pairs' nodes (items keep their input states, and only the link and
adjacency-reconstruction losses are computed); otherwise the whole graph passes messages and the feature
reconstruction, preference and engagement losses ride on the same forward pass.

The graph work (pairs, negatives, pair structure, samples) is numpy and scipy on the CPU; what the model reads of it
(edge indices, pair indices, pair structure, labels, targets) goes to the run's device (``StepContext.device``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np
import scipy.sparse as sp
import torch
from torch.nn import functional as F

from socialgraph.bundle.fitted import build_edge_index
from socialgraph.data.adjacency import adjacency_from_edges
from socialgraph.data.graph import SocialGraph
from socialgraph.data.splits import EngagementSplit
from socialgraph.model.graph_encoder import FRIEND
from socialgraph.model.heads.preference import PreferenceHead
from socialgraph.model.heads.reconstruction import adjacency_loss
from socialgraph.model.losses import MultiTaskLoss
from socialgraph.model.pairwise import PairStructure, pair_structure
from socialgraph.model.social_model import NodeInputs, SocialModel
from socialgraph.train.distributed import Ranks
from socialgraph.train.engagements import engagement_loss
from socialgraph.train.sampling import sample_subgraph, training_negatives
from socialgraph.train.targets import PreferenceTask


@dataclass
class StepContext:
    """What every training step of a run reads; fixed for the run.

    Attributes:
        model, mtl: the network and the weighting of its losses.
        graph: the training graph (engagements, values, item count).
        items: encoded item inputs (``None`` without items).
        train: int64 ``[E, 2]`` training friend pairs; a step's targets are rows of it.
        known: CSR adjacency of every known friendship (training and validation): negatives avoid it.
        train_adj: CSR adjacency of ``train`` when pair features use the whole training graph, else ``None``.
        eng: the engagement split (``None`` without engagements); steps sample targets from ``eng.train``.
        pref: the preference task (``None`` without one).
        kind: ``explicit`` or ``implicit`` engagements (``None`` without).
        sampled: neighbour-sampled user states instead of whole-graph message passing.
        hard_negative_ratio: share of negatives among friends-of-friends.
        engagement_batch_size: engagement targets a step.
        scored_targets: most of a step's targets its link loss scores (``train.batch_size``): a full-mode step
            removes its whole fold from message passing, and scores a random ``scored_targets`` of it.
        fanouts: neighbours sampled per node and layer in sampled mode.
        device: where the model, its inputs and the step's tensors are.
        ranks: this process's rank in a data-parallel run: it scores its shard of the step's targets and
            negatives (:mod:`socialgraph.train.distributed`).
        sample_rng: the generator sampled subgraphs draw from when it is not the run's (a data-parallel rank samples
            around pairs of its own, so it must not move the generator every rank shares).
    """

    model: SocialModel
    mtl: MultiTaskLoss
    graph: SocialGraph
    items: Optional[NodeInputs]
    train: np.ndarray
    known: sp.csr_matrix
    train_adj: Optional[sp.csr_matrix]
    eng: Optional[EngagementSplit]
    pref: Optional[PreferenceTask]
    kind: Optional[str]
    sampled: bool
    hard_negative_ratio: float
    engagement_batch_size: int
    fanouts: list[int]
    scored_targets: int = 8192
    device: torch.device = torch.device("cpu")
    ranks: Ranks = Ranks()
    sample_rng: Optional[np.random.Generator] = None


@dataclass
class _Pairs:
    """A step's link pairs: ``pairs`` is the ``num_targets`` targets then the negatives."""

    keep: np.ndarray  # bool [E]: training pairs in the step's message-passing graph
    mp: sp.csr_matrix
    pairs: np.ndarray
    num_targets: int
    structure: Optional[PairStructure]
    weight: float = 1.0  # of the link losses: this rank's share of the step's pairs, times the ranks


@dataclass
class _States:
    """Node states of a step, the pairs as indices into ``z["user"]``, and the user inputs of those rows;
    ``local`` maps global user rows to rows of a sampled subgraph (``None``: the whole graph)."""

    z: dict
    pair_index: torch.Tensor
    users: NodeInputs
    local: Optional[Callable[[np.ndarray], np.ndarray]]


def training_step(ctx: StepContext, users: NodeInputs, idx: np.ndarray, rng: np.random.Generator) -> torch.Tensor:
    """The combined loss of one step whose link targets are ``ctx.train[idx]``; ``users`` are the user inputs
    the step reads (with the positions computed without its targets)."""
    p = _link_pairs(ctx, idx, rng)
    eng_target, eng_mp = _engagement_batch(ctx, rng)
    if ctx.sampled and p.structure is not None:
        s = _sampled_states(ctx, users, p, rng if ctx.sample_rng is None else ctx.sample_rng)
    else:
        edges = build_edge_index(ctx.train[p.keep], ctx.graph, eng_mp if ctx.model.hetero else None, ctx.device)
        z = ctx.model(users, edges, ctx.items)
        s = _States(z, torch.from_numpy(p.pairs).to(ctx.device), users, None)
    losses = _link_losses(ctx, p, s)
    if s.local is None:
        losses.update(_node_losses(ctx, users, s.z, eng_target, rng))
    return ctx.mtl(losses)


def _link_pairs(ctx: StepContext, idx: np.ndarray, rng: np.random.Generator) -> _Pairs:
    keep = np.ones(len(ctx.train), dtype=bool)
    keep[idx] = False
    # Scoring costs in proportion to the pairs (their common neighbours, the scorer's MLP), message passing does
    # not: on dense graphs a fold's every target made the scorer most of an epoch.
    scored = idx if len(idx) <= ctx.scored_targets else rng.choice(idx, ctx.scored_targets, replace=False)
    target = ctx.train[scored]
    mp = adjacency_from_edges(ctx.train[keep], ctx.graph.num_users)
    neg = training_negatives(ctx.known, mp, len(target), ctx.hard_negative_ratio, rng)
    weight, total = 1.0, len(target) + len(neg)
    if ctx.ranks.distributed:  # every rank drew the same pairs; each scores its shard
        target, neg = ctx.ranks.shard(target), ctx.ranks.shard(neg)
        weight = ctx.ranks.world * (len(target) + len(neg)) / max(total, 1)
    pairs = np.r_[target, neg]
    completion = ctx.model.config.link_completion
    if not len(pairs):
        structure = None
    elif ctx.train_adj is not None:  # the whole training graph, each positive without its own edge
        structure = pair_structure(ctx.train_adj, pairs, leave_out=np.arange(len(pairs)) < len(target),
                                   completion=completion)
    else:
        structure = pair_structure(mp, pairs, completion=completion)
    return _Pairs(keep, mp, pairs, len(target), structure, weight)


def _engagement_batch(ctx: StepContext, rng: np.random.Generator) -> tuple[Optional[np.ndarray],
                                                                            Optional[np.ndarray]]:
    """Engagement targets of the step (rows of ``eng.train``) and the training engagements left to pass
    messages over (all of them when the engagement loss is off)."""
    eng = ctx.eng
    if eng is None:
        return None, None
    if not ctx.mtl.active("engagement"):
        return None, eng.train
    pick = rng.choice(len(eng.train), size=min(ctx.engagement_batch_size, len(eng.train)), replace=False)
    mask = np.ones(len(eng.train), dtype=bool)
    mask[pick] = False
    return eng.train[pick], eng.train[mask]


def _link_losses(ctx: StepContext, p: _Pairs, s: _States) -> dict[str, torch.Tensor]:
    losses: dict[str, torch.Tensor] = {}
    if p.structure is None:
        return losses
    zu, t = s.z["user"], p.num_targets
    logits = ctx.model.score_links(zu, s.pair_index, p.structure.to(ctx.device), s.users)
    y = torch.cat([torch.ones(t, device=ctx.device), torch.zeros(len(p.pairs) - t, device=ctx.device)])
    losses["link"] = F.binary_cross_entropy_with_logits(logits, y) * p.weight
    if ctx.mtl.active("adjacency_reconstruction"):
        losses["adjacency_reconstruction"] = adjacency_loss(zu, s.pair_index[:t], s.pair_index[t:]) * p.weight
    return losses


def _node_losses(ctx: StepContext, users: NodeInputs, z: dict, eng_target: Optional[np.ndarray],
                 rng: np.random.Generator) -> dict[str, torch.Tensor]:
    """Feature reconstruction, preference and engagement losses (whole-graph states only)."""
    model, mtl, zu = ctx.model, ctx.mtl, z["user"]
    losses: dict[str, torch.Tensor] = {}
    if model.reconstruction is not None and mtl.active("feature_reconstruction"):
        losses["feature_reconstruction"] = model.reconstruction.loss(zu, users.x, users.mask)
    pref = ctx.pref
    if pref is not None and model.preference is not None and mtl.active("preference"):
        tgt = pref.targets.matrix
        rows = np.flatnonzero(np.diff(tgt.indptr) > 0)
        rows = np.setdiff1d(rows, pref.held_users) if pref.held_users is not None else rows
        t = torch.from_numpy(tgt[rows].toarray()).to(ctx.device)
        losses["preference"] = PreferenceHead.loss(model.preference(zu[torch.from_numpy(rows).to(ctx.device)]), t)
    if eng_target is not None and "item" in z:
        losses["engagement"] = engagement_loss(model, z, ctx.graph, eng_target, ctx.kind, rng)
    return losses


def _sampled_states(ctx: StepContext, users: NodeInputs, p: _Pairs, rng: np.random.Generator) -> _States:
    """User states for the nodes a batch needs (pair ends, their common and one-sided neighbours), computed on a
    neighbour-sampled subgraph of the step's message-passing graph; the pair structure is renumbered to the
    subgraph's rows in place (on the CPU, where it was computed). Items stay out of sampled subgraphs (a heterogeneous encoder skips edge types it is
    not given)."""
    model, structure = ctx.model, p.structure
    one_sided = structure.one_sided[1].numpy() if structure.one_sided is not None else np.zeros(0, np.int64)
    seeds = np.unique(np.r_[p.pairs.ravel(), structure.common.indices()[1].numpy(), one_sided])
    nodes, ei = sample_subgraph(p.mp, seeds, ctx.fanouts, rng)
    rows = torch.from_numpy(nodes).to(ctx.device)
    h = model.input_states(users.rows(rows), None, user_rows=rows)
    z = model.encoder({"user": h["user"]}, {FRIEND: ei.to(ctx.device)})
    order = np.argsort(nodes)

    def local(g: np.ndarray) -> np.ndarray:
        return order[np.searchsorted(nodes[order], g)]

    structure.common = _remap_columns(structure.common, local, len(z["user"]))
    if structure.one_sided is not None:
        row, w, other = structure.one_sided.numpy()
        structure.one_sided = torch.from_numpy(np.stack([row, local(w), local(other)]))
    return _States(z, torch.from_numpy(local(p.pairs)).to(ctx.device), users.rows(rows), local)


def _remap_columns(common: torch.Tensor, local, num: int) -> torch.Tensor:
    idx = common.indices()
    cols = torch.from_numpy(local(idx[1].numpy()))
    # The columns are rows of the subgraph by construction, so torch's invariant check would only cost time.
    return torch.sparse_coo_tensor(torch.stack([idx[0], cols]), common.values(), (common.shape[0], num),
                                   check_invariants=False).coalesce()


__all__ = ["StepContext", "training_step"]
