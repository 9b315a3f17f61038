"""Which device a model runs on: ``auto``, ``cpu``, ``cuda`` or ``cuda:N`` (or a :class:`torch.device`), resolved
once, in one place, by training and prediction alike."""
from __future__ import annotations

from typing import Union

import torch

DeviceLike = Union[None, str, torch.device]


def resolve_device(setting: DeviceLike, name: str = "device") -> torch.device:
    """The :class:`torch.device` of ``setting``.

    ``None`` and ``auto`` are ``cuda`` when ``torch.cuda.is_available()``, else ``cpu``. A CUDA device comes with
    its index (``cuda`` is the current one), so tensors placed there compare equal to the result.

    Raises:
        ValueError: naming ``name``, for a setting that is not ``auto``, ``cpu``, ``cuda`` or ``cuda:N``, and for a
            CUDA device when none (or not that one) is visible; raised before anything is loaded.
    """
    if setting is None or (isinstance(setting, str) and setting.strip().lower() == "auto"):
        return torch.device("cuda", torch.cuda.current_device()) if torch.cuda.is_available() else torch.device("cpu")
    shown = str(setting)
    try:
        device = setting if isinstance(setting, torch.device) else torch.device(shown.strip().lower())
    except (RuntimeError, TypeError, ValueError):
        device = None
    if device is None or device.type not in ("cpu", "cuda") or (device.type == "cpu" and device.index):
        raise ValueError(f"{name} must be 'auto', 'cpu', 'cuda' or 'cuda:N' (N: a CUDA device number, e.g. cuda:0), "
                         f"got {shown!r}")
    if device.type == "cpu":
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise ValueError(f"{name} is {shown!r}, but no CUDA device is visible (torch.cuda.is_available() is False; "
                         f"torch {torch.__version__}, CUDA build {torch.version.cuda}); use {name}=cpu, or {name}=auto "
                         f"to take a GPU only when there is one")
    count = torch.cuda.device_count()
    index = torch.cuda.current_device() if device.index is None else device.index
    if index >= count:
        raise ValueError(f"{name} is {shown!r}, but only {count} CUDA device(s) are visible (cuda:0 to "
                         f"cuda:{count - 1})")
    return torch.device("cuda", index)
