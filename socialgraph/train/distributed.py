"""Data-parallel training over ``torch.distributed``: the ranks of a run, the shard of each step they score, and
the DDP wrapper whose all-reduce keeps their weights equal.

Every rank prepares the same run from the same seed (split, inputs, model, generator), so every rank draws the
same epoch permutation, the same step targets and the same negatives. Rank ``r`` of ``W`` then scores the pairs
``r, r + W, ...`` of each step's targets and of its negatives, and only those: the pair features and the scorer,
and in sampled mode the neighbour-sampled subgraph, cost each rank ``1/W`` of the step. Whole-graph message
passing and the node losses (feature reconstruction, preference, engagement) are the same on every rank.
:class:`torch.nn.parallel.DistributedDataParallel` averages the gradients; a rank's link losses are weighted by
``W * n_r / n`` (``n_r`` of the step's ``n`` pairs), so the average is the gradient of the whole step's mean loss,
the one a single process computes: a run on ``W`` ranks follows the one-process run with the same global batch up
to the order of floating-point sums (in full mode; in sampled mode each rank samples around its own pairs with a
generator of its own).

Ranks come from the environment ``torchrun`` sets (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``):
:func:`process_group` joins the group (gloo on a CPU, NCCL on a GPU) unless one is already set up, as Ray Train
does for its workers (:mod:`socialgraph.train.ray_engine`).
"""
from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np
import torch
from torch import nn


@dataclass(frozen=True)
class Ranks:
    """This process's ``rank`` among ``world`` processes (``Ranks()``: a single process)."""

    rank: int = 0
    world: int = 1

    @property
    def distributed(self) -> bool:
        return self.world > 1

    @property
    def main(self) -> bool:
        """The rank that logs, checkpoints and writes the bundle."""
        return self.rank == 0

    def shard(self, rows: np.ndarray) -> np.ndarray:
        """This rank's share of ``rows``: every ``world``-th from ``rank`` on."""
        return rows[self.rank::self.world] if self.distributed else rows


def current_ranks() -> Ranks:
    """The ranks of the process group this process is in (a single process when there is none)."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return Ranks(torch.distributed.get_rank(), torch.distributed.get_world_size())
    return Ranks()


def launched_by_torchrun() -> bool:
    """Whether the environment describes a group of more than one process (``torchrun``'s variables)."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1 and "RANK" in os.environ


@contextlib.contextmanager
def process_group(device: torch.device) -> Iterator[Ranks]:
    """Within the block, the process group the environment describes, joined if it is not yet (gloo for a CPU
    run, NCCL for a CUDA one, whose device becomes ``cuda:LOCAL_RANK``) and left afterwards if it was joined here;
    yields the ranks."""
    joined = launched_by_torchrun() and not torch.distributed.is_initialized()
    if joined:
        if device.type == "cuda":
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        torch.distributed.init_process_group("nccl" if device.type == "cuda" else "gloo")
    try:
        yield current_ranks()
    finally:
        if joined:
            torch.distributed.destroy_process_group()


def local_device(device: torch.device, ranks: Ranks) -> torch.device:
    """The device of this rank: ``cuda:LOCAL_RANK`` for a CUDA run of several processes, else ``device``."""
    if ranks.distributed and device.type == "cuda":
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", torch.cuda.current_device())))
    return device


class StepModule(nn.Module):
    """The model and its multi-task loss as one module whose ``forward`` runs a training step, so that DDP sees the
    whole step (the model's parameters and the losses' weights) between forward and backward. The step comes as a
    closure over what it reads, which DDP passes on untouched (it would try to copy a dataclass to the device)."""

    def __init__(self, model: nn.Module, mtl: nn.Module) -> None:
        super().__init__()
        self.model, self.mtl = model, mtl

    def forward(self, step: Callable[[], torch.Tensor]) -> torch.Tensor:
        return step()


def data_parallel(model: nn.Module, mtl: nn.Module, device: torch.device) -> nn.Module:
    """DDP over ``model`` and ``mtl`` (rank 0's weights are broadcast to all ranks at once); call it with a step
    closure. ``find_unused_parameters``: a step may not reach every head (sampled steps skip the node losses)."""
    from torch.nn.parallel import DistributedDataParallel

    ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(StepModule(model, mtl), device_ids=ids, find_unused_parameters=True)


__all__ = ["Ranks", "StepModule", "current_ranks", "data_parallel", "launched_by_torchrun", "local_device",
           "process_group"]
