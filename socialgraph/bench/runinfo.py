"""What a benchmark JSON records about the run itself: package versions, the code's git state, command line, wall
time, peak memory."""
from __future__ import annotations

import platform
import resource
import shlex
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Optional

_PACKAGES = ("socialgraph", "torch", "torch-geometric", "ogb", "numpy", "scipy", "scikit-learn", "pandas")


def versions() -> dict[str, str]:
    """Installed versions of the packages a result depends on (``"absent"`` when not installed)."""
    out = {"python": platform.python_version()}
    for p in _PACKAGES:
        try:
            out[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            out[p] = "absent"
    return out


def code_state(repo: Optional[Path] = None) -> dict:
    """The git commit the package runs from and the tracked files that differ from it (uncommitted changes the
    numbers also depend on); ``{}`` outside a git checkout."""
    repo = Path(repo) if repo else Path(__file__).resolve().parents[2]

    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True,
                              timeout=30).stdout.rstrip("\n")

    try:
        commit = git("rev-parse", "HEAD").strip()
        dirty = [line[3:] for line in git("status", "--porcelain", "--untracked-files=no").splitlines() if line]
    except (OSError, subprocess.SubprocessError):
        return {}
    return {"commit": commit, "uncommitted": dirty}


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far (``getrusage``; Linux reports KiB), in MiB."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


class Stopwatch:
    """``with Stopwatch() as t: ...`` then ``t.seconds``."""

    def __enter__(self) -> "Stopwatch":
        self.start = time.perf_counter()
        self.seconds = 0.0
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self.start


def run_info(started: float, code: Optional[dict] = None) -> dict:
    """Metadata of a run that began at ``time.time() == started`` (``code``: :func:`code_state` taken then)."""
    return {"command": shlex.join(sys.argv), "versions": versions(), "code": code_state() if code is None else code,
            "wall_seconds": round(time.time() - started, 2), "peak_rss_mib": peak_rss_mib(),
            "platform": platform.platform(), "finished": time.strftime("%Y-%m-%dT%H:%M:%S")}
