"""Shared fixtures. Tests read real data from ``../shared/datasets`` (read-only) through ``SOCIALGRAPH_DATA``."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets"
os.environ.setdefault("SOCIALGRAPH_DATA", str(SHARED))
os.environ.setdefault("SOCIALGRAPH_OFFLINE", "1")

import torch  # noqa: E402

# pytest-xdist runs one worker per core; a second intra-op thread per worker only oversubscribes the CPU.
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    """Each test writes caches to its own folder, never into the data root."""
    monkeypatch.setenv("SOCIALGRAPH_CACHE", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture(scope="session")
def data_root() -> Path:
    root = Path(os.environ["SOCIALGRAPH_DATA"])
    if not root.is_dir():
        pytest.fail(f"data root {root} is missing: set SOCIALGRAPH_DATA to the shared datasets folder")
    return root
