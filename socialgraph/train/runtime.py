"""The torch settings a training or scoring run needs to repeat exactly, set for the run and restored after it.

With several CPU threads, torch's scatter and sparse sums add in whatever order the threads finish, so the same
seed gave other metrics from run to run (the demo's Hits@50 0.8319, then 0.8314). Deterministic algorithms fix the
order; ``warn_only`` makes an operation without a deterministic kernel (some CUDA ones) warn instead of failing.
"""
from __future__ import annotations

import contextlib
from typing import Iterator

import torch


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
