"""Shared fixtures and the dataset requirement of tests.

Data: tests read datasets through ``SOCIALGRAPH_DATA`` (``make`` points it at ``../shared/datasets`` when that
exists). A stranger's checkout has only what the project ships: the MIT-licensed MUSAE graphs in ``datasets/musae``
(Facebook page-page, Twitch DE and ENGB) and synthetic graphs from :mod:`socialgraph.synth`. A test that needs a
dataset the project may not redistribute says so with ``@pytest.mark.dataset("NAME", ...)`` (or a module-level
``pytestmark``); it is skipped, with one line naming the dataset and how to provide it, where that dataset is absent.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets"
if SHARED.is_dir():
    os.environ.setdefault("SOCIALGRAPH_DATA", str(SHARED))
os.environ.setdefault("SOCIALGRAPH_OFFLINE", "1")
# Module-scoped fixtures run before the per-test cache below is set: give them a cache of this run, not the user's.
_RUN_CACHE = None if "SOCIALGRAPH_CACHE" in os.environ else tempfile.mkdtemp(prefix="socialgraph-tests-")
if _RUN_CACHE:
    os.environ["SOCIALGRAPH_CACHE"] = _RUN_CACHE

import torch  # noqa: E402

# pytest-xdist runs one worker per core; a second intra-op thread per worker only oversubscribes the CPU.
torch.set_num_threads(1)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "dataset(*names): needs these registry datasets; skipped where absent")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    from shipped import require

    require(*dict.fromkeys(n for mark in item.iter_markers("dataset") for n in mark.args))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _RUN_CACHE:
        shutil.rmtree(_RUN_CACHE, ignore_errors=True)


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    """Each test writes caches to its own folder, never into the data root."""
    monkeypatch.setenv("SOCIALGRAPH_CACHE", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture(scope="session")
def data_root() -> Path:
    """The data root datasets are read from (tests that read its files directly carry a ``dataset`` mark)."""
    from socialgraph.paths import data_root as root

    return root()


@pytest.fixture(scope="session")
def shipped_root() -> Path:
    """The project's own ``datasets/`` folder: the MUSAE files every checkout has."""
    from socialgraph.data.registry import CARDS_DIR

    return CARDS_DIR


def pytest_report_header(config: pytest.Config) -> str:
    from shipped import PREFERRED, present

    absent = [n for n in PREFERRED if not present(n)]
    root = os.environ.get("SOCIALGRAPH_DATA") or "~/.cache/socialgraph/data"
    if not absent:
        return f"datasets: {root} holds every dataset the tests prefer"
    return (f"datasets: {root} lacks {', '.join(absent)}: tests that prefer them run on shipped or synthetic "
            f"stand-ins, and tests about them are skipped")
