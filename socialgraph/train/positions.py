"""The users' positions that the link scorer reads, for the whole training graph and for each step fold.

Positions are spectral positions of the training graph (:mod:`socialgraph.model.spectral`, ``model.link_spectral``
wide) followed by graph-autoencoder states (:mod:`socialgraph.train.autoencoder`, ``model.link_autoencoder`` wide).
Validation and prediction read those of the whole training graph (:func:`user_positions`). A training step must
read positions in which its own targets played no part, so with positions the steps' targets are fixed folds of
the training friendships, and each fold gets positions computed without it (:func:`step_folds`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch

from socialgraph.bundle.config import Config
from socialgraph.data.adjacency import adjacency_from_edges
from socialgraph.model.spectral import held_out_positions, spectral_positions
from socialgraph.train.autoencoder import autoencoder_positions, held_out_autoencoder_positions
from socialgraph.train.links import LinkData

# Folds of the training friendships when the scorer reads positions: one eigenproblem (and one autoencoder) per
# fold, on the graph without it (graphs with fewer steps an epoch get one fold a step).
SPECTRAL_FOLDS = 10


@dataclass
class UserPositions:
    """float32 ``[n, k]`` parts of the users' positions in the whole training graph (``None``: not configured)."""

    spectral: Optional[np.ndarray] = None
    autoencoder: Optional[np.ndarray] = None

    @property
    def combined(self) -> Optional[np.ndarray]:
        """``[n, k_spectral + k_autoencoder]``, or ``None`` when the scorer reads no positions."""
        parts = [p for p in (self.spectral, self.autoencoder) if p is not None]
        return np.concatenate(parts, axis=1) if parts else None


@dataclass
class StepFolds:
    """Fixed step targets: step ``s`` trains on ``perm[s * batch:(s + 1) * batch]`` of the training pairs and
    reads ``positions[s % len(positions)]`` (float32 ``[F, n, k]``), computed without those pairs."""

    perm: np.ndarray
    positions: torch.Tensor


def user_positions(config: Config, links: LinkData, num_users: int, val_neg: np.ndarray,
                   progress: bool = False) -> UserPositions:
    """The positions of the whole training graph ``links.train``. Without friendships the autoencoder part is
    zeros (nothing to factorise, but the scorer's width is fixed by the configuration)."""
    m, t = config.model, config.train
    spectral = spectral_positions(adjacency_from_edges(links.train, num_users), m.link_spectral, seed=t.seed) \
        if m.link_spectral else None
    ae = None
    if m.link_autoencoder:
        ae = autoencoder_positions(links.train, num_users, m.link_autoencoder, val=links.val, val_neg=val_neg,
                                   rms=1 / math.sqrt(num_users), epochs=t.autoencoder_epochs, seed=t.seed,
                                   progress=progress) if len(links.train) \
            else np.zeros((num_users, m.link_autoencoder), dtype=np.float32)
    return UserPositions(spectral, ae)


def step_folds(positions: UserPositions, config: Config, links: LinkData, num_users: int, val_neg: np.ndarray,
               batch: int, steps: int, rng: np.random.Generator, progress: bool = False,
               device: Optional[torch.device] = None) -> Optional[StepFolds]:
    """Deal the training pairs into ``min(steps, SPECTRAL_FOLDS)`` folds of ``batch``-sized steps (one permutation
    drawn from ``rng``) and compute each fold's positions without it, aligned to ``positions`` (on ``device``;
    default the CPU); ``None`` when the scorer reads no positions or there are no friendships (every epoch then
    deals the pairs afresh)."""
    if positions.combined is None or not len(links.train):
        return None
    t = config.train
    perm = rng.permutation(len(links.train))
    folds = np.empty(len(links.train), dtype=np.int64)
    folds[perm] = (np.arange(len(links.train)) // batch) % min(steps, SPECTRAL_FOLDS)
    parts = []
    if positions.spectral is not None:
        parts.append(held_out_positions(links.train, num_users, folds, positions.spectral, seed=t.seed))
    if positions.autoencoder is not None:
        parts.append(held_out_autoencoder_positions(links.train, num_users, folds, positions.autoencoder,
                                                    val=links.val, val_neg=val_neg, epochs=t.autoencoder_epochs,
                                                    seed=t.seed, progress=progress))
    return StepFolds(perm, torch.from_numpy(np.concatenate(parts, axis=2)).to(device))


__all__ = ["SPECTRAL_FOLDS", "StepFolds", "UserPositions", "step_folds", "user_positions"]
