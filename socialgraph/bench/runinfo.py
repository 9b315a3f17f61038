"""What a benchmark JSON records about the run itself: package versions, command line, wall time, peak memory."""
from __future__ import annotations

import platform
import resource
import sys
import time
from importlib import metadata

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


def run_info(started: float) -> dict:
    """Metadata of a run that began at ``time.time() == started``."""
    return {"command": " ".join(sys.argv), "versions": versions(), "wall_seconds": round(time.time() - started, 2),
            "peak_rss_mib": peak_rss_mib(), "platform": platform.platform(),
            "finished": time.strftime("%Y-%m-%dT%H:%M:%S")}
