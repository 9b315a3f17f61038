"""The torch settings a training or scoring run needs to repeat exactly, set for the run and restored after it.

With several CPU threads, torch's scatter and sparse sums add in whatever order the threads finish, so the same
seed gave other metrics from run to run (the demo's Hits@50 0.8319, then 0.8314). Deterministic algorithms fix the
order; ``warn_only`` makes an operation without a deterministic kernel (some CUDA ones) warn instead of failing.

:func:`resolve_device` turns ``train.device`` into the ``torch.device`` a run uses, and :func:`autocast` is the
``train.precision`` context of a training step's forward pass.
"""
from __future__ import annotations

import contextlib
from typing import ContextManager, Iterator, Union

import torch

from socialgraph.bundle.config import ConfigError, check_device
from socialgraph.model import device as model_device


@contextlib.contextmanager
def torch_settings(threads: int = 0) -> Iterator[None]:
    """Within the block: ``threads`` CPU threads (0: leave as is) and deterministic algorithms; the caller's
    settings afterwards, so that nothing outlives the run."""
    old_threads = torch.get_num_threads()
    old_det = torch.are_deterministic_algorithms_enabled()
    old_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    if threads:
        torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(old_det, warn_only=old_warn)
        torch.set_num_threads(old_threads)


def resolve_device(setting: Union[str, torch.device], key: str = "train.device") -> torch.device:
    """The device a run uses for the ``train.device`` setting (a string, or a ``torch.device`` given as is): see
    :func:`socialgraph.model.device.resolve_device`.

    Raises:
        ConfigError: naming ``key``, for a setting that is not ``auto``, ``cpu``, ``cuda`` or ``cuda:N``, and for a
            CUDA device when none (or not that one) is visible.
    """
    if not isinstance(setting, torch.device):
        check_device(setting, key)
    try:
        return model_device.resolve_device(setting, name=f"config {key}")
    except ValueError as err:
        raise ConfigError(str(err), key=key) from None


def autocast(device: torch.device, precision: str) -> ContextManager:
    """The context of a training step's forward pass: ``torch.autocast`` to bfloat16 on ``device`` for
    ``precision`` ``bf16``; nothing at all for ``fp32`` (so that fp32 runs are exactly what they were)."""
    if precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()
