"""Where data is read from and where caches are written.

``SOCIALGRAPH_DATA`` is the data root that dataset loaders read (it may be read-only); ``SOCIALGRAPH_CACHE`` is the
only place the library writes derived files (processed datasets, encoder caches). Both default to folders under
the user's cache directory.
"""
from __future__ import annotations

import os
from pathlib import Path


def _user_cache() -> Path:
    # An empty XDG_CACHE_HOME means unset (the XDG spec), not the current folder.
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "socialgraph"


def data_root() -> Path:
    """The folder dataset loaders read: ``$SOCIALGRAPH_DATA``, else ``~/.cache/socialgraph/data``."""
    return Path(os.environ.get("SOCIALGRAPH_DATA") or _user_cache() / "data")


def cache_root() -> Path:
    """The folder for derived files, created on demand: ``$SOCIALGRAPH_CACHE``, else ``~/.cache/socialgraph/cache``."""
    path = Path(os.environ.get("SOCIALGRAPH_CACHE") or _user_cache() / "cache")
    path.mkdir(parents=True, exist_ok=True)
    return path
